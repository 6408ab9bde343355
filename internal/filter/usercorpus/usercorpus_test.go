package usercorpus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/teststore"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// account is one test account's mailboxes by name.
type account struct {
	store.Account
	boxes map[string]store.Mailbox
}

func newAccount(t testing.TB, st store.Store, addr string) account {
	t.Helper()
	ctx := t.Context()
	a, err := st.CreateAccount(ctx, store.NewAccount{Address: addr, PasswordHash: "x", Mailboxes: []store.NewMailbox{
		{Name: "INBOX"}, {Name: "Archive", SpecialUse: `\Archive`}, {Name: "Junk", SpecialUse: `\Junk`},
		{Name: "Phishing"}, {Name: "Trash", SpecialUse: `\Trash`}, {Name: "Sent", SpecialUse: `\Sent`},
		{Name: "Drafts", SpecialUse: `\Drafts`}}})
	if err != nil {
		t.Fatal(err)
	}
	acct := account{Account: a, boxes: map[string]store.Mailbox{}}
	for _, name := range []string{"INBOX", "Archive", "Junk", "Phishing", "Trash", "Sent", "Drafts"} {
		if acct.boxes[name], err = st.GetMailbox(ctx, a.ID, name); err != nil {
			t.Fatal(err)
		}
	}
	return acct
}

// put stores a message whose Subject is subject in one mailbox, received
// age ago.
func put(t *testing.T, st store.Store, mb store.Mailbox, subject string, age time.Duration, flags ...string) store.Message {
	t.Helper()
	ms, err := st.Deliver(t.Context(), strings.NewReader(message(subject)), []store.Target{{MailboxID: mb.ID, Flags: flags, InternalDate: now.Add(-age)}})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0]
}

func message(subject string) string {
	return "From: someone@sender.test\r\nTo: me@home.test\r\nSubject: " + subject + "\r\n\r\nAbout " + subject + ".\r\n"
}

// collected runs Collect and returns "class subject" for each message.
func collected(t *testing.T, st store.Store, opt Options) []string {
	t.Helper()
	opt.Now = func() time.Time { return now }
	var got []string
	err := Collect(t.Context(), st, opt, func(c classify.Class, raw []byte) {
		got = append(got, c.String()+" "+content.Parse(raw).Subject)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

const day = 24 * time.Hour

// TestCollect: each mailbox and message gives the label the package doc
// promises, or none.
func TestCollect(t *testing.T) {
	for name, open := range teststore.Backends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := t.Context()
			if _, err := st.CreateDomain(ctx, "home.test"); err != nil {
				t.Fatal(err)
			}
			me := newAccount(t, st, "me@home.test")
			tr := &training.Trainer{Store: st}
			teach := func(a account, m store.Message, class string) {
				t.Helper()
				if err := tr.Teach(ctx, a.ID, m, class); err != nil {
					t.Fatal(err)
				}
			}
			put(t, st, me.boxes["INBOX"], "kept and read", 3*day, `\Seen`)
			put(t, st, me.boxes["Archive"], "archived", 30*day, `\Seen`, `\Flagged`)
			put(t, st, me.boxes["INBOX"], "never read", 3*day)
			put(t, st, me.boxes["INBOX"], "read yesterday", day, `\Seen`)
			put(t, st, me.boxes["INBOX"], "deleted", 3*day, `\Seen`, `\Deleted`)
			put(t, st, me.boxes["INBOX"], "from long ago", 400*day, `\Seen`)
			put(t, st, me.boxes["Junk"], "filed by the filter", 3*day)
			teach(me, put(t, st, me.boxes["Junk"], "reported spam", 3*day), training.Spam)
			put(t, st, me.boxes["Phishing"], "reported phishing", 3*day)
			put(t, st, me.boxes["Sent"], "written", 3*day, `\Seen`)
			put(t, st, me.boxes["Drafts"], "drafted", 3*day, `\Seen`)
			put(t, st, me.boxes["Trash"], "thrown away", 3*day, `\Seen`)
			teach(me, put(t, st, me.boxes["INBOX"], "rescued from Junk", time.Hour), training.Ham)

			want := []string{"ham archived", "ham kept and read", "ham rescued from Junk", "phish reported phishing", "spam reported spam"}
			if got := collected(t, st, Options{}); !slices.Equal(got, want) {
				t.Errorf("collected\n%q\nwant\n%q", got, want)
			}
			if n, err := Count(ctx, st, Options{Now: func() time.Time { return now }}); err != nil || n != [3]int{3, 1, 1} {
				t.Errorf("Count = %v, %v; want 3 ham, 1 spam, 1 phish", n, err)
			}

			// A disabled account gives nothing.
			other := newAccount(t, st, "other@home.test")
			put(t, st, other.boxes["INBOX"], "disabled's mail", 3*day, `\Seen`)
			if err := st.SetDisabled(ctx, other.Address, true); err != nil {
				t.Fatal(err)
			}
			if got := collected(t, st, Options{}); !slices.Equal(got, want) {
				t.Errorf("with a disabled account, collected %q", got)
			}
		})
	}
}

// TestCollectOnce: a message in several mailboxes and accounts counts
// once, each recipient's copy stored as a body of its own (as delivery
// does, with its own trace fields) and told the same by its Message-ID;
// a report outweighs another reader keeping it.
func TestCollectOnce(t *testing.T) {
	st := openSQLite(t)
	ctx := t.Context()
	ann, bob := newAccount(t, st, "ann@home.test"), newAccount(t, st, "bob@home.test")
	copyTo := func(mb store.Mailbox, rcpt string, flags ...string) store.Message {
		body := "Received: from mx.sender.test by mail.home.test for <" + rcpt + ">; Mon, 16 Nov 2026 09:00:00 +0000\r\n" +
			"Message-ID: <weekly-42@sender.test>\r\nFrom: list@sender.test\r\nSubject: weekly offers\r\n\r\nOffers.\r\n"
		ms, err := st.Deliver(ctx, strings.NewReader(body), []store.Target{{MailboxID: mb.ID, Flags: flags, InternalDate: now.Add(-3 * day)}})
		if err != nil {
			t.Fatal(err)
		}
		return ms[0]
	}
	copyTo(ann.boxes["INBOX"], "ann@home.test", `\Seen`)
	copyTo(ann.boxes["Archive"], "ann@home.test", `\Seen`)
	reported := copyTo(bob.boxes["Junk"], "bob@home.test")
	// Without a Message-ID, bodies are told apart by themselves.
	put(t, st, bob.boxes["INBOX"], "no id", 3*day, `\Seen`)
	if got := collected(t, st, Options{}); !slices.Equal(got, []string{"ham no id", "ham weekly offers"}) {
		t.Errorf("kept twice, filed by the filter once: collected %q", got)
	}
	if err := (&training.Trainer{Store: st}).Teach(ctx, bob.ID, reported, training.Spam); err != nil {
		t.Fatal(err)
	}
	if got := collected(t, st, Options{}); !slices.Equal(got, []string{"ham no id", "spam weekly offers"}) {
		t.Errorf("kept by one, reported by the other: collected %q", got)
	}
}

// TestCollectBounds: the newest PerAccount of each class, none older than
// MaxAge, ham only once kept for ReportAfter.
func TestCollectBounds(t *testing.T) {
	st := openSQLite(t)
	me := newAccount(t, st, "me@home.test")
	for i := range 5 {
		put(t, st, me.boxes["INBOX"], fmt.Sprintf("kept %d days", 3+i), time.Duration(3+i)*day, `\Seen`)
		put(t, st, me.boxes["Phishing"], fmt.Sprintf("phish %d days", 3+i), time.Duration(3+i)*day)
	}
	got := collected(t, st, Options{PerAccount: 2, MaxAge: 6*day + time.Hour, ReportAfter: 4*day - time.Hour})
	want := []string{"ham kept 4 days", "ham kept 5 days", "phish phish 3 days", "phish phish 4 days"}
	if !slices.Equal(got, want) {
		t.Errorf("collected\n%q\nwant\n%q", got, want)
	}
	// Three of each class over two accounts: one each.
	other := newAccount(t, st, "other@home.test")
	put(t, st, other.boxes["INBOX"], "other's kept", 3*day, `\Seen`)
	put(t, st, other.boxes["INBOX"], "other's older", 4*day, `\Seen`)
	got = collected(t, st, Options{PerClass: 3, MaxAge: 6*day + time.Hour, ReportAfter: 4*day - time.Hour})
	want = []string{"ham kept 4 days", "ham other's older", "phish phish 3 days"}
	if !slices.Equal(got, want) {
		t.Errorf("with PerClass 3 over two accounts, collected\n%q\nwant\n%q", got, want)
	}
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st := teststore.Backends(t)["sqlite"](t)
	if _, err := st.CreateDomain(t.Context(), "home.test"); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRetrain: no model from too little mail; then a model that tells
// the reported kind from the kept kind; never over an administrator's.
func TestRetrain(t *testing.T) {
	st := openSQLite(t)
	ctx := t.Context()
	me := newAccount(t, st, "me@home.test")
	tr := &training.Trainer{Store: st}
	words := func(kind string, i int) string {
		if kind == "spam" {
			return fmt.Sprintf("cheap pills casino winner bonus offer %d", i)
		}
		return fmt.Sprintf("meeting agenda minutes project review notes %d", i)
	}
	add := func(n int) {
		for i := range n {
			put(t, st, me.boxes["INBOX"], words("ham", i), 3*day, `\Seen`)
			if err := tr.Teach(ctx, me.ID, put(t, st, me.boxes["Junk"], words("spam", i), 3*day), training.Spam); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := &Retrainer{Store: st, Options: Options{Now: func() time.Time { return now }}, MinHam: 30, MinUnwanted: 30}
	add(20)
	res, err := r.Retrain(ctx)
	if err != nil || res.Trained || !strings.Contains(res.Skipped, "20 ham of the 30 needed") {
		t.Fatalf("with 20 of each: %+v, %v", res, err)
	}
	if _, _, err := st.GetFilterModel(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a model was stored from too little mail: %v", err)
	}

	add(20)
	res, err = r.Retrain(ctx)
	if err != nil || !res.Trained || res.Counts != [3]int{40, 40, 0} {
		t.Fatalf("with 40 of each: %+v, %v", res, err)
	}
	data, _, err := st.GetFilterModel(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := classify.UnmarshalModel(data)
	if err != nil {
		t.Fatal(err)
	}
	judge := func(subject string) classify.Class {
		return m.Classify(classify.Extract(content.Parse([]byte(message(subject)))))
	}
	if got := judge("casino bonus winner"); got != classify.Spam {
		t.Errorf("new mail like the reported: %v", got)
	}
	if got := judge("project meeting notes"); got != classify.Ham {
		t.Errorf("new mail like the kept: %v", got)
	}
	// The model names words of reported mail, never of kept mail.
	named := func(subject string) string {
		var toks []string
		for _, c := range m.Explain(classify.Extract(content.Parse([]byte(message(subject)))), 50) {
			toks = append(toks, c.Token)
		}
		return strings.Join(toks, " ")
	}
	if got := named("casino bonus winner"); !strings.Contains(got, "casino") {
		t.Errorf("a reported word is not named: %q", got)
	}
	if got := named("project meeting notes"); strings.Contains(got, "meeting") || strings.Contains(got, "project") {
		t.Errorf("a word of kept mail is named: %q", got)
	}
	if src, err := Source(ctx, st); err != nil || src != FromMailboxes {
		t.Errorf("source %q, %v", src, err)
	}

	// With a lease, of two nodes the first to ask retrains; the other
	// waits for the claim to run out.
	nodeA := &Retrainer{Store: st, Options: r.Options, MinHam: 30, MinUnwanted: 30, Lease: time.Hour, Holder: "node-a"}
	nodeB := *nodeA
	nodeB.Holder = "node-b"
	if res, err := nodeA.Retrain(ctx); err != nil || !res.Trained {
		t.Fatalf("the first node: %+v, %v", res, err)
	}
	if res, err := nodeB.Retrain(ctx); !errors.Is(err, ErrLeased) || res.Trained {
		t.Errorf("the second node, the claim live: %+v, %v", res, err)
	}
	if v, err := st.GetValue(ctx, sourceNamespace, leaseKey); err != nil || string(v) != "node-a" {
		t.Errorf("claim held by %q, %v", v, err)
	}
	if err := st.PutValue(ctx, sourceNamespace, leaseKey, []byte("node-a"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if res, err := nodeB.Retrain(ctx); err != nil || !res.Trained {
		t.Errorf("the second node, the claim run out: %+v, %v", res, err)
	}
	if res, err := r.Retrain(ctx); err != nil || !res.Trained {
		t.Errorf("without a lease, whenever asked: %+v, %v", res, err)
	}

	// A model stored while it trained stays.
	racing := &replacedMeanwhile{Store: st}
	r2 := &Retrainer{Store: racing, Options: r.Options, MinHam: 30, MinUnwanted: 30}
	if _, err := r2.Retrain(ctx); !errors.Is(err, ErrReplaced) {
		t.Errorf("over a model stored meanwhile: %v", err)
	}

	// An administrator's model stays, and so does one whose source was
	// never recorded (stored before sources were).
	_, before, _ := st.GetFilterModel(ctx, 0)
	for _, src := range []string{FromCorpora, FromCorporaAndMailboxes, ""} {
		if src == "" {
			if err := st.DeleteValue(ctx, sourceNamespace, sourceKey); err != nil {
				t.Fatal(err)
			}
		} else if err := SetSource(ctx, st, src); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Retrain(ctx); !errors.Is(err, ErrCorpusModel) {
			t.Errorf("over a model from %q: %v", src, err)
		}
	}
	if _, after, _ := st.GetFilterModel(ctx, 0); !after.Equal(before) {
		t.Error("the corpus model was replaced")
	}
}

// replacedMeanwhile is a store whose global model is stored anew each
// time it is asked for, as if an administrator trained one while the
// retraining ran.
type replacedMeanwhile struct {
	store.Store
	asked int
}

func (s *replacedMeanwhile) GetFilterModel(ctx context.Context, account int64) ([]byte, time.Time, error) {
	data, updated, err := s.Store.GetFilterModel(ctx, account)
	s.asked++
	return data, updated.Add(time.Duration(s.asked) * time.Second), err
}
