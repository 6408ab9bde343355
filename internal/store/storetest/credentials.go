package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// credAccount makes an account to hang credentials on.
func credAccount(t *testing.T, s store.Store, address string) store.Account {
	t.Helper()
	ctx := t.Context()
	if _, err := s.GetDomain(ctx, "cred.test"); err != nil {
		must(s.CreateDomain(ctx, "cred.test")).get(t)
	}
	return must(s.CreateAccount(ctx, store.NewAccount{Address: address, PasswordHash: "x",
		Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})).get(t)
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// testTOTP covers 2-step verification: enabling once, the secret and
// time kept, time steps used once and in order even when racing, single
// use recovery codes, and disabling.
func testTOTP(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "totp@cred.test")
	other := credAccount(t, s, "other@cred.test")
	t0 := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

	wantErr(t, "TOTP before enabling", must(s.GetTOTP(ctx, a.ID)).err, store.ErrNotFound)
	wantErr(t, "disable before enabling", s.DisableTOTP(ctx, a.ID), store.ErrNotFound)
	wantErr(t, "step before enabling", must(s.UseTOTPStep(ctx, a.ID, 5)).err, store.ErrNotFound)
	wantErr(t, "unknown account", s.EnableTOTP(ctx, 1<<40, []byte("k"), t0, nil), store.ErrNotFound)
	wantErr(t, "empty secret", s.EnableTOTP(ctx, a.ID, nil, t0, nil), store.ErrInvalid)
	wantErr(t, "empty code hash", s.EnableTOTP(ctx, a.ID, []byte("k"), t0, [][]byte{{}}), store.ErrInvalid)

	codes := [][]byte{hashOf("one"), hashOf("two"), hashOf("three")}
	noErr(t, s.EnableTOTP(ctx, a.ID, []byte("secret key"), t0, codes))
	wantErr(t, "enable twice", s.EnableTOTP(ctx, a.ID, []byte("other key"), t0, nil), store.ErrExists)
	got := must(s.GetTOTP(ctx, a.ID)).get(t)
	if string(got.Secret) != "secret key" || !got.Enabled.Equal(t0) || got.LastStep != 0 {
		t.Errorf("GetTOTP = %+v", got)
	}
	if n := must(s.CountRecoveryCodes(ctx, a.ID)).get(t); n != 3 {
		t.Errorf("%d recovery codes, want 3", n)
	}

	for _, tc := range []struct {
		step int64
		want bool
	}{{100, true}, {100, false}, {99, false}, {101, true}, {50, false}, {103, true}, {102, false}} {
		if used := must(s.UseTOTPStep(ctx, a.ID, tc.step)).get(t); used != tc.want {
			t.Errorf("UseTOTPStep(%d) = %v, want %v", tc.step, used, tc.want)
		}
	}
	if got := must(s.GetTOTP(ctx, a.ID)).get(t); got.LastStep != 103 {
		t.Errorf("LastStep = %d, want 103", got.LastStep)
	}

	// Racing callers: each step is won once.
	var mu sync.Mutex
	wins := map[int64]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			step := int64(200 + i%4)
			used, err := s.UseTOTPStep(ctx, a.ID, step)
			if err != nil {
				t.Error(err)
			}
			if used {
				mu.Lock()
				wins[step]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for step, n := range wins {
		if n != 1 {
			t.Errorf("step %d won %d times", step, n)
		}
	}

	if ok := must(s.UseRecoveryCode(ctx, other.ID, hashOf("one"))).get(t); ok {
		t.Error("another account used a recovery code")
	}
	if ok := must(s.UseRecoveryCode(ctx, a.ID, hashOf("one"))).get(t); !ok {
		t.Error("recovery code refused")
	}
	if ok := must(s.UseRecoveryCode(ctx, a.ID, hashOf("one"))).get(t); ok {
		t.Error("recovery code used twice")
	}
	if n := must(s.CountRecoveryCodes(ctx, a.ID)).get(t); n != 2 {
		t.Errorf("%d recovery codes after using one, want 2", n)
	}

	noErr(t, s.DisableTOTP(ctx, a.ID))
	wantErr(t, "TOTP after disabling", must(s.GetTOTP(ctx, a.ID)).err, store.ErrNotFound)
	if n := must(s.CountRecoveryCodes(ctx, a.ID)).get(t); n != 0 {
		t.Errorf("%d recovery codes after disabling, want 0", n)
	}
	// Enabling again starts afresh.
	noErr(t, s.EnableTOTP(ctx, a.ID, []byte("new key"), t0.Add(time.Hour), [][]byte{hashOf("four")}))
	if got := must(s.GetTOTP(ctx, a.ID)).get(t); string(got.Secret) != "new key" || got.LastStep != 0 {
		t.Errorf("GetTOTP after enabling again = %+v", got)
	}
	if ok := must(s.UseRecoveryCode(ctx, a.ID, hashOf("two"))).get(t); ok {
		t.Error("a recovery code of the first enrolment still works")
	}
}

// testAppPasswords covers app passwords: creation with checked names and
// scopes, unique names per account, lookup by hash within the account,
// recording their use, and deletion.
func testAppPasswords(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "apps@cred.test")
	b := credAccount(t, s, "bob@cred.test")
	t0 := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	np := func(acct int64, name string, scopes ...string) store.NewAppPassword {
		return store.NewAppPassword{AccountID: acct, Name: name, Scopes: scopes, Hash: hashOf(name + fmt.Sprint(acct)), Created: t0}
	}
	for _, bad := range []store.NewAppPassword{
		np(a.ID, ""), np(a.ID, "phone"), np(a.ID, "phone", "imap", "imap"), np(a.ID, "phone", "web"),
		np(a.ID, "tab\there", "imap"), np(a.ID, string(bytes.Repeat([]byte("n"), store.MaxAppPasswordName+1)), "imap"),
		np(a.ID, "bad\xffutf8", "imap"), {AccountID: a.ID, Name: "nohash", Scopes: []string{"imap"}},
	} {
		wantErr(t, fmt.Sprintf("create %q %v", bad.Name, bad.Scopes), must(s.CreateAppPassword(ctx, bad)).err, store.ErrInvalid)
	}
	wantErr(t, "unknown account", must(s.CreateAppPassword(ctx, np(1<<40, "phone", "imap"))).err, store.ErrNotFound)

	phone := must(s.CreateAppPassword(ctx, np(a.ID, "phone", "smtp", "imap"))).get(t)
	if phone.ID == 0 || !slices.Equal(phone.Scopes, []string{"imap", "smtp"}) || !phone.Created.Equal(t0) || !phone.LastUsed.IsZero() {
		t.Errorf("CreateAppPassword = %+v", phone)
	}
	laptop := must(s.CreateAppPassword(ctx, np(a.ID, "laptop ✓", "pop3"))).get(t)
	wantErr(t, "name taken", must(s.CreateAppPassword(ctx, np(a.ID, "phone", "pop3"))).err, store.ErrExists)
	bobPhone := must(s.CreateAppPassword(ctx, np(b.ID, "phone", "imap"))).get(t)
	now := must(s.CreateAppPassword(ctx, store.NewAppPassword{AccountID: b.ID, Name: "now", Scopes: []string{"smtp"}, Hash: hashOf("now")})).get(t)
	recent(t, "default Created", now.Created)

	list := must(s.ListAppPasswords(ctx, a.ID)).get(t)
	if len(list) != 2 || list[0].ID != phone.ID || list[1].ID != laptop.ID || list[1].Name != "laptop ✓" ||
		!bytes.Equal(list[0].Hash, phone.Hash) || !slices.Equal(list[1].Scopes, []string{"pop3"}) {
		t.Errorf("ListAppPasswords = %+v", list)
	}
	if got := must(s.FindAppPassword(ctx, a.ID, phone.Hash)).get(t); got.ID != phone.ID || got.AccountID != a.ID {
		t.Errorf("FindAppPassword = %+v", got)
	}
	wantErr(t, "another account's hash", must(s.FindAppPassword(ctx, a.ID, bobPhone.Hash)).err, store.ErrNotFound)
	wantErr(t, "unknown hash", must(s.FindAppPassword(ctx, a.ID, hashOf("nothing"))).err, store.ErrNotFound)

	used := t0.Add(time.Hour)
	noErr(t, s.TouchAppPassword(ctx, phone.ID, used, netip.MustParseAddr("fe80::7%eth0")))
	got := must(s.FindAppPassword(ctx, a.ID, phone.Hash)).get(t)
	if !got.LastUsed.Equal(used) || got.LastIP != netip.MustParseAddr("fe80::7") {
		t.Errorf("after TouchAppPassword: %+v", got)
	}
	wantErr(t, "touch unknown", s.TouchAppPassword(ctx, 1<<40, used, netip.Addr{}), store.ErrNotFound)

	wantErr(t, "delete another account's", s.DeleteAppPassword(ctx, a.ID, bobPhone.ID), store.ErrNotFound)
	noErr(t, s.DeleteAppPassword(ctx, a.ID, phone.ID))
	wantErr(t, "delete twice", s.DeleteAppPassword(ctx, a.ID, phone.ID), store.ErrNotFound)
	wantErr(t, "find deleted", must(s.FindAppPassword(ctx, a.ID, phone.Hash)).err, store.ErrNotFound)
	// The name is free again.
	must(s.CreateAppPassword(ctx, np(a.ID, "phone", "imap"))).get(t)
	if n := len(must(s.ListAppPasswords(ctx, b.ID)).get(t)); n != 2 {
		t.Errorf("bob has %d app passwords, want 2", n)
	}
}

// testCredentialsLeaveWithAccount checks that deleting an account deletes
// its credentials, and that a new account of the same address has none.
func testCredentialsLeaveWithAccount(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "gone@cred.test")
	noErr(t, s.EnableTOTP(ctx, a.ID, []byte("k"), time.Now(), [][]byte{hashOf("c")}))
	p := must(s.CreateAppPassword(ctx, store.NewAppPassword{AccountID: a.ID, Name: "x", Scopes: []string{"imap"}, Hash: hashOf("x")})).get(t)
	noErr(t, s.DeleteAccount(ctx, a.Address))

	wantErr(t, "TOTP of deleted account", must(s.GetTOTP(ctx, a.ID)).err, store.ErrNotFound)
	if n := must(s.CountRecoveryCodes(ctx, a.ID)).get(t); n != 0 {
		t.Errorf("%d recovery codes left", n)
	}
	if l := must(s.ListAppPasswords(ctx, a.ID)).get(t); len(l) != 0 {
		t.Errorf("app passwords left: %+v", l)
	}
	wantErr(t, "touch deleted", s.TouchAppPassword(ctx, p.ID, time.Now(), netip.Addr{}), store.ErrNotFound)

	b := credAccount(t, s, "gone@cred.test")
	wantErr(t, "TOTP of new account", must(s.GetTOTP(ctx, b.ID)).err, store.ErrNotFound)
	wantErr(t, "old app password on new account", must(s.FindAppPassword(ctx, b.ID, hashOf("x"))).err, store.ErrNotFound)
}
