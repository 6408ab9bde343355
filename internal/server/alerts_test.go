package server

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// imapConn is a bare IMAP client over TLS for these tests.
type imapConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialIMAP(t *testing.T, srv *Server) *imapConn {
	t.Helper()
	return dialIMAPFrom(t, srv, "")
}

// dialIMAPFrom is dialIMAP from the loopback address from ("" for any).
func dialIMAPFrom(t *testing.T, srv *Server, from string) *imapConn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := tls.DialWithDialer(d, "tcp", srv.Addrs()["imaps"].String(),
		&tls.Config{InsecureSkipVerify: true, ServerName: srv.cfg.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &imapConn{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.upTo("* OK")
	return c
}

// upTo reads lines until one starts with prefix.
func (c *imapConn) upTo(prefix string) {
	c.t.Helper()
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if strings.HasPrefix(line, prefix) {
			return
		}
	}
}

// answer sends a command tagged tag and returns its tagged answer, or ""
// when the server has closed the connection.
func (c *imapConn) answer(tag, format string, args ...any) string {
	if _, err := fmt.Fprintf(c.conn, tag+" "+format+"\r\n", args...); err != nil {
		return ""
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return ""
		}
		if strings.HasPrefix(line, tag+" ") {
			return strings.TrimSpace(line)
		}
	}
}

func (c *imapConn) send(format string, args ...any) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.conn, format+"\r\n", args...); err != nil {
		c.t.Fatal(err)
	}
}

// login signs in, naming the client in an ID command first when client
// is not "".
func (c *imapConn) login(address, password, client string) {
	c.t.Helper()
	if client != "" {
		c.send(`i ID ("name" "%s")`, client)
		c.upTo("i OK")
	}
	c.send(`a LOGIN %s "%s"`, address, password)
	c.upTo("a OK")
}

func (c *imapConn) idle() {
	c.t.Helper()
	c.send("b SELECT INBOX")
	c.upTo("b OK")
	c.send("c IDLE")
	c.upTo("+ ")
}

// TestPasswordChangeEndsSessions checks that the owner's password change
// (with step-up) closes the account's live IMAP session in IDLE within a
// second, leaves another account's alone, and leaves an alert in INBOX.
func TestPasswordChangeEndsSessions(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	const pw = "a long enough password"
	accounts := srv.Accounts()
	for _, a := range []string{"ann@example.org", "bob@example.org"} {
		if _, err := accounts.AddAccount(ctx, a, pw, 0); err != nil {
			t.Fatal(err)
		}
	}
	ann, bob := dialIMAP(t, srv), dialIMAP(t, srv)
	ann.login("ann@example.org", pw, "")
	ann.idle()
	bob.login("bob@example.org", pw, "")
	bob.idle()

	su, err := accounts.StepUp(ctx, "ann@example.org", pw, "")
	if err != nil {
		t.Fatal(err)
	}
	// The second counts from the change: hashing the new password
	// (argon2id, 64 MiB) comes before it and takes what the machine
	// gives it.
	if err := accounts.ChangePassword(ctx, su, "ann@example.org", "another long enough password"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ann.conn.SetReadDeadline(start.Add(time.Second))
	for {
		_, err := ann.r.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ann's session not closed within 1 s: %v", err)
		}
	}
	t.Logf("closed after %v", time.Since(start))

	// Bob's session is still there and answers.
	bob.send("DONE")
	bob.upTo("c OK")
	if n := len(srv.Sessions().List(mustID(t, srv, "bob@example.org"))); n != 1 {
		t.Errorf("bob has %d sessions, want 1", n)
	}

	// Ann signs in again with the new password and finds the alert.
	again := dialIMAP(t, srv)
	again.login("ann@example.org", "another long enough password", "")
	again.send("b SELECT INBOX")
	again.upTo("b OK")
	again.send("s SEARCH HEADER Subject %q", "password was changed")
	again.upTo("* SEARCH 1")
	again.send(`f FETCH 1 BODY.PEEK[HEADER.FIELDS (FROM AUTO-SUBMITTED)]`)
	again.upTo(`From: "Sealpost security" <postmaster@example.org>`)
	again.upTo("Auto-Submitted: auto-generated")
}

// TestNewSignInAlertReachesIdle checks that a sign-in with a new client
// raises an alert that an IDLE session of the account hears of within a
// second, and that the account's first sign-in raises none.
func TestNewSignInAlertReachesIdle(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	const pw = "a long enough password"
	if _, err := srv.Accounts().AddAccount(ctx, "ann@example.org", pw, 0); err != nil {
		t.Fatal(err)
	}
	first := dialIMAP(t, srv)
	first.login("ann@example.org", pw, "Thunderbird")
	first.send("b SELECT INBOX")
	first.upTo("* 0 EXISTS")
	first.upTo("b OK")
	first.send("c IDLE")
	first.upTo("+ ")

	start := time.Now()
	dialIMAP(t, srv).login("ann@example.org", pw, "unknown-script")
	first.conn.SetReadDeadline(start.Add(time.Second))
	first.upTo("* 1 EXISTS")
	t.Logf("announced after %v", time.Since(start))
	first.conn.SetDeadline(time.Now().Add(5 * time.Second))
	first.send("DONE")
	first.upTo("c OK")
	first.send(`f FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]`)
	first.upTo("Subject: " + "Security alert: New sign-in to your account")
}

func mustID(t *testing.T, srv *Server, address string) int64 {
	t.Helper()
	acc, err := srv.Accounts().Store.GetAccount(t.Context(), address)
	if err != nil {
		t.Fatal(err)
	}
	return acc.ID
}
