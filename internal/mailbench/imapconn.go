package mailbench

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Security is how an IMAP connection is protected.
type Security string

// The kinds of IMAP connection mailbench opens. Certificates are never
// checked: test servers use self-signed ones.
const (
	ImplicitTLS Security = "tls"      // TLS from the first byte (IMAPS, RFC 8314)
	StartTLS    Security = "starttls" // STARTTLS (RFC 9051 section 6.2.1) before LOGIN
	Plain       Security = "plain"    // no TLS at all
)

func (s Security) valid() bool { return s == ImplicitTLS || s == StartTLS || s == Plain }

// maxLiteral bounds one literal in a response, so a broken server cannot
// make mailbench allocate without end.
const maxLiteral = 64 << 20

// imapError is a tagged NO or BAD response.
type imapError struct {
	status string // "NO" or "BAD"
	text   string
}

func (e *imapError) Error() string { return e.status + " " + e.text }

// imapConn is one client connection: commands are sent one at a time, each
// with its own tag, and the whole response up to the tagged status line is
// read before the next is sent.
type imapConn struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	tag     int
	timeout time.Duration
}

// dialIMAP connects to addr from local (nil for any), reads the greeting
// and, for StartTLS, upgrades the connection. Every step is bounded by
// timeout.
func dialIMAP(ctx context.Context, addr string, local net.Addr, sec Security, timeout time.Duration) (*imapConn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: local}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &stepError{"connect", err}
	}
	host, _, _ := net.SplitHostPort(addr)
	tcfg := &tls.Config{InsecureSkipVerify: true, ServerName: host} // #nosec: test servers are self-signed
	if sec == ImplicitTLS {
		conn = tls.Client(conn, tcfg)
	}
	c := newIMAPConn(conn, timeout)
	line, err := c.readLine()
	if err != nil {
		conn.Close()
		return nil, &stepError{"greeting", err}
	}
	if !strings.HasPrefix(line, "* OK") && !strings.HasPrefix(line, "* PREAUTH") {
		conn.Close()
		return nil, &stepError{"greeting", fmt.Errorf("greeting %q", line)}
	}
	if sec == StartTLS {
		if _, err := c.command("STARTTLS"); err != nil {
			conn.Close()
			return nil, &stepError{"tls", err}
		}
		tc := tls.Client(conn, tcfg)
		tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, &stepError{"tls", err}
		}
		*c = *newIMAPConn(tc, timeout)
	}
	return c, nil
}

func newIMAPConn(conn net.Conn, timeout time.Duration) *imapConn {
	return &imapConn{conn: conn, r: bufio.NewReaderSize(conn, 32<<10), w: bufio.NewWriter(conn), timeout: timeout}
}

// login sends LOGIN with both arguments as quoted strings.
func (c *imapConn) login(user, password string) error {
	u, err := quote(user)
	if err != nil {
		return &stepError{"auth", err}
	}
	p, err := quote(password)
	if err != nil {
		return &stepError{"auth", err}
	}
	if _, err := c.command("LOGIN " + u + " " + p); err != nil {
		return &stepError{"auth", err}
	}
	return nil
}

// quote returns s as an IMAP quoted string (RFC 9051 section 4.3).
func quote(s string) (string, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "", errors.New("a quoted string cannot hold CR, LF or NUL")
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`, nil
}

// command sends one tagged command and returns the untagged responses that
// came before its tagged status, each with its literals inlined. A NO or
// BAD status is an *imapError.
func (c *imapConn) command(cmd string) ([]string, error) {
	tag, err := c.send(cmd)
	if err != nil {
		return nil, err
	}
	return c.readUntil(tag)
}

func (c *imapConn) send(cmd string) (string, error) {
	c.tag++
	tag := "m" + strconv.Itoa(c.tag)
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.w.WriteString(tag + " " + cmd + "\r\n"); err != nil {
		return "", err
	}
	return tag, c.w.Flush()
}

// readUntil reads responses until the status line tagged tag.
func (c *imapConn) readUntil(tag string) ([]string, error) {
	var untagged []string
	for {
		resp, err := c.readResponse()
		if err != nil {
			return untagged, err
		}
		rest, ok := strings.CutPrefix(resp, tag+" ")
		if !ok {
			untagged = append(untagged, resp)
			continue
		}
		status, text, _ := strings.Cut(rest, " ")
		switch strings.ToUpper(status) {
		case "OK":
			return untagged, nil
		case "NO", "BAD":
			return untagged, &imapError{strings.ToUpper(status), text}
		default:
			return untagged, fmt.Errorf("unexpected status line %q", resp)
		}
	}
}

// readResponse reads one response line, with the literals it announces
// ("{N}" or "{N+}" at the end of a line) read and inlined.
func (c *imapConn) readResponse() (string, error) {
	var b strings.Builder
	for {
		line, err := c.readLine()
		if err != nil {
			return "", err
		}
		b.WriteString(line)
		n, ok := literalSize(line)
		if !ok {
			return b.String(), nil
		}
		if n > maxLiteral {
			return "", fmt.Errorf("literal of %d octets", n)
		}
		b.WriteString("\r\n")
		if _, err := io.CopyN(&b, c.r, n); err != nil {
			return "", err
		}
	}
}

// literalSize reports whether line ends by announcing a literal, and its size.
func literalSize(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	num := strings.TrimSuffix(line[i+1:len(line)-1], "+")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// readLine reads one line without its CRLF, refreshing the deadline: a
// long response is bounded per line, not as a whole.
func (c *imapConn) readLine() (string, error) {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// idle sends IDLE (RFC 2177) and waits for the server's continuation.
// The connection's deadline is cleared: it is meant to be held.
func (c *imapConn) idle() (string, error) {
	tag, err := c.send("IDLE")
	if err != nil {
		return "", err
	}
	for {
		line, err := c.readResponse()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(line, "+") {
			c.conn.SetDeadline(time.Time{})
			return tag, nil
		}
		if strings.HasPrefix(line, tag+" ") {
			return "", fmt.Errorf("IDLE refused: %q", line)
		}
	}
}

// done ends an IDLE started with tag.
func (c *imapConn) done(tag string) error {
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.w.WriteString("DONE\r\n"); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	_, err := c.readUntil(tag)
	return err
}

// logout sends LOGOUT and closes the connection whatever the answer.
func (c *imapConn) logout() error {
	_, err := c.command("LOGOUT")
	c.conn.Close()
	return err
}

// fetchUIDs returns the UIDs named in FETCH responses, in order.
func fetchUIDs(untagged []string) []uint32 {
	var uids []uint32
	for _, r := range untagged {
		if !strings.HasPrefix(r, "* ") || !strings.Contains(r, " FETCH (") {
			continue
		}
		// Items come in the server's order; UID is looked for as an item
		// name, after "(" or a space, not inside a quoted string's text.
		items := r[strings.Index(r, " FETCH (")+7:]
		i := strings.Index(items, "(UID ")
		if j := strings.Index(items, " UID "); i < 0 || (j >= 0 && j < i) {
			i = j
		}
		if i < 0 {
			continue
		}
		rest := items[i+5:]
		end := strings.IndexFunc(rest, func(c rune) bool { return c < '0' || c > '9' })
		if end < 0 {
			end = len(rest)
		}
		if n, err := strconv.ParseUint(rest[:end], 10, 32); err == nil {
			uids = append(uids, uint32(n))
		}
	}
	return uids
}
