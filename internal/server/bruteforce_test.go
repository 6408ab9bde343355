package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/store"
)

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
	ownerLogin := func() (string, time.Duration) {
		c := dialIMAPFrom(t, srv, "127.0.0.3")
		defer c.conn.Close()
		start := time.Now()
		return c.answer("a1", "LOGIN %q %q", user, password), time.Since(start)
	}
	if got, _ := ownerLogin(); !strings.HasPrefix(got, "a1 OK") {
		t.Fatalf("the owner's first login: %q", got)
	}

	var c *imapConn
	var slowest time.Duration
	for i := 0; i < attempts; {
		if c == nil {
			c = dialIMAPFrom(t, srv, "127.0.0.2")
		}
		start := time.Now()
		got := c.answer(fmt.Sprintf("g%d", i), "LOGIN %q %q", user, fmt.Sprintf("guess %d", i))
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
