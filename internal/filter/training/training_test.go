package training

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

func TestClassOf(t *testing.T) {
	inbox := store.Mailbox{ID: 1, Name: "INBOX"}
	junk := store.Mailbox{ID: 2, Name: "Spam", SpecialUse: `\Junk`}
	phish := store.Mailbox{ID: 3, Name: "Phishing"}
	trash := store.Mailbox{ID: 4, Name: "Trash", SpecialUse: `\Trash`}
	archive := store.Mailbox{ID: 5, Name: "Archive", SpecialUse: `\Archive`}
	notPhish := store.Mailbox{ID: 6, Name: "phishing"}
	for _, tc := range []struct {
		from, to store.Mailbox
		want     string
	}{
		{inbox, junk, Spam},
		{archive, junk, Spam},
		{inbox, phish, Phish},
		{junk, phish, Phish},
		{phish, junk, Spam},
		{junk, inbox, Ham},
		{junk, archive, Ham},
		{phish, inbox, Ham},
		{junk, trash, ""},
		{phish, trash, ""},
		{junk, junk, ""},
		{phish, phish, ""},
		{inbox, archive, ""},
		{inbox, trash, ""},
		{trash, inbox, ""},
		{inbox, notPhish, ""}, // the name is exact
	} {
		if got := ClassOf(tc.from, tc.to); got != tc.want {
			t.Errorf("ClassOf(%s → %s) = %q, want %q", tc.from.Name, tc.to.Name, got, tc.want)
		}
	}
}

// Lessons records what a Learner was told, "learn spam 12" for account
// 12; it is safe for concurrent use.
type Lessons struct {
	mu  sync.Mutex
	got []string
	// Fail, when set, makes every call fail.
	Fail bool
}

func (l *Lessons) note(what string, accountID int64, raw []byte, class string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail {
		return fmt.Errorf("learner is down")
	}
	subject := ""
	for _, line := range strings.Split(string(raw), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Subject: "); ok {
			subject = s
			break
		}
	}
	l.got = append(l.got, fmt.Sprintf("%s %s %d %s", what, class, accountID, subject))
	return nil
}

func (l *Lessons) Learn(_ context.Context, accountID int64, raw []byte, class string) error {
	return l.note("learn", accountID, raw, class)
}

func (l *Lessons) Unlearn(_ context.Context, accountID int64, raw []byte, class string) error {
	return l.note("unlearn", accountID, raw, class)
}

// Take returns the lessons so far and forgets them.
func (l *Lessons) Take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// observations records what reputation was told.
type observations struct{ got []reputation.Observation }

func (o *observations) Record(_ context.Context, ob reputation.Observation) error {
	o.got = append(o.got, ob)
	return nil
}

type fixture struct {
	st                 store.Store
	acct               store.Account
	inbox, junk, phish store.Mailbox
	trash              store.Mailbox
}

func newFixture(t *testing.T) *fixture {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateDomain(ctx, "home.test"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st}
	f.acct, err = st.CreateAccount(ctx, store.NewAccount{Address: "me@home.test", PasswordHash: "x",
		Mailboxes: []store.NewMailbox{{Name: "INBOX"}, {Name: "Junk", SpecialUse: `\Junk`}, {Name: "Phishing"}, {Name: "Trash", SpecialUse: `\Trash`}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, mb := range []struct {
		name string
		p    *store.Mailbox
	}{{"INBOX", &f.inbox}, {"Junk", &f.junk}, {"Phishing", &f.phish}, {"Trash", &f.trash}} {
		if *mb.p, err = st.GetMailbox(ctx, f.acct.ID, mb.name); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) deliver(t *testing.T, mb store.Mailbox, body string) store.Message {
	ms, err := f.st.Deliver(t.Context(), strings.NewReader(body), []store.Target{{MailboxID: mb.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0]
}

// move moves one message as IMAP MOVE does and tells the trainer.
func (f *fixture) move(t *testing.T, tr *Trainer, m store.Message, from, to store.Mailbox, copyOnly bool) store.Message {
	ctx := t.Context()
	to, err := f.st.GetMailboxByID(ctx, to.ID) // UIDNext before the move
	if err != nil {
		t.Fatal(err)
	}
	op := f.st.Move
	if copyOnly {
		op = f.st.Copy
	}
	ms, err := op(ctx, from.ID, []uint32{m.UID}, to.ID)
	if err != nil {
		t.Fatal(err)
	}
	tr.Moved(ctx, f.acct.ID, from, to, []int64{ms[0].ID})
	return ms[0]
}

const spamMessage = "Received: from mx.spam.test (mx.spam.test [198.51.100.7])\r\n\tby mail.home.test with ESMTPS id 1; Mon, 2 Nov 2026 09:00:00 +0000\r\n" +
	"Authentication-Results: mail.home.test; dmarc=pass (p=none) header.from=spam.test\r\n" +
	"From: offers@spam.test\r\nSubject: cheap\r\n\r\nBuy at https://shop.spam.test/x and http://Other.Test.\r\n"

// TestTeach follows one message around the mailboxes and checks each
// step's lessons, the record that undoes them included.
func TestTeach(t *testing.T) {
	f := newFixture(t)
	l, obs := &Lessons{}, &observations{}
	tr := &Trainer{Store: f.st, Learner: l, Reputation: obs, AuthservID: "mail.home.test", Hostname: "mail.home.test"}
	id := f.acct.ID
	m := f.deliver(t, f.inbox, spamMessage)
	steps := []struct {
		what     string
		from, to store.Mailbox
		copy     bool
		want     []string
	}{
		{"into Junk", f.inbox, f.junk, false, []string{fmt.Sprintf("learn spam %d cheap", id)}},
		{"copied into Junk again", f.junk, f.junk, true, nil},
		{"back to INBOX", f.junk, f.inbox, false, []string{fmt.Sprintf("unlearn spam %d cheap", id), fmt.Sprintf("learn ham %d cheap", id)}},
		{"reported phishing", f.inbox, f.phish, true, []string{fmt.Sprintf("unlearn ham %d cheap", id), fmt.Sprintf("learn phish %d cheap", id)}},
		{"copy of the phish into Junk", f.phish, f.junk, true, []string{fmt.Sprintf("unlearn phish %d cheap", id), fmt.Sprintf("learn spam %d cheap", id)}},
		{"from Junk to Trash", f.junk, f.trash, false, nil},
	}
	where := f.inbox
	for _, st := range steps {
		if st.from.ID != where.ID && st.from.ID != st.to.ID {
			// the copy made earlier stays where it was; take it from there.
			ms, err := f.st.ListMessages(t.Context(), st.from.ID, 0, 0)
			if err != nil || len(ms) == 0 {
				t.Fatalf("%s: no message in %s: %v", st.what, st.from.Name, err)
			}
			m = ms[len(ms)-1]
		}
		m = f.move(t, tr, m, st.from, st.to, st.copy)
		where = st.to
		if got := l.Take(); !slices.Equal(got, st.want) {
			t.Errorf("%s: lessons %q, want %q", st.what, got, st.want)
		}
	}
	// Reputation heard the same lessons, as a person's, with what the
	// message says of its sender.
	if len(obs.got) != 7 {
		t.Fatalf("observations %+v, want 7", obs.got)
	}
	o := obs.got[0]
	want := reputation.Observation{SenderDomain: "spam.test", IP: netip.MustParseAddr("198.51.100.7"),
		LinkDomains: []string{"shop.spam.test", "other.test"}, Class: Spam, Source: reputation.FromUser}
	if o.SenderDomain != want.SenderDomain || o.IP != want.IP || !slices.Equal(o.LinkDomains, want.LinkDomains) ||
		o.Class != want.Class || o.Source != want.Source || o.Undo {
		t.Errorf("first observation %+v, want %+v", o, want)
	}
	if o := obs.got[1]; o.Class != Spam || !o.Undo {
		t.Errorf("second observation %+v, want spam taken back", o)
	}
}

// TestTeachFailure: a Learner that fails leaves no record, so that the
// next move tries again; Moved only logs.
func TestTeachFailure(t *testing.T) {
	f := newFixture(t)
	l := &Lessons{Fail: true}
	tr := &Trainer{Store: f.st, Learner: l}
	m := f.deliver(t, f.inbox, spamMessage)
	m = f.move(t, tr, m, f.inbox, f.junk, false)
	if err := tr.Teach(t.Context(), f.acct.ID, m, Spam); err == nil {
		t.Error("Teach with a failing learner succeeded")
	}
	l.Fail = false
	if err := tr.Teach(t.Context(), f.acct.ID, m, Spam); err != nil {
		t.Fatal(err)
	}
	if got := l.Take(); len(got) != 1 {
		t.Errorf("lessons %q after the learner came back, want one", got)
	}
	if err := tr.Teach(t.Context(), f.acct.ID, m, "eggs"); err == nil {
		t.Error("Teach of an unknown class succeeded")
	}
}

// TestNilLearner: without a Learner or reputation, training only keeps
// its records.
func TestNilLearner(t *testing.T) {
	f := newFixture(t)
	tr := &Trainer{Store: f.st}
	m := f.deliver(t, f.inbox, spamMessage)
	f.move(t, tr, m, f.inbox, f.junk, false)
}

// TestMovedFindsCopies: Moved finds the copies among many messages
// delivered to the mailbox meanwhile, and skips the IDs it cannot find.
func TestMovedFindsCopies(t *testing.T) {
	f := newFixture(t)
	l := &Lessons{}
	tr := &Trainer{Store: f.st, Learner: l}
	ctx := t.Context()
	junk, err := f.st.GetMailboxByID(ctx, f.junk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 3 {
		m := f.deliver(t, f.inbox, fmt.Sprintf("Subject: m%d\r\n\r\nbody %d\r\n", i, i))
		ms, err := f.st.Copy(ctx, f.inbox.ID, []uint32{m.UID}, junk.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ms[0].ID)
		for j := range listBatch / 2 {
			f.deliver(t, f.junk, fmt.Sprintf("Subject: other %d %d\r\n\r\nx\r\n", i, j))
		}
	}
	tr.Moved(ctx, f.acct.ID, f.inbox, junk, append(ids, 1<<40))
	got := l.Take()
	want := []string{fmt.Sprintf("learn spam %d m0", f.acct.ID), fmt.Sprintf("learn spam %d m1", f.acct.ID), fmt.Sprintf("learn spam %d m2", f.acct.ID)}
	if !slices.Equal(got, want) {
		t.Errorf("lessons %q, want %q", got, want)
	}
}

func TestDescribe(t *testing.T) {
	const us = "mail.home.test"
	for _, tc := range []struct {
		name string
		raw  string
		want Description
	}{
		{"ours", spamMessage, Description{"spam.test", netip.MustParseAddr("198.51.100.7"), []string{"shop.spam.test", "other.test"}}},
		{"DMARC of someone else",
			"Authentication-Results: mx.elsewhere.test; dmarc=pass header.from=forged.test\r\n\r\n", Description{}},
		{"DMARC failed",
			"Authentication-Results: mail.home.test; dmarc=fail header.from=forged.test\r\n\r\n", Description{}},
		{"Received by someone else",
			"Received: from x ([192.0.2.1]) by mx.elsewhere.test; Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\n", Description{}},
		{"only the topmost Received counts",
			"Received: from x (x [IPv6:2001:db8::5]) by mail.home.test; now\r\nReceived: from y ([192.0.2.9]) by mail.home.test; before\r\n\r\n",
			Description{IP: netip.MustParseAddr("2001:db8::5")}},
		{"helo literal and the connecting address",
			"Received: from [10.0.0.1] (helo=[10.0.0.1] [203.0.113.9]) by MAIL.HOME.TEST with ESMTP; now\r\n\r\n",
			Description{IP: netip.MustParseAddr("203.0.113.9")}},
		{"quoted-printable link",
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D\"https://lo=\r\ngin.bank.test/\">x</a> https://login.bank.test/again\r\n",
			Description{LinkDomains: []string{"login.bank.test"}}},
		{"empty header", "\r\nbody http://a.test\r\n", Description{LinkDomains: []string{"a.test"}}},
		{"base64 HTML, mailto left out",
			"Content-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+PGEgaHJlZj0iaHR0cHM6Ly9Mb2dpbi5CYW5rLnRlc3QveCI+c2lnbiBpbjwvYT4gb3IgbWFpbCA8YSBocmVmPSJtYWlsdG86YUBiLnRlc3QiPnVzPC9hPjwvcD4=\r\n",
			Description{LinkDomains: []string{"login.bank.test"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Describe([]byte(tc.raw), us, us)
			if got.SenderDomain != tc.want.SenderDomain || got.IP != tc.want.IP || !slices.Equal(got.LinkDomains, tc.want.LinkDomains) {
				t.Errorf("Describe = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestTeachRecordsExpire: the record is kept a year.
func TestTeachRecordsExpire(t *testing.T) {
	f := newFixture(t)
	tr := &Trainer{Store: f.st}
	m := f.deliver(t, f.junk, spamMessage)
	if err := tr.Teach(t.Context(), f.acct.ID, m, Spam); err != nil {
		t.Fatal(err)
	}
	v, err := f.st.GetValue(t.Context(), recordNamespace, fmt.Sprintf("%d/%s", f.acct.ID, m.BlobID))
	if err != nil || string(v) != Spam {
		t.Fatalf("record %q, %v", v, err)
	}
	if n, err := f.st.PruneValues(t.Context(), time.Now().Add(recordFor+time.Hour)); n != 1 || err != nil {
		t.Errorf("pruned %d, %v; want the record gone after a year", n, err)
	}
}

// slowLessons is Lessons taking its time over each lesson, so that two
// lessons of one message overlap unless something keeps them apart.
type slowLessons struct{ Lessons }

func (l *slowLessons) Learn(ctx context.Context, accountID int64, raw []byte, class string) error {
	time.Sleep(50 * time.Millisecond)
	return l.Lessons.Learn(ctx, accountID, raw, class)
}

// TestTeachAcrossNodes: two nodes sharing a store (two Trainers, Shared)
// told of the same move at once teach it once; a lesson claimed by a node
// that stopped is taught once the claim runs out.
func TestTeachAcrossNodes(t *testing.T) {
	f := newFixture(t)
	l := &slowLessons{}
	node := func() *Trainer {
		return &Trainer{Store: f.st, Learner: l, AuthservID: "mail.home.test", Hostname: "mail.home.test", Shared: true}
	}
	m := f.deliver(t, f.junk, spamMessage)
	errs := make(chan error, 2)
	for _, tr := range []*Trainer{node(), node()} {
		go func() { errs <- tr.Teach(t.Context(), f.acct.ID, m, Spam) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got, want := l.Take(), []string{fmt.Sprintf("learn spam %d cheap", f.acct.ID)}; !slices.Equal(got, want) {
		t.Errorf("lessons %q, want %q", got, want)
	}

	// A claim left by a node that stopped, running out in 300 ms.
	m2 := f.deliver(t, f.junk, strings.Replace(spamMessage, "Subject: cheap", "Subject: cheaper", 1))
	key := claimInfix + recordKey(f.acct.ID, m2.BlobID)
	if err := f.st.PutValue(t.Context(), recordNamespace, key, nil, time.Now().Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := node().Teach(t.Context(), f.acct.ID, m2, Spam); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("taught after %v, inside another node's claim", d)
	}
	if got, want := l.Take(), []string{fmt.Sprintf("learn spam %d cheaper", f.acct.ID)}; !slices.Equal(got, want) {
		t.Errorf("lessons %q, want %q", got, want)
	}
	if _, err := f.st.GetValue(t.Context(), recordNamespace, key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the claim was not given back: %v", err)
	}
}
