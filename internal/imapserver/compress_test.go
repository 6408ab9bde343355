package imapserver

import (
	"bufio"
	"bytes"
	"compress/flate"
	"strings"
	"testing"
	"time"
)

// compressed switches a test client to COMPRESS=DEFLATE after the OK.
func (c *client) compressed() {
	c.t.Helper()
	c.expect("COMPRESS DEFLATE", "OK")
	dc := newDeflateConn(c.conn)
	c.conn, c.r = dc, bufio.NewReader(dc)
}

func TestCompress(t *testing.T) {
	e := newEnv(t, Limits{PollInterval: 5 * time.Second}, 0)
	big := "Subject: big\r\n\r\n" + strings.Repeat("All work and no play makes Jack a dull boy.\r\n", 3000)
	e.deliver(t, big)
	for _, how := range []string{"imaps", "starttls"} {
		t.Run(how, func(t *testing.T) {
			c := e.connect(t, how, true)
			if u := c.expect("CAPABILITY", "OK"); !strings.Contains(u[0], " COMPRESS=DEFLATE") {
				t.Errorf("capabilities %q", u)
			}
			c.expect("COMPRESS FOO", "BAD")
			c.compressed()
			c.expect("COMPRESS DEFLATE", "NO [COMPRESSIONACTIVE]")
			if u := c.expect("SELECT INBOX", "OK"); !contains(u, "* 4 EXISTS") {
				t.Errorf("SELECT: %q", u)
			}
			u := c.expect("FETCH 4 BODY.PEEK[]", "OK")
			if len(u) != 1 || !strings.HasSuffix(u[0], big+")") {
				t.Errorf("FETCH of the big message: %d responses, %d bytes", len(u), len(strings.Join(u, "")))
			}
			// A literal and its continuation request, both ways compressed.
			c.send("a1 APPEND INBOX {8}\r\n")
			if l := c.readLine(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("APPEND continuation: %q", l)
			}
			c.send("x: y\r\n\r\n\r\n")
			if _, st := c.collect("a1"); !strings.HasPrefix(st, "OK") {
				t.Fatalf("APPEND: %q", st)
			}
			c.expect("NOOP", "OK")
			// IDLE over compression: a change by another session arrives
			// at once, in its own flushed burst.
			c.send("i1 IDLE\r\n")
			if l := c.readLine(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("IDLE: %q", l)
			}
			other := e.connect(t, "imaps", true)
			other.expect("SELECT INBOX", "OK")
			other.expect(`STORE 1 +FLAGS (\Flagged)`, "OK")
			c.conn.SetReadDeadline(time.Now().Add(time.Second))
			if l := c.readLine(); !strings.HasPrefix(l, "* 1 FETCH") || !strings.Contains(l, `\Flagged`) {
				t.Errorf("while idling: %q", l)
			}
			other.expect(`STORE 1 -FLAGS (\Flagged)`, "OK")
			c.readLine()
			c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			c.send("DONE\r\n")
			if _, st := c.collect("i1"); !strings.HasPrefix(st, "OK") {
				t.Errorf("DONE: %q", st)
			}
			c.expect(`UID STORE 5 +FLAGS (\Deleted)`, "OK")
			c.expect("EXPUNGE", "OK")
			u, st := c.cmd("LOGOUT")
			if !strings.HasPrefix(st, "OK") || !contains(u, "* BYE") {
				t.Errorf("LOGOUT: %q %q", u, st)
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// TestCompressPipelined sends a command compressed in the same write as
// COMPRESS itself, as a client that does not wait for the OK would: the
// server must take those bytes as compressed.
func TestCompressPipelined(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "imaps", true)
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	fw.Write([]byte("p1 NOOP\r\n"))
	fw.Flush()
	c.send("c1 COMPRESS DEFLATE\r\n" + z.String())
	if _, st := c.collect("c1"); !strings.HasPrefix(st, "OK") {
		t.Fatalf("COMPRESS: %q", st)
	}
	r := flate.NewReader(c.r)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "p1 OK") {
		t.Fatalf("pipelined NOOP: %q, %v", line, err)
	}
}

// TestCompressNotBeforeLogin: COMPRESS is a command of the authenticated
// state (RFC 4978 §5, command-auth).
func TestCompressNotBeforeLogin(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "imaps", false)
	c.expect("COMPRESS DEFLATE", "BAD")
	c.expect("NOOP", "OK")
}
