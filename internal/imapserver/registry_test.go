package imapserver

import (
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/sessions"
)

// registeredServer starts an IMAPS listener on e's store that registers
// its sessions in the returned registry.
func registeredServer(t *testing.T, e *env) (string, *sessions.Registry) {
	t.Helper()
	reg := &sessions.Registry{}
	srv, err := New(Config{Mode: IMAPS, Hostname: hostname, TLS: newEnvTLS(t)},
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

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

// TestSessionRegistry: a session is registered once its login succeeds
// and leaves the registry however it ends.
func TestSessionRegistry(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	addr, reg := registeredServer(t, e)
	annID := e.inbox.AccountID
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + ann + "\x00" + annPassword))
	for _, tc := range []struct {
		name     string
		login    string
		register bool
		end      func(c *client)
	}{
		{"LOGIN, then LOGOUT", `LOGIN ` + ann + ` "ann's long password"`, true, func(c *client) { c.expect("LOGOUT", "OK") }},
		{"AUTHENTICATE PLAIN, then a dropped connection", "AUTHENTICATE PLAIN " + plain, true, func(c *client) { c.conn.Close() }},
		{"a wrong password", `LOGIN ` + ann + ` "not it"`, false, func(c *client) { c.expect("LOGOUT", "OK") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, true)
			c.readLine()
			_, status := c.cmd(tc.login)
			list := reg.List(annID)
			if !tc.register {
				if !strings.HasPrefix(status, "NO") || len(list) != 0 {
					t.Fatalf("login answered %q, registry %+v", status, list)
				}
				tc.end(c)
				return
			}
			if len(list) != 1 {
				t.Fatalf("after login (%q) the registry lists %+v, want one session", status, list)
			}
			if i := list[0]; i.Protocol != "imap" || i.Address != ann || i.RemoteIP.String() != "127.0.0.1" {
				t.Errorf("registered as %+v", i)
			}
			tc.end(c)
			eventually(t, "leaving the registry", func() bool { return len(reg.List(annID)) == 0 })
		})
	}
}

// TestSignOutEndsSession: ending a session closes it within a second
// whether it idles or is sending a large FETCH to a client that stopped
// reading.
func TestSignOutEndsSession(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 16<<10) // 16 MiB
	e.deliver(t, big)
	addr, reg := registeredServer(t, e)
	for _, tc := range []struct {
		name  string
		start func(c *client)
	}{
		{"IDLE", func(c *client) {
			c.send("i IDLE\r\n")
			if l := c.readLine(); !strings.HasPrefix(l, "+") {
				t.Fatalf("IDLE answered %q", l)
			}
		}},
		{"FETCH of 16 MiB", func(c *client) {
			c.send("f FETCH 4 BODY[]\r\n")
			c.readLine()
			time.Sleep(200 * time.Millisecond) // the server fills the socket buffers and blocks
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, true)
			c.readLine()
			c.expect(`LOGIN `+ann+` "ann's long password"`, "OK")
			c.expect("SELECT INBOX", "OK")
			tc.start(c)
			start := time.Now()
			if n := reg.SignOut(e.inbox.AccountID, 0); n != 1 {
				t.Fatalf("SignOut ended %d sessions, want 1", n)
			}
			c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := io.Copy(io.Discard, c.r)
			d := time.Since(start)
			if d > time.Second || n >= int64(len(big)) {
				t.Errorf("connection closed %v after SignOut (%d bytes, %v), want within 1s", d, n, err)
			}
			t.Logf("closed %v after SignOut, %d bytes after", d.Round(time.Microsecond), n)
		})
	}
}
