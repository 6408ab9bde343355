package smtp

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// readBDAT reads msg as BDAT chunks cut at the given offsets, each chunk
// followed on the wire by "NEXT\r\n", which must be left unread.
func readBDAT(t *testing.T, msg []byte, cuts []int, maxLine int, maxSize int64) ([]byte, error) {
	t.Helper()
	var wire bytes.Buffer
	var sizes []int
	prev := 0
	for _, c := range append(cuts, len(msg)) {
		wire.Write(msg[prev:c])
		wire.WriteString("NEXT\r\n")
		sizes = append(sizes, c-prev)
		prev = c
	}
	r := bufio.NewReaderSize(&wire, 16)
	b := NewBDATReader(maxLine, maxSize)
	var out []byte
	var err error
	for i, n := range sizes {
		got, cerr := readAll(b.Chunk(r, int64(n), i == len(sizes)-1), 3)
		out = append(out, got...)
		if cerr != nil && err == nil {
			err = cerr
		}
		line, lerr := ReadLine(r, 100)
		if string(line) != "NEXT" || lerr != nil {
			t.Fatalf("after chunk %d of %q: next line %q, %v", i, msg, line, lerr)
		}
	}
	return out, err
}

func TestBDATReader(t *testing.T) {
	tests := []struct {
		name, msg string
		out       string
		err       error
	}{
		{"plain", "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n", nil},
		{"no unstuffing, no end", "a\r\n.\r\n..b\r\n", "a\r\n.\r\n..b\r\n", nil},
		{"no final CRLF", "a\r\nb", "a\r\nb", nil},
		{"bare LF normalised", "a\nb\n", "a\r\nb\r\n", nil},
		{"bare CR", "a\rb\r\n", "", ErrBareCR},
		{"final CR", "a\r\nb\r", "", ErrBareCR},
		{"LF.LF", "a\n.\nb\r\n", "", ErrBareLFDot},
		{"CRLF.LF", "a\r\n.\nb\r\n", "", ErrBareLFDot},
		{"LF.CRLF", "a\n.\r\nb\r\n", "", ErrBareLFDot},
		{"final LF dot", "a\n.", "", ErrBareLFDot},
		{"CR.CR", "a\r.\rb\r\n", "", ErrBareCR},
		{"dot CR CRLF", ".\r\r\n", "", ErrBareCR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := []byte(tt.msg)
			// One chunk, and every cut into two and three chunks.
			var cutsets [][]int
			cutsets = append(cutsets, nil)
			for i := 0; i <= len(msg); i++ {
				cutsets = append(cutsets, []int{i})
				for j := i; j <= len(msg); j++ {
					cutsets = append(cutsets, []int{i, j})
				}
			}
			for _, cuts := range cutsets {
				out, err := readBDAT(t, msg, cuts, 0, 0)
				if err != tt.err {
					t.Fatalf("cuts %v: err = %v, want %v", cuts, err, tt.err)
				}
				if err == nil && string(out) != tt.out {
					t.Fatalf("cuts %v: %q, want %q", cuts, out, tt.out)
				}
			}
		})
	}
}

func TestBDATLimits(t *testing.T) {
	msg := []byte(strings.Repeat("x", 40) + "\r\n")
	if _, err := readBDAT(t, msg, []int{10, 20}, 0, 30); err != ErrTooLarge {
		t.Errorf("size: %v", err)
	}
	if _, err := readBDAT(t, msg, []int{10, 20}, 30, 0); err != ErrDataLineTooLong {
		t.Errorf("line: %v", err)
	}
	if out, err := readBDAT(t, msg, []int{10, 20}, 42, 42); err != nil || !bytes.Equal(out, msg) {
		t.Errorf("at the limits: %q, %v", out, err)
	}
}

func TestBDATShortChunk(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("abc"))
	_, err := io.ReadAll(NewBDATReader(0, 0).Chunk(r, 10, true))
	if err != io.ErrUnexpectedEOF {
		t.Errorf("err = %v, want unexpected EOF", err)
	}
}

func TestBDATMatchesReference(t *testing.T) {
	alphabet := []byte("a.\r\n")
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		want, bad, _, _ := refData(prefix, false, 0, 0)
		for _, cut := range []int{0, len(prefix) / 2} {
			got, err := readBDAT(t, prefix, []int{cut}, 0, 0)
			if bad != (err != nil) || (!bad && !bytes.Equal(got, want)) {
				t.Fatalf("%q cut %d: %q, %v; reference %q, refused %v", prefix, cut, got, err, want, bad)
			}
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	gen(nil, 6)
}
