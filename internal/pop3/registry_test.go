package pop3

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/tlsconf"
)

// registeredServer starts a POP3S listener on e's store that registers its
// sessions in the returned registry.
func registeredServer(t *testing.T, e *env) (string, *sessions.Registry) {
	t.Helper()
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{hostname}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := &sessions.Registry{}
	srv, err := New(Config{Mode: POP3S, Hostname: hostname, TLS: prov.Config()},
		Deps{Store: e.st, Accounts: e.acc, Sessions: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ln.Close()
		srv.Shutdown(t.Context())
	})
	return ln.Addr().String(), reg
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

// TestSessionRegistry: a session is registered once its login succeeds,
// with what the registry shows of it, and leaves the registry however it
// ends.
func TestSessionRegistry(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	addr, reg := registeredServer(t, e)
	annID := e.inbox.AccountID
	for _, tc := range []struct {
		name     string
		login    func(c *client)
		register bool
		end      func(c *client)
	}{
		{"USER and PASS, then QUIT", (*client).login, true, func(c *client) { c.expect("QUIT", "+OK") }},
		{"AUTH PLAIN, then a dropped connection", func(c *client) {
			c.expect("AUTH PLAIN "+plainResponse(ann, annPassword), "+OK")
		}, true, func(c *client) { c.conn.Close() }},
		{"a wrong password", func(c *client) {
			c.expect("USER "+ann, "+OK")
			c.expect("PASS not the password", "-ERR")
		}, false, func(c *client) { c.expect("QUIT", "+OK") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialTLS(t, addr)
			c.readLine()
			tc.login(c)
			list := reg.List(annID)
			if !tc.register {
				if len(list) != 0 {
					t.Fatalf("registered: %+v", list)
				}
				tc.end(c)
				return
			}
			if len(list) != 1 {
				t.Fatalf("after login the registry lists %+v, want one session", list)
			}
			i := list[0]
			if i.Protocol != "pop3" || i.Address != ann || i.RemoteIP.String() != "127.0.0.1" || i.AppPassword != 0 {
				t.Errorf("registered as %+v", i)
			}
			tc.end(c)
			eventually(t, "leaving the registry", func() bool { return len(reg.List(annID)) == 0 })
		})
	}
}

// TestSignOutDuringRetr: ending a session in the middle of a long RETR to
// a client that stopped reading closes it within a second, and deletes
// nothing.
func TestSignOutDuringRetr(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 16<<10) // 16 MiB
	e.deliver(t, big)
	addr, reg := registeredServer(t, e)
	c := dialTLS(t, addr)
	c.readLine()
	c.login()
	c.expect("DELE 1", "+OK")
	c.expect("RETR 4", "+OK")
	time.Sleep(200 * time.Millisecond) // the server fills the socket buffers and blocks
	start := time.Now()
	if n := reg.SignOut(e.inbox.AccountID, 0); n != 1 {
		t.Fatalf("SignOut ended %d sessions, want 1", n)
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, c.r)
	d := time.Since(start)
	if n >= int64(len(big)) {
		t.Errorf("the whole message came (%d bytes, err %v): the session was not cut", n, err)
	}
	if d > time.Second {
		t.Errorf("connection closed %v after SignOut, want within 1s", d)
	}
	t.Logf("RETR cut after %d of %d bytes, %v after SignOut", n, len(big), d.Round(time.Microsecond))
	time.Sleep(100 * time.Millisecond)
	if got := len(e.messages(t)); got != 4 {
		t.Errorf("INBOX holds %d messages after the sign-out, want 4: a cut session deletes nothing", got)
	}
}
