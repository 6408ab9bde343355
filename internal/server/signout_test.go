package server

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/sessions"
)

// python is the interpreter with the standard library's mail clients.
const python = "/usr/bin/python3"

// clientScript drives real IMAP, POP3 and SMTP clients; see its doc.
type clientScript struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	lines chan string
	err   lockedBuffer
}

// lockedBuffer collects the script's standard error while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startClients(t *testing.T, args ...string) *clientScript {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is needed: %v", python, err)
		}
		t.Skipf("%s not installed", python)
	}
	c := &clientScript{t: t, lines: make(chan string, 16)}
	c.cmd = exec.CommandContext(t.Context(), python, append([]string{"testdata/signout_clients.py"}, args...)...)
	c.cmd.Stderr = &c.err
	stdin, err := c.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdin = stdin
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
	return c
}

// next returns the script's next line, failing the test on a timeout or
// an early exit.
func (c *clientScript) next(within time.Duration) string {
	c.t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			c.t.Fatalf("client script ended early:\n%s", c.err.String())
		}
		return line
	case <-time.After(within):
		c.t.Fatalf("no word from the client script within %v:\n%s", within, c.err.String())
	}
	return ""
}

func (c *clientScript) expect(want string) {
	c.t.Helper()
	if got := c.next(30 * time.Second); got != want {
		c.t.Fatalf("client script said %q, want %q\n%s", got, want, c.err.String())
	}
}

func (c *clientScript) proceed() {
	c.t.Helper()
	if _, err := c.stdin.Write([]byte("go\n")); err != nil {
		c.t.Fatal(err)
	}
}

func port(t *testing.T, a net.Addr) string {
	t.Helper()
	if a == nil {
		t.Fatal("listener not started")
	}
	return fmt.Sprint(a.(*net.TCPAddr).Port)
}

func protocols(infos []sessions.Info) []string {
	var ps []string
	for _, i := range infos {
		ps = append(ps, i.Protocol)
	}
	slices.Sort(ps)
	return ps
}

// TestSignOutEndsLiveSessions is the acceptance test of "sign out all
// other sessions": with real clients on loopback, account A has an IMAP
// session to keep, an IMAP session in IDLE, a POP3 session waiting for a
// command and an SMTP submission session in the middle of DATA; account B
// has an IMAP session. Signing A out but the kept session closes the other
// three within a second each and leaves the kept one and B's alone.
func TestSignOutEndsLiveSessions(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	cfg.Listeners.POP3S = "127.0.0.1:0"
	cfg.Listeners.Submissions = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	const password = "correct horse battery staple"
	a, err := srv.Accounts().AddAccount(ctx, "ana@example.org", password, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := srv.Accounts().AddAccount(ctx, "bo@example.org", password, 0)
	if err != nil {
		t.Fatal(err)
	}
	reg := srv.Sessions()
	addrs := srv.Addrs()
	c := startClients(t, port(t, addrs["imaps"]), port(t, addrs["pop3s"]), port(t, addrs["submissions"]),
		a.Address, b.Address, password)

	c.expect("kept")
	listed := reg.List(a.ID)
	if len(listed) != 1 || listed[0].Protocol != "imap" {
		t.Fatalf("after one IMAP login, A's sessions are %+v", listed)
	}
	kept := listed[0]
	if kept.Address != a.Address || kept.RemoteIP.String() != "127.0.0.1" || kept.AppPassword != 0 {
		t.Errorf("kept session registered as %+v", kept)
	}
	c.proceed()
	c.expect("ready")
	if got, want := protocols(reg.List(a.ID)), []string{"imap", "imap", "pop3", "smtp"}; !slices.Equal(got, want) {
		t.Fatalf("A's sessions: %v, want %v", got, want)
	}
	for _, i := range reg.List(a.ID) {
		if i.Protocol == "smtp" && i.Client != "client.example" {
			t.Errorf("SMTP session's client %q, want the EHLO name", i.Client)
		}
	}
	if got := protocols(reg.List(b.ID)); !slices.Equal(got, []string{"imap"}) {
		t.Fatalf("B's sessions: %v, want one IMAP", got)
	}

	c.proceed()
	start := time.Now()
	if n := reg.SignOut(a.ID, kept.ID); n != 3 {
		t.Errorf("SignOut ended %d sessions, want 3", n)
	}
	if got := reg.List(a.ID); len(got) != 1 || got[0].ID != kept.ID {
		t.Errorf("after SignOut A's sessions are %+v, want only the kept one", got)
	}
	closed := map[string]time.Duration{}
	for range 3 {
		line := c.next(10 * time.Second)
		name, ok := strings.CutPrefix(line, "closed ")
		if !ok {
			t.Fatalf("client script said %q, want a closed session\n%s", line, c.err.String())
		}
		closed[name] = time.Since(start)
	}
	for _, name := range []string{"imap-idle", "pop3", "smtp-data"} {
		d, ok := closed[name]
		switch {
		case !ok:
			t.Errorf("%s session not closed", name)
		case d > time.Second:
			t.Errorf("%s session closed after %v, want within 1s", name, d)
		default:
			t.Logf("%s session closed %v after SignOut", name, d.Round(time.Microsecond))
		}
	}
	c.expect("alive imap-kept")
	c.expect("alive imap-b")
	c.expect("done")

	// Sessions that end by themselves leave the registry.
	deadline := time.Now().Add(5 * time.Second)
	for len(reg.List(a.ID))+len(reg.List(b.ID)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after logout the registry still lists %+v and %+v", reg.List(a.ID), reg.List(b.ID))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
