package smtpserver

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/tlsconf"
)

// registeredServers starts an MX and a submissions listener on e's store
// that both have the returned registry.
func registeredServers(t *testing.T, e *env) (map[Mode]string, *sessions.Registry) {
	t.Helper()
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{hostname}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := &sessions.Registry{}
	addrs := map[Mode]string{}
	for _, mode := range []Mode{MX, Submissions} {
		srv, err := New(Config{Mode: mode, Hostname: hostname, TLS: prov.Config(), SpoolDir: t.TempDir()},
			Deps{Store: e.st, Accounts: e.acc, Pipeline: &delivery.Pipeline{Store: e.st, Accounts: e.acc}, Sessions: reg})
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
		addrs[mode] = ln.Addr().String()
	}
	return addrs, reg
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

// TestSessionRegistry: a submission session is registered once AUTH
// succeeds, with its EHLO name as the client, and leaves the registry when
// it ends; a failed AUTH and MX sessions are not registered.
func TestSessionRegistry(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	addrs, reg := registeredServers(t, e)
	ann, err := e.st.GetAccount(t.Context(), "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := e.st.GetAccount(t.Context(), "bob@example.org")
	t.Run("submission", func(t *testing.T) {
		c := dialTLS(t, addrs[Submissions])
		c.greet()
		if code, text := c.login("ann@example.org", "wrong password"); code != 535 || len(reg.List(ann.ID)) != 0 {
			t.Fatalf("failed AUTH: %q, registry %+v", text, reg.List(ann.ID))
		}
		if code, text := c.login("ann@example.org", annPassword); code != 235 {
			t.Fatalf("AUTH: %q", text)
		}
		list := reg.List(ann.ID)
		if len(list) != 1 {
			t.Fatalf("after AUTH the registry lists %+v, want one session", list)
		}
		if i := list[0]; i.Protocol != "smtp" || i.Client != "client.example" || i.Address != "ann@example.org" || i.RemoteIP.String() != "127.0.0.1" {
			t.Errorf("registered as %+v", i)
		}
		c.expect("QUIT", 221)
		eventually(t, "leaving the registry", func() bool { return len(reg.List(ann.ID)) == 0 })
	})
	t.Run("MX", func(t *testing.T) {
		c := dial(t, addrs[MX])
		c.greet()
		c.expect("MAIL FROM:<someone@elsewhere.example>", 250)
		c.expect("RCPT TO:<ann@example.org>", 250)
		c.expect("DATA", 354)
		if code, text := c.cmd("Subject: hi\r\n\r\nhello\r\n."); code != 250 {
			t.Fatalf("DATA: %q", text)
		}
		if l := append(reg.List(ann.ID), reg.List(bob.ID)...); len(l) != 0 {
			t.Errorf("an MX session is registered: %+v", l)
		}
		c.expect("QUIT", 221)
	})
}

// TestSignOutDuringData: ending a submission session in the middle of DATA
// closes it within a second, and the half message is not delivered.
func TestSignOutDuringData(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	addrs, reg := registeredServers(t, e)
	ann, _ := e.st.GetAccount(t.Context(), "ann@example.org")
	c := dialTLS(t, addrs[Submissions])
	c.greet()
	if code, text := c.login("ann@example.org", annPassword); code != 235 {
		t.Fatalf("AUTH: %q", text)
	}
	c.expect("MAIL FROM:<ann@example.org>", 250)
	c.expect("RCPT TO:<bob@example.org>", 250)
	c.expect("DATA", 354)
	c.send("Subject: half\r\n\r\n" + strings.Repeat("line\r\n", 10000))
	start := time.Now()
	if n := reg.SignOut(ann.ID, 0); n != 1 {
		t.Fatalf("SignOut ended %d sessions, want 1", n)
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c.r)
	if d := time.Since(start); d > time.Second || len(got) > 0 {
		t.Errorf("connection closed %v after SignOut (read %q, %v), want within 1s and no reply", d, got, err)
	}
	time.Sleep(100 * time.Millisecond)
	if bodies := e.inbox(t, "bob@example.org"); len(bodies) != 0 {
		t.Errorf("bob received %d messages from a cut DATA", len(bodies))
	}
	if q := e.queue(t); len(q) != 0 {
		t.Errorf("a cut DATA queued %d messages", len(q))
	}
}
