package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// TestIdleHearsOtherProcesses: a message stored by another process (here a
// second store on the same data directory, as the administration commands
// open it) is announced to an IDLE session within 1 s, although IDLE's own
// look at the store comes only every minute: the store's change feed rings
// the hub.
func TestIdleHearsOtherProcesses(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	if got := srv.idlePoll(); got < 30*time.Second {
		t.Fatalf("IDLE polls every %v with a change feed; want it rare", got)
	}
	ctx := context.Background()
	const pw = "a long enough password"
	if _, err := srv.Accounts().AddAccount(ctx, "ann@example.org", pw, 0); err != nil {
		t.Fatal(err)
	}

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addrs()["imaps"].String(),
		&tls.Config{InsecureSkipVerify: true, ServerName: cfg.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	// upTo reads lines until one starts with prefix.
	upTo := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	upTo("* OK")
	fmt.Fprintf(conn, "a LOGIN ann@example.org \"%s\"\r\n", pw)
	upTo("a OK")
	fmt.Fprintf(conn, "b SELECT INBOX\r\n")
	upTo("b OK")
	fmt.Fprintf(conn, "c IDLE\r\n")
	upTo("+ ")

	other, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "store"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	acct, err := other.GetAccount(ctx, "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := other.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := other.Deliver(ctx, strings.NewReader("Subject: from elsewhere\r\n\r\nhi\r\n"),
		[]store.Target{{MailboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(start.Add(time.Second))
	upTo("* 1 EXISTS")
	t.Logf("announced after %v", time.Since(start))
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "DONE\r\n")
	upTo("c OK")
}
