package alert

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/mail"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// fixture is an instance with a real store: a domain, an account, and a
// Sender delivering through a pipeline like the server's.
type fixture struct {
	st      store.Store
	svc     *account.Service
	sender  *Sender
	acc     store.Account
	changed []int64
	queued  int
	logs    bytes.Buffer
}

func newFixture(t *testing.T, dkimKeys bool) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st}
	f.svc = &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	if dkimKeys {
		f.svc.DKIMKeyGen = account.GenerateDKIMKeys
	}
	if _, err := f.svc.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if f.acc, err = f.svc.AddAccount(ctx, "user@example.com", "a long enough password", 0); err != nil {
		t.Fatal(err)
	}
	p := &delivery.Pipeline{Store: st, Accounts: f.svc, Changed: func(id int64) { f.changed = append(f.changed, id) }}
	f.sender = New(p, f.svc, func() { f.queued++ }, slog.New(slog.NewTextHandler(&f.logs, nil)))
	f.svc.Alerts = f.sender
	return f
}

// inbox returns the messages in the account's INBOX, parsed, with their
// bodies decoded.
func (f *fixture) inbox(t *testing.T) []parsed {
	t.Helper()
	ctx := t.Context()
	mb, err := f.st.GetMailbox(ctx, f.acc.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := f.st.ListMessages(ctx, mb.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []parsed
	for _, m := range ms {
		out = append(out, parse(t, f.read(t, m.BlobID)))
	}
	return out
}

type parsed struct {
	raw    string
	header mail.Header
	body   string
}

// read returns a stored body.
func (f *fixture) read(t *testing.T, blobID string) string {
	t.Helper()
	rc, err := f.st.OpenBody(t.Context(), blobID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parse(t testing.TB, raw string) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("decoding the body: %v", err)
	}
	return parsed{raw: raw, header: m.Header, body: string(b)}
}

func TestSendToInbox(t *testing.T) {
	f := newFixture(t, false)
	ctx := t.Context()
	when := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	f.sender.Send(ctx, account.Alert{AccountID: f.acc.ID, Kind: account.AlertNewSignIn, Time: when,
		RemoteIP: netip.MustParseAddr("192.0.2.7"), Client: "Thunderbird 128",
		Detail: "A sign-in over IMAP from a network (192.0.2.0/24) not seen on this account in the last 90 days."})

	msgs := f.inbox(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in INBOX, want 1; log: %s", len(msgs), f.logs.String())
	}
	m := msgs[0]
	want := map[string]string{
		"From":             `"Sealpost security" <postmaster@example.com>`,
		"To":               "<user@example.com>",
		"Subject":          "Security alert: New sign-in to your account",
		"Date":             "Sun, 22 Nov 2026 10:30:00 +0000",
		"Auto-Submitted":   "auto-generated",
		"Return-Path":      "<>",
		"Delivered-To":     "user@example.com",
		"Content-Type":     "text/plain; charset=utf-8",
		"X-Sealpost-Alert": "new-sign-in",
	}
	for k, v := range want {
		if got := m.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if id := m.header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID %q", id)
	}
	for _, s := range []string{"192.0.2.0/24", "From IP:  192.0.2.7", "Client:   Thunderbird 128",
		"Account:  user@example.com", "Sun, 22 Nov 2026 10:30:00 UTC", "If it was not you", "change your password"} {
		if !strings.Contains(m.body, s) {
			t.Errorf("body lacks %q:\n%s", s, m.body)
		}
	}
	mb, _ := f.st.GetMailbox(ctx, f.acc.ID, "INBOX")
	if !slices.Equal(f.changed, []int64{mb.ID}) {
		t.Errorf("Changed called with %v, want [%d]", f.changed, mb.ID)
	}
	if q, _ := f.st.ListQueue(ctx); len(q) != 0 || f.queued != 0 {
		t.Errorf("queued %+v without a recovery address", q)
	}
}

func TestSubjects(t *testing.T) {
	kinds := []account.AlertKind{account.AlertNewSignIn, account.AlertAppPasswordAdded, account.AlertTwoStepOff,
		account.AlertPasswordChanged, account.AlertForwardingChanged, account.AlertForwardingActive,
		account.AlertRecoveryChanged, account.AlertOutboundHeld}
	seen := map[string]bool{}
	for _, k := range kinds {
		s := Subject(k)
		if s == "Security alert" || seen[s] {
			t.Errorf("kind %s: subject %q not its own", k, s)
		}
		seen[s] = true
	}
	if got := Subject("some-new-kind"); got != "Security alert" {
		t.Errorf("unknown kind: %q", got)
	}
}

// TestSendToRecovery checks the copies to the recovery address and to the
// one a change replaced are queued, from the null sender, DKIM-signed.
func TestSendToRecovery(t *testing.T) {
	f := newFixture(t, true)
	ctx := t.Context()
	now := time.Now()
	f.svc.Now = func() time.Time { return now }
	su := account.StepUp{AccountID: f.acc.ID, Time: now}
	if err := f.svc.SetRecoveryAddress(ctx, su, "user@example.com", "first@elsewhere.example"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetRecoveryAddress(ctx, su, "user@example.com", "second@elsewhere.example"); err != nil {
		t.Fatal(err)
	}
	q, err := f.st.ListQueue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, it := range q {
		if it.From != "" || len(it.Recipients) != 1 {
			t.Errorf("queue item %+v: want one recipient from the null sender", it)
			continue
		}
		rcpt := it.Recipients[0].Address
		to = append(to, rcpt)
		m := parse(t, f.read(t, it.BlobID))
		if !strings.HasPrefix(m.raw, "DKIM-Signature:") || !strings.Contains(m.header.Get("DKIM-Signature"), "d=example.com") {
			t.Errorf("copy to %s is not signed for example.com:\n%.300s", rcpt, m.raw)
		}
		if m.header.Get("To") != "<"+rcpt+">" || m.header.Get("Subject") != Subject(account.AlertRecoveryChanged) {
			t.Errorf("copy to %s: To %q, Subject %q", rcpt, m.header.Get("To"), m.header.Get("Subject"))
		}
	}
	slices.Sort(to)
	// The first change tells first@; the second tells second@ and first@.
	if want := []string{"first@elsewhere.example", "first@elsewhere.example", "second@elsewhere.example"}; !slices.Equal(to, want) {
		t.Errorf("queued to %v, want %v", to, want)
	}
	if f.queued != 3 {
		t.Errorf("queue woken %d times, want 3", f.queued)
	}
	if n := len(f.inbox(t)); n != 2 {
		t.Errorf("%d alerts in INBOX, want 2", n)
	}
}

// TestSendNeverFails checks an alert for no account, or for a full
// mailbox, is logged and Send returns.
func TestSendNeverFails(t *testing.T) {
	f := newFixture(t, false)
	ctx := t.Context()
	f.sender.Send(ctx, account.Alert{AccountID: 1 << 40, Kind: account.AlertPasswordChanged, Time: time.Now()})
	if !strings.Contains(f.logs.String(), "no account") {
		t.Errorf("log %q lacks the failure", f.logs.String())
	}
	if err := f.st.SetQuota(ctx, "user@example.com", 1); err != nil {
		t.Fatal(err)
	}
	f.logs.Reset()
	f.sender.Send(ctx, account.Alert{AccountID: f.acc.ID, Kind: account.AlertPasswordChanged, Time: time.Now()})
	if !strings.Contains(f.logs.String(), "not stored in INBOX") {
		t.Errorf("log %q lacks the failure", f.logs.String())
	}
	// An ended context does not stop the alert of a change that was made.
	if err := f.st.SetQuota(ctx, "user@example.com", 0); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	f.sender.Send(cctx, account.Alert{AccountID: f.acc.ID, Kind: account.AlertPasswordChanged, Time: time.Now()})
	if n := len(f.inbox(t)); n != 1 {
		t.Errorf("%d alerts in INBOX after a cancelled context, want 1; log: %s", n, f.logs.String())
	}
}

// TestServiceChangesAlert checks the account.Service's changes reach the
// INBOX through the Sender: a password change and a new app password.
func TestServiceChangesAlert(t *testing.T) {
	f := newFixture(t, false)
	ctx := t.Context()
	if err := f.svc.SetPassword(ctx, "user@example.com", "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.AddAppPassword(ctx, "user@example.com", "phone", []string{"imap"}); err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, m := range f.inbox(t) {
		subjects = append(subjects, m.header.Get("Subject"))
	}
	want := []string{Subject(account.AlertPasswordChanged), Subject(account.AlertAppPasswordAdded)}
	if !slices.Equal(subjects, want) {
		t.Errorf("INBOX subjects %q, want %q", subjects, want)
	}
}

// headerNames are the fields Compose writes, in order.
var headerNames = []string{"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "X-Sealpost-Alert",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding"}

func TestComposeHostileInput(t *testing.T) {
	a := account.Alert{Kind: "new-sign-in\r\nBcc: x@evil.example", Time: time.Now(),
		Client: "evil\r\nBcc: victim@evil.example\r\n\r\nbody", Detail: "line\rBcc: y@evil.example\n"}
	msg, err := Compose(a, "user@example.com", "user@example.com")
	if err != nil {
		t.Fatal(err)
	}
	checkComposed(t, msg)
	for _, bad := range []string{"user@example.com\r\nBcc: x@y", "no-domain", "a b@example.com", "<x>@example.com"} {
		if _, err := Compose(a, bad, "user@example.com"); err == nil {
			t.Errorf("address %q accepted", bad)
		}
		if _, err := Compose(a, "user@example.com", bad); err == nil {
			t.Errorf("recipient %q accepted", bad)
		}
	}
}

// checkComposed checks a composed message has exactly Compose's fields,
// each once, lines within 78 characters, and CRLF line ends only.
func checkComposed(t testing.TB, msg []byte) {
	t.Helper()
	m := parse(t, string(msg))
	var names []string
	for k := range m.header {
		names = append(names, k)
	}
	slices.Sort(names)
	var want []string
	for _, n := range headerNames {
		want = append(want, textproto.CanonicalMIMEHeaderKey(n))
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("header fields %v, want %v:\n%s", names, want, msg)
	}
	for _, k := range names {
		if len(m.header[k]) != 1 {
			t.Errorf("field %s %d times", k, len(m.header[k]))
		}
	}
	for line := range strings.SplitSeq(string(msg), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("bare CR or LF in %q", line)
		}
		if len(line) > 78 {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
}
