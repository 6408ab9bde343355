package server

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/store"
)

// imapClient is a bare IMAP-over-TLS connection from a chosen loopback
// address, enough to send LOGIN and read the tagged answer.
type imapClient struct {
	conn net.Conn
	r    *bufio.Reader
	tag  int
}

func dialIMAPS(t *testing.T, from, addr string) *imapClient {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // the test server's certificate is self-signed
	if err != nil {
		t.Fatal(err)
	}
	c := &imapClient{conn: conn, r: bufio.NewReader(conn)}
	if greeting, err := c.r.ReadString('\n'); err != nil || !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	return c
}

// login sends LOGIN and returns the tagged answer; "" when the server has
// closed the connection.
func (c *imapClient) login(t *testing.T, user, password string) string {
	t.Helper()
	c.tag++
	tag := fmt.Sprintf("a%d", c.tag)
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c.conn, "%s LOGIN %q %q\r\n", tag, user, password); err != nil {
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

// TestBruteForceOverIMAP guesses one account's password 2,000 times from
// 127.0.0.2 over IMAPS: the guesses are slowed, then refused without a
// password check, while the owner, who has logged in from 127.0.0.3
// before, still logs in from there during and after the attack. The
// login log has every attempt with its reason.
func TestBruteForceOverIMAP(t *testing.T) {
	const attempts = 2000
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	cfg.Limits.MaxAuthFailures = 100 // fewer connections for the same guesses
	cfg.LoginGuard.BaseDelay = config.Duration(10 * time.Millisecond)
	cfg.LoginGuard.MaxDelay = config.Duration(80 * time.Millisecond)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	const user, password = "ana@example.org", "correct horse battery staple"
	acct, err := srv.Accounts().AddAccount(ctx, user, password, 0)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addrs()["imaps"].String()
	ownerLogin := func() (string, time.Duration) {
		c := dialIMAPS(t, "127.0.0.3", addr)
		defer c.conn.Close()
		start := time.Now()
		return c.login(t, user, password), time.Since(start)
	}
	if got, _ := ownerLogin(); !strings.HasPrefix(got, "a1 OK") {
		t.Fatalf("the owner's first login: %q", got)
	}

	var c *imapClient
	var slowest time.Duration
	for i := 0; i < attempts; {
		if c == nil {
			c = dialIMAPS(t, "127.0.0.2", addr)
		}
		start := time.Now()
		got := c.login(t, user, fmt.Sprintf("guess %d", i))
		took := time.Since(start)
		if got == "" { // closed after max_auth_failures: the same guess again
			c.conn.Close()
			c = nil
			continue
		}
		if !strings.Contains(got, "NO [AUTHENTICATIONFAILED]") {
			t.Fatalf("guess %d answered %q", i, got)
		}
		slowest = max(slowest, took)
		i++
		if i == attempts/2 {
			if got, took := ownerLogin(); !strings.HasPrefix(got, "a1 OK") || took > 2*time.Second {
				t.Errorf("the owner's login during the attack: %q after %v", got, took)
			}
		}
	}
	if c != nil {
		c.conn.Close()
	}
	if slowest < time.Duration(cfg.LoginGuard.MaxDelay) {
		t.Errorf("the slowest guess took %v: no throttling up to max_delay %v", slowest, cfg.LoginGuard.MaxDelay)
	}
	if got, took := ownerLogin(); !strings.HasPrefix(got, "a1 OK") || took > 2*time.Second {
		t.Errorf("the owner's login after the attack: %q after %v", got, took)
	}

	entries, err := srv.Store().QueryLog(ctx, store.LogQuery{AccountID: acct.ID, Kind: "login", Limit: 10 * attempts})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, e := range entries {
		reasons[e.RemoteIP.String()+" "+e.Outcome+" "+e.Detail]++
	}
	checked := reasons["127.0.0.2 fail wrong password"]
	locked := reasons["127.0.0.2 fail locked out"]
	if checked+locked != attempts || checked > cfg.LoginGuard.IPFailures+1 || locked < attempts-cfg.LoginGuard.IPFailures-1 {
		t.Errorf("log of 127.0.0.2: %d wrong passwords checked, %d locked out; want %d in all, at most %d checked",
			checked, locked, attempts, cfg.LoginGuard.IPFailures+1)
	}
	if ok := reasons["127.0.0.3 ok password"]; ok != 3 {
		t.Errorf("log of 127.0.0.3: %d successful logins, want 3; all: %v", ok, reasons)
	}
}
