package delivery

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/store/storetest"
)

type fixture struct {
	st     store.Store
	acc    *account.Service
	p      *Pipeline
	queued int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = acc.AddDomain(ctx, "example.org")
	must(err)
	_, err = acc.AddAccount(ctx, "ann@example.org", "a long password 1", 0)
	must(err)
	_, err = acc.AddAccount(ctx, "bob@example.org", "a long password 2", 0)
	must(err)
	_, err = acc.AddAccount(ctx, "tiny@example.org", "a long password 3", 10)
	must(err)
	_, err = acc.AddAlias(ctx, "team@example.org", []string{"ann@example.org", "bob@example.org", "carl@outside.example"})
	must(err)
	f := &fixture{st: st, acc: acc}
	f.p = &Pipeline{Store: st, Accounts: acc, Queued: func() { f.queued++ }}
	return f
}

// messages returns the bodies in one of the account's mailboxes.
func (f *fixture) messages(t *testing.T, addr, mailbox string) []string {
	t.Helper()
	return storetest.MailboxBodies(t, f.st, addr, mailbox)
}

func envelope(rcpts ...string) *Envelope {
	env := &Envelope{ID: "t1", MailFrom: "sender@far.example",
		Received: "Received: from far.example ([192.0.2.1]) by mail.example.org with ESMTPS id t1; Sun, 22 Nov 2026 12:00:00 +0000"}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, Recipient{Address: r})
	}
	return env
}

const plain = "From: sender@far.example\r\nSubject: hello\r\n\r\nHi.\r\n"

func TestDeliverToAccountsAndAliases(t *testing.T) {
	f := newFixture(t)
	var changed []int64
	f.p.Changed = func(id int64) { changed = append(changed, id) }
	out, err := f.p.Deliver(t.Context(), envelope("ann@example.org", "team@example.org"), Spool(plain))
	if err != nil {
		t.Fatal(err)
	}
	if out.Verdict.Action != Accept || !slices.Equal(out.Delivered, []string{"ann@example.org", "bob@example.org"}) ||
		!slices.Equal(out.Forwarded, []string{"carl@outside.example"}) || out.QueueID == 0 || f.queued != 1 {
		t.Fatalf("outcome %+v, queued %d", out, f.queued)
	}
	if len(changed) != 2 || changed[0] == changed[1] {
		t.Errorf("Changed called for mailboxes %v, want ann's and bob's INBOX", changed)
	}
	ann := f.messages(t, "ann@example.org", "INBOX")
	if len(ann) != 1 {
		t.Fatalf("ann has %d messages, want 1 (once, though named twice)", len(ann))
	}
	wantPrefix := "Return-Path: <sender@far.example>\r\nDelivered-To: ann@example.org\r\nReceived: from far.example"
	if !strings.HasPrefix(ann[0], wantPrefix) || !strings.HasSuffix(ann[0], plain) {
		t.Errorf("stored message:\n%s", ann[0])
	}
	if bob := f.messages(t, "bob@example.org", "INBOX"); len(bob) != 1 || !strings.Contains(bob[0], "Delivered-To: bob@example.org\r\n") {
		t.Errorf("bob's copy: %q", bob)
	}
	q, err := f.st.GetQueueItem(t.Context(), out.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	if q.From != "sender@far.example" || len(q.Recipients) != 1 || q.Recipients[0].Address != "carl@outside.example" {
		t.Errorf("queued %+v", q)
	}
}

// hookFunc adapts a function to Hook.
type hookFunc func(ctx context.Context, env *Envelope, msg Message) (Verdict, error)

func (h hookFunc) Check(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
	return h(ctx, env, msg)
}

func TestHooks(t *testing.T) {
	spam := hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
		r, _ := msg.Open()
		b, _ := io.ReadAll(r)
		if strings.Contains(string(b), "viagra") {
			return Verdict{Folder: `\Junk`, Headers: []string{"X-Sealpost-Score: 9.5"}, Reason: "spam"}, nil
		}
		return Verdict{Headers: []string{"Authentication-Results: mail.example.org; none"}}, nil
	})
	refuse := hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
		if env.MailFrom == "bad@far.example" {
			return Verdict{Action: Reject, Code: 550, Enhanced: "5.7.1", Text: "no", Reason: "policy"}, nil
		}
		if env.MailFrom == "later@far.example" {
			return Verdict{Action: Defer, Code: 451, Enhanced: "4.7.1", Text: "later", Reason: "greylist"}, nil
		}
		return Verdict{}, nil
	})
	broken := hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
		if env.MailFrom == "crash@far.example" {
			return Verdict{}, fmt.Errorf("scanner down")
		}
		return Verdict{}, nil
	})
	tests := []struct {
		name      string
		from      string
		body      string
		action    Action
		err       bool
		inbox     int
		junk      int
		wantField string
	}{
		{"clean", "sender@far.example", plain, Accept, false, 1, 0, "Authentication-Results: mail.example.org; none\r\n"},
		{"spam to junk", "sender@far.example", "Subject: viagra\r\n\r\nbuy\r\n", Accept, false, 0, 1, "X-Sealpost-Score: 9.5\r\n"},
		{"rejected", "bad@far.example", plain, Reject, false, 0, 0, ""},
		{"deferred", "later@far.example", plain, Defer, false, 0, 0, ""},
		{"hook error", "crash@far.example", plain, Accept, true, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.p.Hooks = []Hook{refuse, broken, spam}
			env := envelope("ann@example.org")
			env.MailFrom = tt.from
			out, err := f.p.Deliver(t.Context(), env, Spool(tt.body))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error: %v", err, tt.err)
			}
			if err == nil && out.Verdict.Action != tt.action {
				t.Errorf("action %v, want %v", out.Verdict.Action, tt.action)
			}
			inbox, junk := f.messages(t, "ann@example.org", "INBOX"), f.messages(t, "ann@example.org", "Junk")
			if len(inbox) != tt.inbox || len(junk) != tt.junk {
				t.Fatalf("inbox %d, junk %d; want %d, %d", len(inbox), len(junk), tt.inbox, tt.junk)
			}
			if tt.wantField != "" && !strings.Contains(strings.Join(append(inbox, junk...), ""), tt.wantField) {
				t.Errorf("stored message lacks %q", tt.wantField)
			}
		})
	}
}

func TestLoopsAndLimits(t *testing.T) {
	tests := []struct {
		name   string
		rcpt   string
		body   string
		action Action
		code   int
	}{
		{"too many hops", "ann@example.org", strings.Repeat("Received: from x by y; date\r\n", MaxHops+1) + plain, Reject, 554},
		{"hops at the limit", "ann@example.org", strings.Repeat("Received: from x by y; date\r\n", MaxHops-1) + plain, Accept, 0},
		{"delivered-to loop", "team@example.org", "Delivered-To: bob@example.org\r\n" + plain, Reject, 554},
		{"delivered-to elsewhere", "ann@example.org", "Delivered-To: someone@else.example\r\n" + plain, Accept, 0},
		{"quota", "tiny@example.org", plain, Defer, 452},
		{"received in body does not count", "ann@example.org", plain + strings.Repeat("Received: x\r\n", MaxHops+1), Accept, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			out, err := f.p.Deliver(t.Context(), envelope(tt.rcpt), Spool(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if out.Verdict.Action != tt.action || out.Verdict.Code != tt.code {
				t.Errorf("verdict %+v, want action %v code %d", out.Verdict, tt.action, tt.code)
			}
		})
	}
}

func TestUnknownRecipientIsAnError(t *testing.T) {
	f := newFixture(t)
	if _, err := f.p.Deliver(t.Context(), envelope("nobody@example.org"), Spool(plain)); err == nil {
		t.Fatal("delivery to an unknown address succeeded; the session must refuse it at RCPT")
	}
}

// TestPartialFailureIsQueued stores one copy and fails another: the
// sender must get success (a retry would duplicate the stored copy), and
// the failed account is retried from the queue.
func TestPartialFailureIsQueued(t *testing.T) {
	f := newFixture(t)
	out, err := f.p.Deliver(t.Context(), envelope("ann@example.org", "tiny@example.org"), Spool(plain))
	if err != nil {
		t.Fatal(err)
	}
	if out.Verdict.Action != Accept || !slices.Equal(out.Delivered, []string{"ann@example.org"}) ||
		!slices.Equal(out.Forwarded, []string{"tiny@example.org"}) {
		t.Fatalf("outcome %+v", out)
	}
	q, err := f.st.GetQueueItem(t.Context(), out.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Recipients) != 1 || q.Recipients[0].Address != "tiny@example.org" {
		t.Errorf("queued %+v", q.Recipients)
	}
	if n := len(f.messages(t, "ann@example.org", "INBOX")); n != 1 {
		t.Errorf("ann has %d messages", n)
	}
}

// TestHookDropsFields: fields a hook names are left out of the stored copies
// and of the forwarded one, and the fields the hooks add are kept.
func TestHookDropsFields(t *testing.T) {
	f := newFixture(t)
	const forged = "Authentication-Results: mail.example.org; dkim=pass\r\n"
	msg := "From: sender@far.example\r\n" + forged + "Subject: hi\r\n" + strings.Replace(forged, "mail", "\tmail", 1) +
		"\r\nbody says\r\n" + forged
	f.p.Hooks = []Hook{hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
		return Verdict{Headers: []string{"Authentication-Results: mail.example.org; spf=fail"}, Drop: []int{1}}, nil
	}), hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
		return Verdict{Drop: []int{3}}, nil
	})}
	out, err := f.p.Deliver(t.Context(), envelope("team@example.org"), Spool(msg))
	if err != nil || out.Verdict.Action != Accept || len(out.Forwarded) != 1 {
		t.Fatalf("deliver: %+v, %v", out, err)
	}
	want := "Authentication-Results: mail.example.org; spf=fail\r\nFrom: sender@far.example\r\nSubject: hi\r\n\r\nbody says\r\n" + forged
	for _, got := range f.messages(t, "ann@example.org", "INBOX") {
		if !strings.HasSuffix(got, want) {
			t.Errorf("stored:\n%s\nwant it to end with\n%s", got, want)
		}
	}
	items, err := f.st.ListQueue(t.Context())
	if err != nil || len(items) != 1 {
		t.Fatalf("queue: %v, %v", items, err)
	}
	r, err := f.st.OpenBody(t.Context(), items[0].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	if !strings.HasSuffix(string(b), want) {
		t.Errorf("forwarded:\n%s\nwant it to end with\n%s", b, want)
	}
}

type sealFunc func(ctx context.Context, env *Envelope, open func() (io.ReadCloser, error), added []string) (string, error)

func (f sealFunc) SealForward(ctx context.Context, env *Envelope, open func() (io.ReadCloser, error), added []string) (string, error) {
	return f(ctx, env, open, added)
}

// TestForwardIsSealed: the copy queued for an outside target carries the
// Sealer's fields on top, computed over the message as forwarded; local
// copies do not. A Sealer's failure leaves the message unsealed.
func TestForwardIsSealed(t *testing.T) {
	for _, fail := range []bool{false, true} {
		f := newFixture(t)
		f.p.Hooks = []Hook{hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
			return Verdict{Headers: []string{"Authentication-Results: mail.example.org; spf=pass"}}, nil
		})}
		var seen string
		f.p.Sealer = sealFunc(func(ctx context.Context, env *Envelope, open func() (io.ReadCloser, error), added []string) (string, error) {
			for range 2 { // it may read the message more than once
				r, err := open()
				if err != nil {
					return "", err
				}
				b, _ := io.ReadAll(r)
				r.Close()
				seen = string(b)
			}
			if fail {
				return "", fmt.Errorf("no key")
			}
			return "ARC-Seal: i=1; sealed\r\n", nil
		})
		out, err := f.p.Deliver(t.Context(), envelope("team@example.org"), Spool(plain))
		if err != nil || len(out.Forwarded) != 1 {
			t.Fatalf("deliver: %+v, %v", out, err)
		}
		if !strings.HasPrefix(seen, "Received: ") || !strings.Contains(seen, "Authentication-Results: mail.example.org; spf=pass\r\n"+plain) {
			t.Errorf("the sealer saw %q", seen)
		}
		items, err := f.st.ListQueue(t.Context())
		if err != nil || len(items) != 1 {
			t.Fatalf("queue: %v, %v", items, err)
		}
		r, err := f.st.OpenBody(t.Context(), items[0].BlobID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if sealed := strings.HasPrefix(string(b), "ARC-Seal: i=1; sealed\r\nReceived: "); sealed == fail {
			t.Errorf("sealer failing %v: forwarded copy %q", fail, b)
		}
		for _, m := range f.messages(t, "ann@example.org", "INBOX") {
			if strings.Contains(m, "ARC-Seal") {
				t.Errorf("a local copy is sealed: %q", m)
			}
		}
	}
}

// TestReceivedNamesTheSender checks that Received is told of each account
// a message from outside was stored for, and not of submitted mail or the
// null sender.
func TestReceivedNamesTheSender(t *testing.T) {
	f := newFixture(t)
	var got []string
	f.p.Received = func(_ context.Context, accountID int64, sender string) {
		got = append(got, fmt.Sprintf("%d %s", accountID, sender))
	}
	ann, err := f.st.GetAccount(t.Context(), "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Deliver(t.Context(), envelope("ann@example.org"), Spool(plain)); err != nil {
		t.Fatal(err)
	}
	submitted := envelope("ann@example.org")
	submitted.Account = ann.ID
	bounce := envelope("ann@example.org")
	bounce.MailFrom = ""
	for _, env := range []*Envelope{submitted, bounce} {
		if _, err := f.p.Deliver(t.Context(), env, Spool(plain)); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{fmt.Sprintf("%d sender@far.example", ann.ID)}; !slices.Equal(got, want) {
		t.Errorf("Received calls %q, want %q", got, want)
	}
}

// TestSpoolBytes: a Spool is held in memory, and says so; a Message
// without Bytes is not.
func TestSpoolBytes(t *testing.T) {
	s := Spool("From: a@example.com\r\n\r\nbody\r\n")
	if got := Bytes(s); string(got) != string(s) || &got[0] != &s[0] {
		t.Errorf("Bytes(Spool) = %q, want the spool itself", got)
	}
	if got := Bytes(struct{ Message }{s}); got != nil {
		t.Errorf("Bytes of a Message without Bytes = %q, want nil", got)
	}
}
