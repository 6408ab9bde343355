package imapserver

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// lineMessage is a message of a header and numbered 80-byte lines, made as it is
// read, hashing what it gives.
type lineMessage struct {
	header  string
	n, next int
	pending []byte
	h       hash.Hash
}

func newLineMessage(count int) *lineMessage {
	return &lineMessage{header: "From: bob@example.org\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n",
		n: count, h: sha256.New()}
}

func (l *lineMessage) size() int64 { return int64(len(l.header) + 80*l.n) }

func (l *lineMessage) Read(p []byte) (int, error) {
	if len(l.pending) == 0 {
		switch {
		case l.header != "":
			l.pending, l.header = []byte(l.header), ""
		case l.next < l.n:
			l.pending = fmt.Appendf(nil, "line %010d %s\r\n", l.next, strings.Repeat("x", 62))
			l.next++
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, l.pending)
	l.h.Write(p[:n])
	l.pending = l.pending[n:]
	return n, nil
}

// TestLargeMessageMemory: a 50 MiB APPEND and the FETCH of it back are
// streamed: the process's heap (server and test client together) grows by
// a fraction of the message, never by the message.
func TestLargeMessageMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MiB message; skipped in -short")
	}
	e := newEnv(t, Limits{Wire: imap.Limits{MaxAppend: 64 << 20}}, 10)
	c := e.connect(t, "imaps", true)
	c.conn.SetDeadline(time.Now().Add(3 * time.Minute))
	msg := newLineMessage(50 << 20 / 80)
	size := msg.size()
	const bound = 16 << 20
	var status string
	peak := storetest.HeapPeak(func() {
		c.send(fmt.Sprintf("a APPEND INBOX {%d}\r\n", size))
		if l := c.readLine(); !strings.HasPrefix(l, "+") {
			t.Fatalf("APPEND: %q, want a continuation", l)
		}
		if _, err := io.Copy(c.conn, msg); err != nil {
			t.Fatal(err)
		}
		c.send("\r\n")
		_, status = c.collect("a")
	})
	t.Logf("APPEND of %d MiB: heap grew by at most %.1f MiB", size>>20, float64(peak)/(1<<20))
	m := regexp.MustCompile(`^OK \[APPENDUID \d+ (\d+)\]`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("APPEND: %q", status)
	}
	if peak > bound {
		t.Errorf("APPEND of %d MiB grew the heap by %d MiB; bound %d MiB", size>>20, peak>>20, bound>>20)
	}
	var sent [sha256.Size]byte
	msg.h.Sum(sent[:0])

	uid := m[1]
	c.expect("SELECT INBOX", "OK")
	var got [sha256.Size]byte
	var n int64
	peak = storetest.HeapPeak(func() {
		c.send("b UID FETCH " + uid + " BODY.PEEK[]\r\n")
		line := c.readLine()
		lm := regexp.MustCompile(`BODY\[\] \{(\d+)\}$`).FindStringSubmatch(line)
		if lm == nil {
			t.Fatalf("FETCH: %q", line)
		}
		want, _ := strconv.ParseInt(lm[1], 10, 64)
		h := sha256.New()
		var err error
		if n, err = io.CopyN(h, c.r, want); err != nil {
			t.Fatal(err)
		}
		h.Sum(got[:0])
		if rest := c.readLine(); rest != ")" {
			t.Fatalf("after the body: %q", rest)
		}
		if _, st := c.collect("b"); !strings.HasPrefix(st, "OK") {
			t.Fatalf("FETCH: %q", st)
		}
	})
	t.Logf("FETCH BODY[] of it: heap grew by at most %.1f MiB", float64(peak)/(1<<20))
	if n != size || got != sent {
		t.Errorf("FETCH gave %d bytes (hash equal: %v), want the %d appended", n, got == sent, size)
	}
	if peak > bound {
		t.Errorf("FETCH BODY[] of %d MiB grew the heap by %d MiB; bound %d MiB", size>>20, peak>>20, bound>>20)
	}

	peak = storetest.HeapPeak(func() {
		u := c.expect("UID FETCH "+uid+" (ENVELOPE BODYSTRUCTURE RFC822.SIZE BODY.PEEK[TEXT]<0.100>)", "OK")
		if len(u) != 1 || !strings.Contains(u[0], `"big"`) || !strings.Contains(u[0], "RFC822.SIZE "+strconv.FormatInt(size, 10)) {
			t.Errorf("FETCH of its structure: %q", u)
		}
	})
	t.Logf("FETCH ENVELOPE BODYSTRUCTURE of it: heap grew by at most %.1f MiB", float64(peak)/(1<<20))
	if peak > bound {
		t.Errorf("FETCH of the structure of %d MiB grew the heap by %d MiB; bound %d MiB", size>>20, peak>>20, bound>>20)
	}
}
