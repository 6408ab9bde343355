package server

import (
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// TestJunkMoveTeachesReputation: the server wires training into its IMAP
// listeners: a message moved into Junk over IMAP counts as a person's
// spam report against the network our Received field names, the link
// domain and the sender domain our Authentication-Results vouches for.
func TestJunkMoveTeachesReputation(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	const pw = "a long enough password"
	a, err := srv.Accounts().AddAccount(ctx, "ann@example.org", pw, 0)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := srv.Store().GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msg := "Received: from mx.spam.test (mx.spam.test [192.0.2.7])\r\n\tby mail.example.org with ESMTPS id x; Mon, 2 Nov 2026 09:00:00 +0000\r\n" +
		"Authentication-Results: mail.example.org; dmarc=pass (p=none) header.from=spam.test\r\n" +
		"From: deals@spam.test\r\nSubject: deals\r\n\r\nhttps://www.deals.test/now\r\n"
	if _, err := srv.Store().Deliver(ctx, strings.NewReader(msg), []store.Target{{MailboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	c := dialIMAP(t, srv)
	c.login("ann@example.org", pw, "")
	if got := c.answer("s", "SELECT INBOX"); !strings.HasPrefix(got, "s OK") {
		t.Fatalf("SELECT: %q", got)
	}
	if got := c.answer("m", "MOVE 1 Junk"); !strings.HasPrefix(got, "m OK") {
		t.Fatalf("MOVE: %q", got)
	}
	keys := []store.RepKey{{Kind: store.RepNet, Name: "192.0.2.0/24"}, {Kind: store.RepLink, Name: "deals.test"}, {Kind: store.RepSender, Name: "spam.test"}}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got, err := srv.Store().Reputations(ctx, time.Now(), keys)
		if err != nil {
			t.Fatal(err)
		}
		done := len(got) == len(keys)
		for _, e := range got {
			done = done && e.UserSpam > 0.99
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reputation after the move: %+v", got)
		}
	}
}
