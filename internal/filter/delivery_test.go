package filter

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// newPipeline returns a delivery pipeline over a real SQLite store with
// the accounts ann@ and bob@example.org, and those of more, filtered by f.
func newPipeline(t *testing.T, f *Filter, more ...string) (*delivery.Pipeline, store.Store) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	if _, err := acc.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	for _, a := range append([]string{"ann@example.org", "bob@example.org"}, more...) {
		if _, err := acc.AddAccount(ctx, a, "a long password 1", 0); err != nil {
			t.Fatal(err)
		}
	}
	f.Accounts = st
	return &delivery.Pipeline{Store: st, Accounts: acc, Hooks: []delivery.Hook{f}}, st
}

// scoreFor is a check that scores what the Subject says ("score 7").
type scoreFor struct{}

func (scoreFor) Name() string { return "subject" }
func (scoreFor) Check(_ context.Context, in *Input) ([]Score, error) {
	var w float64
	if _, err := fmt.Sscanf(in.Message.Subject, "score %g", &w); err != nil {
		return nil, nil
	}
	return []Score{{Name: "score", Weight: w, Reason: "the subject asks for it", Warn: true}}, nil
}

func subjectMsg(subject string) string {
	return "From: Bank <service@bank.example>\r\nTo: ann@example.org\r\nSubject: " + subject +
		"\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@bank.example>\r\nX-Sealpost-Score: -50 (pass)\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nPlease verify your account.\r\n"
}

// TestDelivery: over a real store, a junk verdict files into the
// account's \Junk mailbox (with the banner, since its score is a
// warning one), a warn verdict stores the banner, a reject
// gives 550 5.7.1, and a per-account score sends one recipient's copy to
// Junk and leaves the other's in INBOX. Forged X-Sealpost fields never
// reach the mailbox.
func TestDelivery(t *testing.T) {
	banner, err := ParseBanner(DefaultBanner)
	if err != nil {
		t.Fatal(err)
	}
	f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Banner: banner, Checks: []Check{scoreFor{}},
		AccountChecks: []AccountCheck{accountFake{"bob@example.org": {sc("model", 4)}}}}
	p, st := newPipeline(t, f)
	env := func() *delivery.Envelope {
		return &delivery.Envelope{ID: "d1", MailFrom: "x@evil.example", Helo: "evil.example", RemoteIP: netip.MustParseAddr("192.0.2.7"),
			Recipients: []delivery.Recipient{{Address: "ann@example.org"}}}
	}
	box := func(addr, name string) []string { return storetest.MailboxBodies(t, st, addr, name) }

	out, err := p.Deliver(t.Context(), env(), delivery.Spool(subjectMsg("score 20")))
	if err != nil {
		t.Fatal(err)
	}
	if v := out.Verdict; v.Action != delivery.Reject || v.Code != 550 || v.Enhanced != "5.7.1" || !strings.Contains(v.Text, "the subject asks for it") {
		t.Errorf("reject: %+v", v)
	}

	if _, err := p.Deliver(t.Context(), env(), delivery.Spool(subjectMsg("score 7"))); err != nil {
		t.Fatal(err)
	}
	junk := box("ann@example.org", "Junk")
	if len(junk) != 1 || !strings.Contains(junk[0], "\r\nX-Sealpost-Score: 7 (junk)\r\nX-Sealpost-Reasons: subject.score=7 \"the subject asks for it\"\r\n") ||
		strings.Contains(junk[0], "-50") || !strings.Contains(junk[0], "Caution") {
		t.Errorf("Junk: %q", junk)
	}

	if _, err := p.Deliver(t.Context(), env(), delivery.Spool(subjectMsg("score 4"))); err != nil {
		t.Fatal(err)
	}
	inbox := box("ann@example.org", "INBOX")
	if len(inbox) != 1 || !strings.Contains(inbox[0], "X-Sealpost-Score: 4 (warn)") || strings.Contains(inbox[0], "-50") {
		t.Fatalf("INBOX: %q", inbox)
	}
	stored := content.Parse([]byte(inbox[0]))
	stored.Text = strings.ReplaceAll(stored.Text, "\r", "")
	if !strings.HasPrefix(stored.Text, "Caution: Sealpost finds this message suspicious. It claims to be from Bank <service@bank.example> but was sent from x@evil.example.\n- the subject asks for it") ||
		!strings.Contains(stored.Text, "Please verify your account.") || len(stored.Flaws) != 0 {
		t.Errorf("stored text %q, flaws %q", stored.Text, stored.Flaws)
	}

	two := env()
	two.Recipients = append(two.Recipients, delivery.Recipient{Address: "bob@example.org"})
	if _, err := p.Deliver(t.Context(), two, delivery.Spool(subjectMsg("score 2"))); err != nil {
		t.Fatal(err)
	}
	if got := box("ann@example.org", "INBOX"); len(got) != 2 || !strings.Contains(got[1], "X-Sealpost-Score: 2 (pass)") {
		t.Errorf("ann's INBOX: %q", got)
	}
	if got := box("bob@example.org", "Junk"); len(got) != 1 || !strings.Contains(got[0], "X-Sealpost-Score: 6 (junk)") {
		t.Errorf("bob's Junk: %q", got)
	}
}

// TestForgedFieldsDropped: X-Sealpost- fields from outside never reach
// the mailbox, folded or after a line that is no field, and the fields
// around them stay; a filter without checks adds no field of its own.
func TestForgedFieldsDropped(t *testing.T) {
	p, st := newPipeline(t, &Filter{})
	msg := "Received: from x\r\nnot a field line\r\nX-SEALPOST-Score: -50 (pass)\r\n\tfolded forged\r\nX-Sealpost-Alert: password-changed\r\n" +
		"From: a@far.example\r\nSubject: hi\r\n\r\nX-Sealpost-Score: in the body stays\r\n"
	env := &delivery.Envelope{ID: "d2", MailFrom: "a@far.example", RemoteIP: netip.MustParseAddr("192.0.2.7"),
		Recipients: []delivery.Recipient{{Address: "ann@example.org"}}}
	if _, err := p.Deliver(t.Context(), env, delivery.Spool(msg)); err != nil {
		t.Fatal(err)
	}
	got := storetest.MailboxBodies(t, st, "ann@example.org", "INBOX")
	want := "Received: from x\r\nnot a field line\r\nFrom: a@far.example\r\nSubject: hi\r\n\r\nX-Sealpost-Score: in the body stays\r\n"
	if len(got) != 1 || !strings.HasSuffix(got[0], want) || strings.Count(got[0], "X-Sealpost") != 1 {
		t.Errorf("stored %q\nwant it to end with %q", got, want)
	}
}
