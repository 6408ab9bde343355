package smtpserver

import (
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/srs"
	"sealpost.dev/sealpost/internal/store"
)

func newSRSEnv(t *testing.T) (*env, *srs.Rewriter) {
	t.Helper()
	rw, err := srs.New([]byte("the secret of this test, 32 byte"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, Limits{}, 0, func(acc *account.Service, p *delivery.Pipeline) {
		acc.SRS, p.Rewriter = rw, rw
	})
	if _, err := e.acc.AddAlias(t.Context(), "fwd@example.org", []string{"Ext@Outside.test"}); err != nil {
		t.Fatal(err)
	}
	return e, rw
}

// send runs one transaction and fails the test unless it is accepted.
func (c *client) sendMail(from string, to ...string) {
	c.t.Helper()
	c.expect("MAIL FROM:<"+from+">", 250)
	for _, r := range to {
		c.expect("RCPT TO:<"+r+">", 250)
	}
	c.expect("DATA", 354)
	c.send(msg + ".\r\n")
	if code, text := c.read(); code != 250 {
		c.t.Fatalf("DATA: %d %s", code, text)
	}
}

// onlyItem returns the one queue item and empties the queue.
func onlyItem(t *testing.T, e *env) store.QueueItem {
	t.Helper()
	q := e.queue(t)
	if len(q) != 1 {
		t.Fatalf("queue holds %d items, want 1: %+v", len(q), q)
	}
	if err := e.st.DropQueueItem(t.Context(), q[0].ID); err != nil {
		t.Fatal(err)
	}
	return q[0]
}

func recipients(it store.QueueItem) []string {
	var out []string
	for _, r := range it.Recipients {
		out = append(out, r.Address)
	}
	return out
}

// TestSRSForwardAndBounce: mail an alias forwards outside leaves with an
// SRS reverse path of the alias's domain; a bounce to that address, over
// SMTP, is queued for the original sender.
func TestSRSForwardAndBounce(t *testing.T) {
	e, rw := newSRSEnv(t)
	c := dial(t, e.addrs[MX])
	c.greet()
	c.sendMail("Alice@Sender.test", "fwd@example.org")
	fwd := onlyItem(t, e)
	if !strings.HasPrefix(fwd.From, "SRS0=") || !strings.HasSuffix(fwd.From, "@example.org") {
		t.Fatalf("forwarded with reverse path %q, want an SRS0 address of example.org", fwd.From)
	}
	if orig, err := rw.Reverse(fwd.From); err != nil || orig != "Alice@Sender.test" {
		t.Fatalf("Reverse(%q) = %q, %v", fwd.From, orig, err)
	}
	if got := recipients(fwd); !slices.Equal(got, []string{"ext@outside.test"}) {
		t.Fatalf("forwarded to %v", got)
	}

	// The receiver bounces it to the SRS address (which it may lower-case).
	c.sendMail("", strings.ToLower(fwd.From))
	bounce := onlyItem(t, e)
	if bounce.From != "" || !slices.Equal(recipients(bounce), []string{"alice@sender.test"}) {
		t.Fatalf("bounce queued as from %q to %v, want from <> to alice@sender.test", bounce.From, recipients(bounce))
	}
	// A reply with a sender works the same way.
	c.sendMail("ext@outside.test", fwd.From)
	if reply := onlyItem(t, e); !slices.Equal(recipients(reply), []string{"alice@sender.test"}) {
		t.Fatalf("reply queued to %v", recipients(reply))
	}

	// Senders of hosted domains and the null sender are kept.
	for _, from := range []string{"carl@example.net", ""} {
		c.sendMail(from, "fwd@example.org")
		if it := onlyItem(t, e); it.From != from {
			t.Errorf("sender %q forwarded as %q", from, it.From)
		}
	}
}

// TestSRSRefused: an SRS address of a hosted domain that Sealpost did not
// make, or no longer honours, is refused at RCPT with 550 5.1.1, even
// where a catch-all takes every other address; nothing is relayed.
func TestSRSRefused(t *testing.T) {
	e, rw := newSRSEnv(t)
	valid, err := rw.Forward("alice@sender.test", "example.org")
	if err != nil {
		t.Fatal(err)
	}
	old := *rw
	old.Now = func() time.Time { return time.Now().Add(-30 * 24 * time.Hour) }
	expired, err := old.Forward("alice@sender.test", "example.org")
	if err != nil {
		t.Fatal(err)
	}
	stamp := strings.Split(valid, "=")[2]
	tests := []struct{ rcpt, text string }{
		{valid[:5] + "AAAA" + valid[9:], "invalid SRS address"},
		{strings.Replace(valid, "alice@", "mallory@", 1), "invalid SRS address"},
		{"SRS0=abcd=" + stamp + "=victim.test=v@example.org", "invalid SRS address"},
		{"SRS1=abcd=victim.test==abcd=AA=x.test=y@example.org", "invalid SRS address"},
		{expired, "expired SRS address"},
		{"SRS0=nonsense@example.org", "malformed SRS address"},
	}
	c := dial(t, e.addrs[MX])
	c.greet()
	c.expect("MAIL FROM:<>", 250)
	for _, tc := range tests {
		code, text := c.cmd("RCPT TO:<" + tc.rcpt + ">")
		if code != 550 || !strings.HasPrefix(text, "550 5.1.1 ") || !strings.Contains(text, tc.text) {
			t.Errorf("RCPT TO:<%s>: %d %s; want 550 5.1.1 %s", tc.rcpt, code, text, tc.text)
		}
	}
	c.expect("RSET", 250)
	if q := e.queue(t); len(q) != 0 {
		t.Errorf("queued: %+v", q)
	}
}

// TestSRSDisabled: without a rewriter, forwarded mail keeps its sender and
// an SRS address is an ordinary one, here the catch-all's: no relay.
func TestSRSDisabled(t *testing.T) {
	rw, err := srs.New([]byte("the secret of this test, 32 byte"))
	if err != nil {
		t.Fatal(err)
	}
	valid, err := rw.Forward("alice@sender.test", "example.org")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Limits{}, 0)
	if _, err := e.acc.AddAlias(t.Context(), "fwd@example.org", []string{"ext@outside.test"}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, e.addrs[MX])
	c.greet()
	c.sendMail("alice@sender.test", "fwd@example.org")
	if it := onlyItem(t, e); it.From != "alice@sender.test" {
		t.Errorf("forwarded as %q", it.From)
	}
	c.sendMail("", valid)
	if q := e.queue(t); len(q) != 0 {
		t.Errorf("an SRS address relayed without SRS: %+v", q)
	}
	if n := len(e.inbox(t, "bob@example.org")); n != 1 {
		t.Errorf("catch-all bob has %d messages, want 1", n)
	}
}
