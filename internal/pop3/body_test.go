package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// wantBody is copyBody's specification in its plainest form, for bodies
// small enough to hold: CRLF and LF end lines, a last line without an end
// gets one, lines starting with "." get another, and TOP keeps the header,
// the blank line and bodyLines lines.
func wantBody(body string, bodyLines int) string {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var b strings.Builder
	header := true
	for _, l := range lines {
		if !header {
			if bodyLines == 0 {
				break
			}
			bodyLines--
		}
		if l == "" {
			header = false
		}
		if strings.HasPrefix(l, ".") {
			b.WriteByte('.')
		}
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

func TestPOP3CopyBody(t *testing.T) {
	long := strings.Repeat("x", 32<<10-1) // a line filling the read buffer but for one octet
	cases := []struct {
		name      string
		body      string
		bodyLines int
	}{
		{"empty", "", -1},
		{"plain", "Subject: a\r\n\r\nbody\r\n", -1},
		{"dots", ".\r\n..\r\n\r\n.x\r\nmid.dot\r\n.", -1},
		{"bare LF", "A: b\n\nc\nd", -1},
		{"no header end", "A: b\r\nC: d\r\n", 0},
		{"TOP 0", "A: b\r\n\r\nc\r\nd\r\n", 0},
		{"TOP 1", "A: b\r\n\r\n.c\r\nd\r\n", 1},
		{"TOP beyond", "A: b\r\n\r\nc\r\n", 5},
		{"blank lines in body count", "A: b\r\n\r\n\r\n\r\nc\r\n", 2},
		{"CRLF split across reads", long + "\r\n.next\r\n", -1},
		{"CR inside a line at a read boundary", long + "\rX\r\n", -1},
		{"long line starting with a dot", "\r\n." + long + long + "\r\nend", -1},
		{"long header then TOP", "A: " + long + long + "\r\n\r\nb\r\nc\r\n", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			if err := copyBody(w, strings.NewReader(tc.body), tc.bodyLines); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if got, want := out.String(), wantBody(tc.body, tc.bodyLines); got != want {
				t.Errorf("got %d octets %.80q..., want %d octets %.80q...", len(got), got, len(want), want)
			}
		})
	}
}

// limitedReader fails once more than n octets are read: TOP must stop
// reading where it stops sending.
type limitedReader struct {
	r io.Reader
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.n -= n; l.n < 0 {
		return n, errors.New("read past the limit")
	}
	return n, err
}

// endless repeats a line for ever.
type endless struct{ line []byte }

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.line[i%len(e.line)]
	}
	return len(p) - len(p)%len(e.line), nil
}

func TestPOP3CopyBodyStreams(t *testing.T) {
	body := func() io.Reader {
		return &limitedReader{r: io.MultiReader(strings.NewReader("Subject: big\r\n\r\n"), endless{[]byte("0123456789\r\n")}), n: 1 << 20}
	}
	var out bytes.Buffer
	w := bufio.NewWriterSize(&out, 4096)
	if err := copyBody(w, body(), 3); err != nil {
		t.Fatalf("TOP read too far: %v", err)
	}
	w.Flush()
	if want := "Subject: big\r\n\r\n0123456789\r\n0123456789\r\n0123456789\r\n"; out.String() != want {
		t.Errorf("TOP: %q", out.String())
	}
	// RETR reads on: with a body longer than the limit it must see the
	// read error, having written through a small buffer all along.
	out.Reset()
	cw := &countingWriter{}
	w = bufio.NewWriterSize(cw, 4096)
	if err := copyBody(w, body(), -1); err == nil {
		t.Fatal("RETR of a failing body: no error")
	}
	if cw.n < 1<<19 {
		t.Errorf("only %d octets written before the read failed: the body was not streamed", cw.n)
	}
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

// TestPOP3CopyBodyWriteError: a client that stops reading ends the copy.
func TestPOP3CopyBodyWriteError(t *testing.T) {
	w := bufio.NewWriterSize(failingWriter{}, 16)
	err := copyBody(w, strings.NewReader(strings.Repeat("line\r\n", 1000)), -1)
	if err == nil {
		t.Fatal("no error from a failing writer")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }
