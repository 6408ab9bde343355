package pop3

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/connlimit"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/tlsconf"
)

const (
	ann         = "ann@example.org"
	annPassword = "ann's long password"
	hostname    = "mail.example.org"
)

// The messages every test INBOX starts with, in UID order.
var testMessages = []string{
	// Lines starting with "." must be stuffed.
	"From: bob@example.org\r\nTo: ann@example.org\r\nSubject: one\r\n\r\nHello.\r\n.dot line\r\n..two dots\r\n.\r\nlast\r\n",
	"Subject: two\r\n\r\nline1\r\nline2\r\nline3\r\nline4\r\n",
	// Bare LF line ends and no final line end, as an import might store.
	"Subject: three\n\nbare lf\nno end",
}

// env is a store with accounts and one listener per mode.
type env struct {
	st    store.Store
	acc   *account.Service
	inbox store.Mailbox
	addrs map[Mode]string
	srvs  map[Mode]*Server
	lns   map[Mode]net.Listener
}

func newEnv(t testing.TB, limits Limits, maxConns int) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(acc.AddDomain(ctx, "example.org"))
	a, err := acc.AddAccount(ctx, ann, annPassword, 0)
	must(a, err)
	must(acc.AddAccount(ctx, "bob@example.org", "bob's long password", 0))
	e := &env{st: st, acc: acc, addrs: map[Mode]string{}, srvs: map[Mode]*Server{}, lns: map[Mode]net.Listener{}}
	if e.inbox, err = st.GetMailbox(ctx, a.ID, "INBOX"); err != nil {
		t.Fatal(err)
	}
	for _, m := range testMessages {
		e.deliver(t, m)
	}
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{hostname}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conns := connlimit.New(maxConns)
	for _, mode := range []Mode{POP3, POP3S} {
		srv, err := New(Config{Mode: mode, Hostname: hostname, TLS: prov.Config(), Limits: limits},
			Deps{Store: st, Accounts: acc, Conns: conns})
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
		e.addrs[mode], e.srvs[mode], e.lns[mode] = ln.Addr().String(), srv, ln
	}
	return e
}

// deliver puts a message into ann's INBOX.
func (e *env) deliver(t testing.TB, body string) store.Message {
	t.Helper()
	ms, err := e.st.Deliver(t.Context(), strings.NewReader(body), []store.Target{{MailboxID: e.inbox.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0]
}

// messages returns what ann's INBOX holds now.
func (e *env) messages(t *testing.T) []store.Message {
	t.Helper()
	ms, err := e.st.ListMessages(t.Context(), e.inbox.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// client is a raw POP3 client for tests: it sends exactly what it is told.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func dialTLS(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: hostname})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// connect opens a session as a test case asks: on POP3 in the clear, on
// POP3 after STLS, or on POP3S; then it reads the greeting.
func (e *env) connect(t *testing.T, how string) *client {
	t.Helper()
	var c *client
	switch how {
	case "plain", "stls":
		c = dial(t, e.addrs[POP3])
	case "pop3s":
		c = dialTLS(t, e.addrs[POP3S])
	default:
		t.Fatalf("connect %q", how)
	}
	if got := c.readLine(); !strings.HasPrefix(got, "+OK "+hostname+" Sealpost") {
		t.Fatalf("greeting %q", got)
	}
	if how == "stls" {
		c.startTLS()
	}
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// readLine reads one line without its CRLF, failing on a bare LF.
func (c *client) readLine() string {
	c.t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("reading a line: %v (after %q)", err, line)
	}
	if !strings.HasSuffix(line, "\r\n") {
		c.t.Fatalf("line %q does not end in CRLF", line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// cmd sends a command and returns the status line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.readLine()
}

// readMulti reads the lines of a multi-line response up to and including
// the terminating ".".
func (c *client) readMulti() []string {
	c.t.Helper()
	var lines []string
	for range 100000 {
		l := c.readLine()
		lines = append(lines, l)
		if l == "." {
			return lines
		}
	}
	c.t.Fatal("no end to a multi-line response")
	return nil
}

// expect sends a command and requires the status line to start with want.
func (c *client) expect(line, want string) string {
	c.t.Helper()
	got := c.cmd(line)
	if !strings.HasPrefix(got, want) {
		c.t.Fatalf("%q: got %q, want %q...", line, got, want)
	}
	return got
}

func (c *client) startTLS() {
	c.t.Helper()
	c.expect("STLS", "+OK")
	c.upgrade()
}

// upgrade runs the client side of the TLS handshake.
func (c *client) upgrade() {
	c.t.Helper()
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: hostname})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// login logs ann in with USER and PASS.
func (c *client) login() {
	c.t.Helper()
	c.expect("USER "+ann, "+OK")
	c.expect("PASS "+annPassword, "+OK")
}

// closed requires the server to have closed the connection.
func (c *client) closed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := c.r.ReadString('\n'); err == nil {
		c.t.Fatalf("connection still open: read %q", line)
	}
}

func plainResponse(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
}
