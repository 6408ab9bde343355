package smtpserver

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/connlimit"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/smtp"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/store/storetest"
	"sealpost.dev/sealpost/internal/tlsconf"
)

const (
	annPassword = "ann's long password"
	hostname    = "mail.example.org"
)

// env is a store with accounts and a listener per mode.
type env struct {
	st    store.Store
	acc   *account.Service
	addrs map[Mode]string
	srvs  map[Mode]*Server
}

func newEnv(t testing.TB, limits Limits, maxConns int) *env {
	t.Helper()
	return newEnvWith(t, limits, maxConns, nil)
}

// newEnvWith is newEnv with a chance to change the account service and the
// pipeline before the listeners serve.
func newEnvWith(t testing.TB, limits Limits, maxConns int, setup func(*account.Service, *delivery.Pipeline)) *env {
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
	must(acc.AddAccount(ctx, "ann@example.org", annPassword, 0))
	must(acc.AddAccount(ctx, "bob@example.org", "bob's long password", 0))
	must(acc.AddAlias(ctx, "sales@example.org", []string{"ann@example.org"}))
	must(acc.AddAlias(ctx, "@example.org", []string{"bob@example.org"}))
	must(acc.AddDomain(ctx, "example.net"))
	must(acc.AddAccount(ctx, "carl@example.net", "carl's long password", 0))
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{hostname}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, acc: acc, addrs: map[Mode]string{}, srvs: map[Mode]*Server{}}
	pipeline := &delivery.Pipeline{Store: st, Accounts: acc}
	if setup != nil {
		setup(acc, pipeline)
	}
	conns := connlimit.New(maxConns)
	for _, mode := range []Mode{MX, Submission, Submissions} {
		srv, err := New(Config{Mode: mode, Hostname: hostname, TLS: prov.Config(), Limits: limits, SpoolDir: t.TempDir()},
			Deps{Store: st, Accounts: acc, Pipeline: pipeline, Conns: conns})
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

// client is a raw SMTP client for tests: it sends exactly what it is told.
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
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	return c
}

// dialTLS connects to the implicit-TLS listener.
func dialTLS(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: hostname})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// send writes raw bytes.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one reply.
func (c *client) read() (int, string) {
	c.t.Helper()
	r, lines, err := smtp.ReadReply(c.r)
	if err != nil {
		c.t.Fatalf("reading a reply: %v", err)
	}
	_ = lines
	return r.Code, fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
}

// cmd sends a command line and returns the reply.
func (c *client) cmd(line string) (int, string) {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.read()
}

// expect sends a command and requires the reply code.
func (c *client) expect(line string, code int) string {
	c.t.Helper()
	got, text := c.cmd(line)
	if got != code {
		c.t.Fatalf("%q: got %q, want %d", line, text, code)
	}
	return text
}

// greet reads the greeting and says EHLO.
func (c *client) greet() string {
	c.t.Helper()
	if code, text := c.read(); code != 220 {
		c.t.Fatalf("greeting %q", text)
	}
	return c.expect("EHLO client.example", 250)
}

// startTLS upgrades the connection.
func (c *client) startTLS() {
	c.t.Helper()
	c.expect("STARTTLS", 220)
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: hostname})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// login authenticates with AUTH PLAIN and an initial response.
func (c *client) login(user, password string) (int, string) {
	c.t.Helper()
	return c.cmd("AUTH PLAIN " + plainResponse(user, password))
}

func plainResponse(user, password string) string {
	return b64("\x00" + user + "\x00" + password)
}

// inbox returns the stored bodies in an account's INBOX.
func (e *env) inbox(t *testing.T, addr string) []string {
	t.Helper()
	return storetest.MailboxBodies(t, e.st, addr, "INBOX")
}

func (e *env) queue(t *testing.T) []store.QueueItem {
	t.Helper()
	items, err := e.st.ListQueue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func fmtInt(n int) string { return strconv.Itoa(n) }

func storeLogQuery() store.LogQuery { return store.LogQuery{Kind: "login"} }

// tlsClient upgrades c after the server's 220 to STARTTLS.
func tlsClient(t *testing.T, c *client) *client {
	t.Helper()
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: hostname})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return &client{t: t, conn: tc, r: bufio.NewReader(tc)}
}
