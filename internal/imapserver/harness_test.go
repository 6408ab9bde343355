package imapserver

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
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
	"From: Bob <bob@example.org>\r\nTo: ann@example.org\r\nSubject: one\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-Id: <1@example.org>\r\n\r\nHello Ann.\r\nThe word is giraffe.\r\n",
	"From: carol@example.org\r\nTo: ann@example.org\r\nSubject: two\r\nDate: Tue, 3 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nfirst part\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XX--\r\n",
	"Subject: three\r\n\r\nshort\r\n",
}

// env is a store with accounts and one listener per mode.
type env struct {
	st    store.Store
	acc   *account.Service
	inbox store.Mailbox
	addrs map[Mode]string
	srvs  map[Mode]*Server
}

func newEnv(t testing.TB, limits Limits, maxConns int) *env {
	t.Helper()
	return newEnvDeps(t, limits, maxConns, nil)
}

// newEnvDeps is newEnv with the listeners' Deps changed by with.
func newEnvDeps(t testing.TB, limits Limits, maxConns int, with func(*Deps)) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	if _, err := acc.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := acc.AddAccount(ctx, ann, annPassword, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, acc: acc, addrs: map[Mode]string{}, srvs: map[Mode]*Server{}}
	if e.inbox, err = st.GetMailbox(ctx, a.ID, "INBOX"); err != nil {
		t.Fatal(err)
	}
	for _, m := range testMessages {
		e.deliver(t, m)
	}
	// An earlier session has seen the test messages: they are not
	// \Recent, so that FLAGS answers stay short.
	if _, err := st.ClaimRecent(ctx, e.inbox.ID, uint32(len(testMessages))); err != nil {
		t.Fatal(err)
	}
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{hostname}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conns := connlimit.New(maxConns)
	hub := NewHub()
	for _, mode := range []Mode{IMAP, IMAPS} {
		deps := Deps{Store: st, Accounts: acc, Conns: conns, Hub: hub}
		if with != nil {
			with(&deps)
		}
		srv, err := New(Config{Mode: mode, Hostname: hostname, TLS: prov.Config(), Limits: limits, AllowShortIdle: true}, deps)
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
		e.addrs[mode], e.srvs[mode] = ln.Addr().String(), srv
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

// client is a raw IMAP client for tests: it sends exactly what it is told.
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	n    int
}

func dial(t testing.TB, addr string, useTLS bool) *client {
	t.Helper()
	var conn net.Conn
	var err error
	d := &net.Dialer{Timeout: 5 * time.Second}
	if useTLS {
		conn, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: hostname})
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// connect opens a session: "plain" (143 in the clear), "starttls" or
// "imaps", reads the greeting and, with login, logs ann in.
func (e *env) connect(t testing.TB, how string, login bool) *client {
	t.Helper()
	c := dial(t, e.addrs[map[bool]Mode{true: IMAPS, false: IMAP}[how == "imaps"]], how == "imaps")
	if g := c.readLine(); !strings.HasPrefix(g, "* OK [CAPABILITY ") || !strings.Contains(g, hostname) {
		t.Fatalf("greeting %q", g)
	}
	if how == "starttls" {
		c.expect("STARTTLS", "OK")
		c.upgrade()
	}
	if login {
		c.expect("LOGIN "+ann+" \"ann's long password\"", "OK")
	}
	return c
}

func (c *client) upgrade() {
	c.t.Helper()
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: hostname})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// readLine reads one line without its CRLF.
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

// readResponse reads one response, literals included inline.
func (c *client) readResponse() string {
	c.t.Helper()
	var b strings.Builder
	for range 1000 {
		line := c.readLine()
		b.WriteString(line)
		i := strings.LastIndexByte(line, '{')
		if i < 0 || !strings.HasSuffix(line, "}") {
			return b.String()
		}
		n, err := strconv.Atoi(strings.TrimSuffix(line[i+1:len(line)-1], "+"))
		if err != nil {
			return b.String()
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			c.t.Fatal(err)
		}
		b.WriteString("\r\n")
		b.Write(buf)
	}
	c.t.Fatal("endless response")
	return ""
}

// cmd sends a tagged command and returns the untagged responses and the
// tagged status without its tag.
func (c *client) cmd(line string) (untagged []string, status string) {
	c.t.Helper()
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	c.send(tag + " " + line + "\r\n")
	return c.collect(tag)
}

func (c *client) collect(tag string) (untagged []string, status string) {
	c.t.Helper()
	for range 100000 {
		r := c.readResponse()
		if strings.HasPrefix(r, tag+" ") {
			return untagged, strings.TrimPrefix(r, tag+" ")
		}
		untagged = append(untagged, r)
	}
	c.t.Fatal("no tagged response")
	return nil, ""
}

// expect sends a command and requires the status to start with want.
func (c *client) expect(line, want string) []string {
	c.t.Helper()
	u, st := c.cmd(line)
	if !strings.HasPrefix(st, want) {
		c.t.Fatalf("%q: got %q, want %q... (untagged %q)", line, st, want, u)
	}
	return u
}

// closed requires the server to have closed the connection.
func (c *client) closed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 100 {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return
		}
		if !strings.HasPrefix(line, "* ") {
			c.t.Fatalf("connection still open: read %q", line)
		}
	}
}

func newEnvTLS(t testing.TB) *tls.Config {
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{hostname}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return prov.Config()
}
