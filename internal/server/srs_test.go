package server

import (
	"errors"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// smtpSend runs one SMTP transaction on loopback and returns the error of
// the first command refused.
func smtpSend(t *testing.T, addr, from, to string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	w.Write([]byte("From: someone@sender.test\r\nSubject: hi\r\n\r\nhello\r\n"))
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// waitQueued waits for a queue item to rcpt and returns it.
func waitQueued(t *testing.T, srv *Server, rcpt string) store.QueueItem {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		items, err := srv.Store().ListQueue(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			for _, r := range it.Recipients {
				if r.Address == rcpt {
					return it
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing queued to %s: %+v", rcpt, items)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSRS: with the default configuration, mail an alias forwards outside
// is queued with an SRS reverse path signed by a secret kept in data_dir;
// a bounce to it over SMTP, and the server's own delivery report sent to
// it through the queue, go to the original sender; a forged one is
// refused.
func TestSRS(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.SMTP = "127.0.0.1:0"
	cfg.Queue.Deliver = false // mail for outside stays queued
	srv, _, _ := startServer(t, cfg)
	if _, err := srv.Accounts().AddAlias(t.Context(), "fwd@example.org", []string{"ext@outside.test"}); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(cfg.DataDir, srsKeyFile)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, %v", key, fi, err)
	}
	addr := srv.Addrs()["smtp"].String()

	if err := smtpSend(t, addr, "alice@sender.test", "fwd@example.org"); err != nil {
		t.Fatal(err)
	}
	fwd := waitQueued(t, srv, "ext@outside.test")
	if !strings.HasPrefix(fwd.From, "SRS0=") || !strings.HasSuffix(fwd.From, "@example.org") {
		t.Fatalf("forwarded with reverse path %q", fwd.From)
	}
	// The secret is the one kept in data_dir, read again at the next start.
	again, err := newSRS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if orig, err := again.Reverse(fwd.From); err != nil || orig != "alice@sender.test" {
		t.Fatalf("Reverse(%q) with the stored secret = %q, %v", fwd.From, orig, err)
	}

	if err := smtpSend(t, addr, "", fwd.From); err != nil {
		t.Fatalf("bounce to %s: %v", fwd.From, err)
	}
	if b := waitQueued(t, srv, "alice@sender.test"); b.From != "" {
		t.Errorf("bounce queued from %q", b.From)
	}

	// The server's own report about a forwarded message goes the same
	// way: queued to the SRS address, delivered locally, forwarded.
	if _, err := srv.Store().Enqueue(t.Context(), strings.NewReader("Subject: report\r\n\r\nfailed\r\n"),
		store.NewQueueItem{Recipients: []store.NewQueueRecipient{{Address: strings.Replace(fwd.From, "alice", "Alice", 1)}}}); err != nil {
		t.Fatal(err)
	}
	srv.pokeQueue()
	deadline := time.Now().Add(10 * time.Second)
	for {
		items, _ := srv.Store().ListQueue(t.Context())
		n := 0
		for _, it := range items {
			if slices.ContainsFunc(it.Recipients, func(r store.QueueRecipient) bool { return r.Address == "alice@sender.test" }) {
				n++
			}
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the report was not forwarded: %+v", items)
		}
		time.Sleep(20 * time.Millisecond)
	}

	forged := fwd.From[:5] + "AAAA" + fwd.From[9:]
	var te *textproto.Error
	if err := smtpSend(t, addr, "", forged); !errors.As(err, &te) || te.Code != 550 || !strings.Contains(te.Msg, "invalid SRS address") {
		t.Errorf("forged %s: %v, want 550 invalid SRS address", forged, err)
	}
}

// TestSRSOff: with srs.enabled false nothing is rewritten and no secret is
// made.
func TestSRSOff(t *testing.T) {
	cfg := testConfig(t)
	cfg.SRS.Enabled = false
	r, err := newSRS(cfg)
	if r != nil || err != nil {
		t.Fatalf("newSRS = %v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, srsKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("secret made: %v", err)
	}
}
