package smtpserver

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/connlimit"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/greylist"
	"sealpost.dev/sealpost/internal/tlsconf"
)

// testClock is a settable clock for the greylist.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// greylistMX starts an MX listener over e's store with gl as its
// greylist, and returns its address.
func greylistMX(t *testing.T, e *env, gl Greylister) string {
	t.Helper()
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{hostname}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Mode: MX, Hostname: hostname, TLS: prov.Config(), SpoolDir: t.TempDir()},
		Deps{Store: e.st, Accounts: e.acc, Pipeline: &delivery.Pipeline{Store: e.st, Accounts: e.acc}, Conns: connlimit.New(0), Greylist: gl})
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
	return ln.Addr().String()
}

// TestGreylistSession: a first attempt over SMTP is answered 451 4.7.1 with
// the time to wait, a retry too soon again 451, and a retry after the
// delay is accepted and delivered; unknown recipients are refused first,
// and the 451s do not count as client errors.
func TestGreylistSession(t *testing.T) {
	e := newEnv(t, Limits{MaxErrors: 3}, 0)
	clk := &testClock{now: time.Now().Truncate(time.Second)}
	gl := greylist.New(e.st, greylist.Options{Delay: 5 * time.Minute, Now: clk.Now})
	addr := greylistMX(t, e, gl)

	c := dial(t, addr)
	c.greet()
	c.expect("MAIL FROM:<sender@remote.example>", 250)
	if text := c.expect("RCPT TO:<nobody@example.net>", 550); !strings.Contains(text, "5.1.1") {
		t.Errorf("unknown recipient: %q", text)
	}
	if text := c.expect("RCPT TO:<ann@example.org>", 451); !strings.Contains(text, "4.7.1") || !strings.Contains(text, "300 seconds") {
		t.Errorf("first attempt: %q", text)
	}
	for range 5 { // more than MaxErrors: greylisting is not the client's error
		clk.advance(time.Second)
		c.expect("RCPT TO:<ann@example.org>", 451)
	}
	c.expect("DATA", 554) // no valid recipients
	c.expect("QUIT", 221)

	clk.advance(5 * time.Minute)
	c = dial(t, addr)
	c.greet()
	c.expect("MAIL FROM:<sender@remote.example>", 250)
	c.expect("RCPT TO:<ann@example.org>", 250)
	// The network passed: another recipient is not greylisted now.
	c.expect("RCPT TO:<carl@example.net>", 250)
	c.expect("DATA", 354)
	c.send("From: sender@remote.example\r\nSubject: retried\r\n\r\nHello after waiting.\r\n.\r\n")
	if code, text := c.read(); code != 250 {
		t.Fatalf("DATA: %q", text)
	}
	c.expect("QUIT", 221)
	if got := e.inbox(t, "ann@example.org"); len(got) != 1 || !strings.Contains(got[0], "Hello after waiting.") {
		t.Errorf("inbox %q", got)
	}
}

// TestGreylistFailsOpen: when the greylist cannot decide, the recipient is
// accepted.
func TestGreylistFailsOpen(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	addr := greylistMX(t, e, failingGreylist{})
	c := dial(t, addr)
	c.greet()
	c.expect("MAIL FROM:<>", 250)
	c.expect("RCPT TO:<ann@example.org>", 250)
}

// TestGreylistOnlyMX: submission listeners never greylist.
func TestGreylistOnlyMX(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	e.srvs[Submissions].greylist = failingGreylist{refuse: true}
	c := dialTLS(t, e.addrs[Submissions])
	c.greet()
	c.login("ann@example.org", annPassword)
	c.expect("MAIL FROM:<ann@example.org>", 250)
	c.expect("RCPT TO:<bob@example.org>", 250)
}

type failingGreylist struct{ refuse bool }

func (f failingGreylist) CheckRequest(context.Context, greylist.Request) (bool, time.Duration, error) {
	if f.refuse {
		return false, time.Minute, nil
	}
	return false, 0, errors.New("store down")
}

// greylistScript sends one message with Python's smtplib, an SMTP client
// that is not ours, and prints the refused recipients' replies, or "sent".
const greylistScript = `
import smtplib, sys
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.SMTP(host, int(port), timeout=20)
try:
    s.sendmail("news@remote.example", ["ann@example.org"], "Subject: hi\r\n\r\nGreetings from Python.\r\n")
    print("sent")
except smtplib.SMTPRecipientsRefused as e:
    for rcpt, (code, msg) in e.recipients.items():
        print(rcpt, code, msg.decode())
s.quit()
`

// TestGreylistSmtplib: Python's smtplib is told 451 4.7.1 on its first
// attempt and gets through after the delay.
func TestGreylistSmtplib(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("/usr/bin/python3 is missing (scripts/install-test-deps.sh installs it)")
		}
		t.Skip("/usr/bin/python3 is missing")
	}
	e := newEnv(t, Limits{}, 0)
	clk := &testClock{now: time.Now().Truncate(time.Second)}
	addr := greylistMX(t, e, greylist.New(e.st, greylist.Options{Now: clk.Now}))
	send := func() string {
		out, err := exec.Command(python, "-c", greylistScript, addr).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out := send(); !strings.HasPrefix(out, "ann@example.org 451 4.7.1 greylisted") {
		t.Fatalf("first attempt: %q", out)
	}
	clk.advance(greylist.DefaultDelay)
	if out := send(); out != "sent" {
		t.Fatalf("retry: %q", out)
	}
	if got := e.inbox(t, "ann@example.org"); len(got) != 1 || !strings.Contains(got[0], "Greetings from Python.") {
		t.Errorf("inbox %q", got)
	}
}
