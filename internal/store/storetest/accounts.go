package storetest

import (
	"context"
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

func testDomains(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, n := range []string{"b.test", "a.test", "xn--bcher-kva.test"} {
		d := must(s.CreateDomain(ctx, n)).get(t)
		if d.ID == 0 || d.Name != n {
			t.Errorf("CreateDomain(%s) = %+v", n, d)
		}
		recent(t, "Created", d.Created)
	}
	_, err := s.CreateDomain(ctx, "a.test")
	wantErr(t, "CreateDomain duplicate", err, store.ErrExists)

	got := must(s.GetDomain(ctx, "b.test")).get(t)
	if got.Name != "b.test" || got.ID == 0 {
		t.Errorf("GetDomain = %+v", got)
	}
	_, err = s.GetDomain(ctx, "missing.test")
	wantErr(t, "GetDomain missing", err, store.ErrNotFound)

	list := must(s.ListDomains(ctx)).get(t)
	eqStrings(t, "ListDomains", names(list, func(d store.Domain) string { return d.Name }),
		[]string{"a.test", "b.test", "xn--bcher-kva.test"})

	// Names are stored as given, not normalised, and listed in bytewise
	// order whatever the database's locale.
	for _, n := range []string{"a-c.test", "Up.test", "ab.test"} {
		if d := must(s.CreateDomain(ctx, n)).get(t); d.Name != n {
			t.Errorf("CreateDomain(%s) = %+v", n, d)
		}
	}
	_, err = s.GetDomain(ctx, "up.test")
	wantErr(t, "GetDomain in another case", err, store.ErrNotFound)
	if d := must(s.GetDomain(ctx, "Up.test")).get(t); d.Name != "Up.test" {
		t.Errorf("GetDomain(Up.test) = %+v", d)
	}
	eqStrings(t, "ListDomains bytewise", names(must(s.ListDomains(ctx)).get(t), func(d store.Domain) string { return d.Name }),
		[]string{"Up.test", "a-c.test", "a.test", "ab.test", "b.test", "xn--bcher-kva.test"})
	for _, n := range []string{"a-c.test", "Up.test", "ab.test"} {
		noErr(t, s.DeleteDomain(ctx, n))
	}

	must(s.CreateAccount(ctx, store.NewAccount{Address: "u@a.test"})).get(t)
	must(s.CreateAlias(ctx, "x@b.test", []string{"u@a.test"})).get(t)
	wantErr(t, "DeleteDomain with account", s.DeleteDomain(ctx, "a.test"), store.ErrNotEmpty)
	wantErr(t, "DeleteDomain with alias", s.DeleteDomain(ctx, "b.test"), store.ErrNotEmpty)
	wantErr(t, "DeleteDomain missing", s.DeleteDomain(ctx, "missing.test"), store.ErrNotFound)
	if err := s.DeleteDomain(ctx, "xn--bcher-kva.test"); err != nil {
		t.Fatalf("DeleteDomain empty: %v", err)
	}
	noErr(t, s.DeleteAccount(ctx, "u@a.test"))
	noErr(t, s.DeleteAlias(ctx, "x@b.test"))
	noErr(t, s.DeleteDomain(ctx, "a.test"))
	noErr(t, s.DeleteDomain(ctx, "b.test"))
	if list := must(s.ListDomains(ctx)).get(t); len(list) != 0 {
		t.Errorf("after deleting all: %v", list)
	}
	_, err = s.GetDomain(ctx, "a.test")
	wantErr(t, "GetDomain deleted", err, store.ErrNotFound)
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(s.CreateDomain(ctx, "a.test")).get(t)
	must(s.CreateDomain(ctx, "b.test")).get(t)
	a := must(s.CreateAccount(ctx, store.NewAccount{
		Address:      "zed@a.test",
		PasswordHash: "hash1",
		QuotaBytes:   1000,
		Mailboxes: []store.NewMailbox{
			{Name: "INBOX", Subscribed: true},
			{Name: "Sent", SpecialUse: `\Sent`, Subscribed: true},
			{Name: "Junk", SpecialUse: `\Junk`},
		},
	})).get(t)
	if a.ID == 0 || a.DomainID == 0 || a.Address != "zed@a.test" || a.PasswordHash != "hash1" || a.QuotaBytes != 1000 || a.UsedBytes != 0 || a.Disabled {
		t.Errorf("CreateAccount = %+v", a)
	}
	recent(t, "Created", a.Created)
	mbs := must(s.ListMailboxes(ctx, a.ID)).get(t)
	eqStrings(t, "mailboxes", names(mbs, func(m store.Mailbox) string { return m.Name + "|" + m.SpecialUse }),
		[]string{"INBOX|", `Junk|\Junk`, `Sent|\Sent`})
	for _, m := range mbs {
		if m.Subscribed != (m.Name != "Junk") {
			t.Errorf("%s subscribed = %v", m.Name, m.Subscribed)
		}
	}
	must(s.CreateAccount(ctx, store.NewAccount{Address: "amy@a.test"})).get(t)
	must(s.CreateAccount(ctx, store.NewAccount{Address: "bea@b.test"})).get(t)

	for _, tc := range []struct {
		name    string
		address string
		quota   int64
		want    error
	}{
		{"duplicate", "zed@a.test", 0, store.ErrExists},
		{"unknown domain", "x@nowhere.test", 0, store.ErrNotFound},
		{"domain in another case", "x@A.test", 0, store.ErrNotFound},
		{"no domain", "nodomain", 0, store.ErrInvalid},
		{"empty domain", "x@", 0, store.ErrInvalid},
		{"negative quota", "neg@a.test", -1, store.ErrInvalid},
	} {
		_, err := s.CreateAccount(ctx, store.NewAccount{Address: tc.address, QuotaBytes: tc.quota})
		wantErr(t, "CreateAccount "+tc.name, err, tc.want)
	}
	_, err := s.GetAccount(ctx, "neg@a.test")
	wantErr(t, "account with negative quota", err, store.ErrNotFound)
	// A failed creation leaves nothing behind, not even its mailboxes.
	_, err = s.CreateAccount(ctx, store.NewAccount{Address: "dup@a.test",
		Mailboxes: []store.NewMailbox{{Name: "INBOX"}, {Name: "INBOX"}}})
	wantErr(t, "CreateAccount with duplicate mailbox", err, store.ErrExists)
	_, err = s.GetAccount(ctx, "dup@a.test")
	wantErr(t, "account of failed creation", err, store.ErrNotFound)

	got := must(s.GetAccount(ctx, "zed@a.test")).get(t)
	if got.ID != a.ID || got.PasswordHash != "hash1" || !sameTime(got.Created, a.Created) {
		t.Errorf("GetAccount = %+v, want %+v", got, a)
	}
	if byID := must(s.GetAccountByID(ctx, a.ID)).get(t); byID.Address != a.Address {
		t.Errorf("GetAccountByID = %+v", byID)
	}
	_, err = s.GetAccount(ctx, "none@a.test")
	wantErr(t, "GetAccount missing", err, store.ErrNotFound)
	_, err = s.GetAccountByID(ctx, a.ID+1000)
	wantErr(t, "GetAccountByID missing", err, store.ErrNotFound)

	// Addresses are kept as given and listed bytewise.
	if got := must(s.CreateAccount(ctx, store.NewAccount{Address: "Bo@b.test"})).get(t); got.Address != "Bo@b.test" {
		t.Errorf("CreateAccount(Bo@b.test) = %+v", got)
	}
	_, err = s.GetAccount(ctx, "bo@b.test")
	wantErr(t, "GetAccount in another case", err, store.ErrNotFound)
	must(s.CreateAccount(ctx, store.NewAccount{Address: "a.b@b.test"})).get(t)
	must(s.CreateAccount(ctx, store.NewAccount{Address: "ab@b.test"})).get(t)

	addr := func(a store.Account) string { return a.Address }
	eqStrings(t, "ListAccounts(a.test)", names(must(s.ListAccounts(ctx, "a.test")).get(t), addr), []string{"amy@a.test", "zed@a.test"})
	eqStrings(t, "ListAccounts(b.test)", names(must(s.ListAccounts(ctx, "b.test")).get(t), addr),
		[]string{"Bo@b.test", "a.b@b.test", "ab@b.test", "bea@b.test"})
	for _, a := range []string{"Bo@b.test", "a.b@b.test", "ab@b.test"} {
		noErr(t, s.DeleteAccount(ctx, a))
	}
	eqStrings(t, "ListAccounts(all)", names(must(s.ListAccounts(ctx, "")).get(t), addr), []string{"amy@a.test", "bea@b.test", "zed@a.test"})
	eqStrings(t, "ListAccounts(unknown)", names(must(s.ListAccounts(ctx, "nowhere.test")).get(t), addr), nil)

	noErr(t, s.SetPasswordHash(ctx, "zed@a.test", "hash2"))
	noErr(t, s.SetQuota(ctx, "zed@a.test", 5000))
	noErr(t, s.SetDisabled(ctx, "zed@a.test", true))
	got = must(s.GetAccount(ctx, "zed@a.test")).get(t)
	if got.PasswordHash != "hash2" || got.QuotaBytes != 5000 || !got.Disabled {
		t.Errorf("after updates: %+v", got)
	}
	noErr(t, s.SetDisabled(ctx, "zed@a.test", false))
	if got = must(s.GetAccount(ctx, "zed@a.test")).get(t); got.Disabled {
		t.Error("SetDisabled(false) did not enable")
	}
	wantErr(t, "SetPasswordHash missing", s.SetPasswordHash(ctx, "none@a.test", "h"), store.ErrNotFound)
	wantErr(t, "SetQuota missing", s.SetQuota(ctx, "none@a.test", 1), store.ErrNotFound)
	wantErr(t, "SetDisabled missing", s.SetDisabled(ctx, "none@a.test", true), store.ErrNotFound)
	wantErr(t, "SetQuota negative", s.SetQuota(ctx, "zed@a.test", -1), store.ErrInvalid)
	if got = must(s.GetAccount(ctx, "zed@a.test")).get(t); got.QuotaBytes != 5000 {
		t.Errorf("QuotaBytes after refused SetQuota = %d, want 5000", got.QuotaBytes)
	}

	noErr(t, s.DeleteAccount(ctx, "zed@a.test"))
	wantErr(t, "DeleteAccount again", s.DeleteAccount(ctx, "zed@a.test"), store.ErrNotFound)
	_, err = s.GetAccount(ctx, "zed@a.test")
	wantErr(t, "GetAccount deleted", err, store.ErrNotFound)
	if mbs := must(s.ListMailboxes(ctx, a.ID)).get(t); len(mbs) != 0 {
		t.Errorf("mailboxes of deleted account: %v", mbs)
	}
	// The address is free again, and the new account is a new one.
	again := must(s.CreateAccount(ctx, store.NewAccount{Address: "zed@a.test"})).get(t)
	if again.ID == a.ID {
		t.Errorf("re-created account reused ID %d", a.ID)
	}
}

func testAliases(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(s.CreateDomain(ctx, "a.test")).get(t)
	must(s.CreateDomain(ctx, "b.test")).get(t)
	al := must(s.CreateAlias(ctx, "post@a.test", []string{"x@a.test", "y@elsewhere.test"})).get(t)
	if al.ID == 0 || al.Address != "post@a.test" {
		t.Errorf("CreateAlias = %+v", al)
	}
	recent(t, "Created", al.Created)
	must(s.CreateAlias(ctx, "@a.test", []string{"x@a.test"})).get(t)
	must(s.CreateAlias(ctx, "info@b.test", []string{"post@a.test"})).get(t)

	got := must(s.GetAlias(ctx, "post@a.test")).get(t)
	eqStrings(t, "targets", got.Targets, []string{"x@a.test", "y@elsewhere.test"})
	if got.ID != al.ID {
		t.Errorf("GetAlias ID = %d, want %d", got.ID, al.ID)
	}
	catchAll := must(s.GetAlias(ctx, "@a.test")).get(t)
	eqStrings(t, "catch-all targets", catchAll.Targets, []string{"x@a.test"})

	for _, tc := range []struct {
		name, address string
		want          error
	}{
		{"duplicate", "post@a.test", store.ErrExists},
		{"duplicate catch-all", "@a.test", store.ErrExists},
		{"unknown domain", "post@nowhere.test", store.ErrNotFound},
		{"no domain", "post", store.ErrInvalid},
		{"empty domain", "post@", store.ErrInvalid},
	} {
		_, err := s.CreateAlias(ctx, tc.address, []string{"x@a.test"})
		wantErr(t, "CreateAlias "+tc.name, err, tc.want)
	}
	_, err := s.GetAlias(ctx, "none@a.test")
	wantErr(t, "GetAlias missing", err, store.ErrNotFound)

	addr := func(a store.Alias) string { return a.Address }
	eqStrings(t, "ListAliases(a.test)", names(must(s.ListAliases(ctx, "a.test")).get(t), addr), []string{"@a.test", "post@a.test"})
	eqStrings(t, "ListAliases(all)", names(must(s.ListAliases(ctx, "")).get(t), addr), []string{"@a.test", "info@b.test", "post@a.test"})

	noErr(t, s.DeleteAlias(ctx, "post@a.test"))
	wantErr(t, "DeleteAlias again", s.DeleteAlias(ctx, "post@a.test"), store.ErrNotFound)
	_, err = s.GetAlias(ctx, "post@a.test")
	wantErr(t, "GetAlias deleted", err, store.ErrNotFound)
}

// testAddressNamespace: accounts and aliases share one set of addresses.
func testAddressNamespace(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(s.CreateDomain(ctx, "a.test")).get(t)
	must(s.CreateAccount(ctx, store.NewAccount{Address: "acct@a.test"})).get(t)
	must(s.CreateAlias(ctx, "alias@a.test", []string{"acct@a.test"})).get(t)
	_, err := s.CreateAlias(ctx, "acct@a.test", []string{"x@a.test"})
	wantErr(t, "alias over account", err, store.ErrExists)
	_, err = s.CreateAccount(ctx, store.NewAccount{Address: "alias@a.test"})
	wantErr(t, "account over alias", err, store.ErrExists)
	// Freed addresses can be taken by the other kind.
	noErr(t, s.DeleteAlias(ctx, "alias@a.test"))
	must(s.CreateAccount(ctx, store.NewAccount{Address: "alias@a.test"})).get(t)
	noErr(t, s.DeleteAccount(ctx, "acct@a.test"))
	must(s.CreateAlias(ctx, "acct@a.test", []string{"alias@a.test"})).get(t)
}

func testMailboxes(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	work := must(s.CreateMailbox(ctx, f.alice.ID, store.NewMailbox{Name: "Work"})).get(t)
	if work.ID == 0 || work.AccountID != f.alice.ID || work.UIDNext != 1 || work.UIDValidity == 0 ||
		work.Messages != 0 || work.Size != 0 || work.Subscribed {
		t.Errorf("CreateMailbox = %+v", work)
	}
	recent(t, "Created", work.Created)
	child := must(s.CreateMailbox(ctx, f.alice.ID, store.NewMailbox{Name: "Work/Projects", Subscribed: true})).get(t)
	must(s.CreateMailbox(ctx, f.alice.ID, store.NewMailbox{Name: "Work/Projects/Old"})).get(t)
	must(s.CreateMailbox(ctx, f.alice.ID, store.NewMailbox{Name: "Workshop"})).get(t)
	// Names are per account.
	must(s.CreateMailbox(ctx, f.bob.ID, store.NewMailbox{Name: "Work"})).get(t)

	_, err := s.CreateMailbox(ctx, f.alice.ID, store.NewMailbox{Name: "Work"})
	wantErr(t, "CreateMailbox duplicate", err, store.ErrExists)
	_, err = s.CreateMailbox(ctx, f.alice.ID+f.bob.ID+1000, store.NewMailbox{Name: "X"})
	wantErr(t, "CreateMailbox unknown account", err, store.ErrNotFound)

	if got := must(s.GetMailbox(ctx, f.alice.ID, "Work/Projects")).get(t); got.ID != child.ID || !got.Subscribed || got.UIDValidity != child.UIDValidity {
		t.Errorf("GetMailbox = %+v, want %+v", got, child)
	}
	_, err = s.GetMailbox(ctx, f.alice.ID, "Nope")
	wantErr(t, "GetMailbox missing", err, store.ErrNotFound)
	_, err = s.GetMailboxByID(ctx, child.ID+1000)
	wantErr(t, "GetMailboxByID missing", err, store.ErrNotFound)

	name := func(m store.Mailbox) string { return m.Name }
	eqStrings(t, "ListMailboxes", names(must(s.ListMailboxes(ctx, f.alice.ID)).get(t), name),
		[]string{"Archive", "INBOX", "Work", "Work/Projects", "Work/Projects/Old", "Workshop"})
	// Names are case-sensitive and listed in bytewise order.
	for _, n := range []string{"b", "a", "B", "_x", "Ä"} {
		must(s.CreateMailbox(ctx, f.bob.ID, store.NewMailbox{Name: n})).get(t)
	}
	eqStrings(t, "ListMailboxes bytewise", names(must(s.ListMailboxes(ctx, f.bob.ID)).get(t), name),
		[]string{"B", "INBOX", "Work", "_x", "a", "b", "Ä"})

	// Rename keeps UIDVALIDITY and the messages, and moves the children.
	f.deliver(t, "Subject: w\r\n\r\nw\r\n", store.Target{MailboxID: work.ID})
	work = f.mailbox(t, work.ID)
	noErr(t, s.RenameMailbox(ctx, work.ID, "Job"))
	renamed := f.mailbox(t, work.ID)
	if renamed.Name != "Job" || renamed.UIDValidity != work.UIDValidity || renamed.UIDNext != work.UIDNext ||
		renamed.Messages != 1 || renamed.HighestModSeq != work.HighestModSeq {
		t.Errorf("renamed = %+v, was %+v", renamed, work)
	}
	eqStrings(t, "after rename", names(must(s.ListMailboxes(ctx, f.alice.ID)).get(t), name),
		[]string{"Archive", "INBOX", "Job", "Job/Projects", "Job/Projects/Old", "Workshop"})
	if got := f.mailbox(t, child.ID); got.Name != "Job/Projects" || got.UIDValidity != child.UIDValidity {
		t.Errorf("renamed child = %+v", got)
	}
	if got := must(s.GetMailbox(ctx, f.bob.ID, "Work")).get(t); got.Name != "Work" {
		t.Errorf("other account's mailbox renamed: %+v", got)
	}
	wantErr(t, "rename onto existing", s.RenameMailbox(ctx, work.ID, "Workshop"), store.ErrExists)
	wantErr(t, "rename missing", s.RenameMailbox(ctx, work.ID+1000, "Z"), store.ErrNotFound)
	for _, below := range []string{"Job/Sub", "Job/Projects/Old/Deeper"} {
		wantErr(t, "rename below itself to "+below, s.RenameMailbox(ctx, work.ID, below), store.ErrInvalid)
	}
	// A sibling sharing the prefix is not below.
	noErr(t, s.RenameMailbox(ctx, work.ID, "Jobs"))
	noErr(t, s.RenameMailbox(ctx, work.ID, "Job"))
	eqStrings(t, "after refused renames", names(must(s.ListMailboxes(ctx, f.alice.ID)).get(t), name),
		[]string{"Archive", "INBOX", "Job", "Job/Projects", "Job/Projects/Old", "Workshop"})

	noErr(t, s.SetSubscribed(ctx, work.ID, true))
	if !f.mailbox(t, work.ID).Subscribed {
		t.Error("SetSubscribed(true) not kept")
	}
	noErr(t, s.SetSubscribed(ctx, work.ID, false))
	if f.mailbox(t, work.ID).Subscribed {
		t.Error("SetSubscribed(false) not kept")
	}
	wantErr(t, "SetSubscribed missing", s.SetSubscribed(ctx, work.ID+1000, true), store.ErrNotFound)

	wantErr(t, "delete with children", s.DeleteMailbox(ctx, work.ID), store.ErrNotEmpty)
	old := must(s.GetMailbox(ctx, f.alice.ID, "Job/Projects/Old")).get(t)
	noErr(t, s.DeleteMailbox(ctx, old.ID))
	noErr(t, s.DeleteMailbox(ctx, child.ID))
	noErr(t, s.DeleteMailbox(ctx, work.ID))
	wantErr(t, "delete again", s.DeleteMailbox(ctx, work.ID), store.ErrNotFound)
	_, err = s.GetMailboxByID(ctx, work.ID)
	wantErr(t, "GetMailboxByID deleted", err, store.ErrNotFound)
	if msgs := must(s.ListMessages(ctx, work.ID, 1, 0)).get(t); len(msgs) != 0 {
		t.Errorf("messages of deleted mailbox: %v", msgs)
	}
	if used := f.account(t, f.alice.ID).UsedBytes; used != 0 {
		t.Errorf("UsedBytes after deleting the only message's mailbox = %d", used)
	}
}

// testUIDValidity: a mailbox re-created under the same name gets a greater
// UIDVALIDITY (RFC 9051 section 2.3.1.1), also in a re-created account.
func testUIDValidity(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	seen := []uint32{f.inbox.UIDValidity, f.archive.UIDValidity, f.bob1.UIDValidity}
	prev := must(s.CreateMailbox(ctx, f.alice.ID, store.NewMailbox{Name: "Tmp"})).get(t)
	for i := range 3 {
		noErr(t, s.DeleteMailbox(ctx, prev.ID))
		next := must(s.CreateMailbox(ctx, f.alice.ID, store.NewMailbox{Name: "Tmp"})).get(t)
		if next.UIDValidity <= prev.UIDValidity {
			t.Errorf("re-creation %d: UIDVALIDITY %d, not greater than %d", i, next.UIDValidity, prev.UIDValidity)
		}
		if next.ID == prev.ID {
			t.Errorf("re-creation %d reused mailbox ID %d", i, prev.ID)
		}
		seen = append(seen, prev.UIDValidity)
		prev = next
	}
	oldInbox := f.inbox.UIDValidity
	noErr(t, s.DeleteAccount(ctx, "alice@example.test"))
	a := must(s.CreateAccount(ctx, store.NewAccount{Address: "alice@example.test", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})).get(t)
	inbox := must(s.GetMailbox(ctx, a.ID, "INBOX")).get(t)
	if inbox.UIDValidity <= oldInbox {
		t.Errorf("INBOX of re-created account: UIDVALIDITY %d, not greater than %d", inbox.UIDValidity, oldInbox)
	}
	if slices.Contains(seen, inbox.UIDValidity) {
		t.Errorf("UIDVALIDITY %d reused", inbox.UIDValidity)
	}
}
