package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// splitReader returns its input in the given pieces, one per Read.
type splitReader struct{ parts [][]byte }

func (s *splitReader) Read(p []byte) (int, error) {
	for len(s.parts) > 0 && len(s.parts[0]) == 0 {
		s.parts = s.parts[1:]
	}
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.parts[0])
	s.parts[0] = s.parts[0][n:]
	return n, nil
}

// readAll reads r with reads of at most chunk octets.
func readAll(r io.Reader, chunk int) ([]byte, error) {
	var out []byte
	buf := make([]byte, chunk)
	for range 1 << 24 {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("read loop did not end")
}

type dataCase struct {
	name    string
	in      string // the bytes after the 354 reply
	maxLine int
	maxSize int64
	out     string // text passed on, when err is nil
	err     error
	rest    string // what must remain in the bufio.Reader
}

var dataCases = []dataCase{
	{name: "plain", in: "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", out: "Subject: x\r\n\r\nbody\r\n", rest: "QUIT\r\n"},
	{name: "empty", in: ".\r\nNEXT", out: "", rest: "NEXT"},
	{name: "empty line only", in: "\r\n.\r\n", out: "\r\n"},
	{name: "stuffed", in: "..dot\r\n..\r\n.x\r\n.\r\n", out: ".dot\r\n.\r\nx\r\n"},
	{name: "pipelined after end", in: "a\r\n.\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<z@w.example>\r\nDATA\r\n", out: "a\r\n", rest: "MAIL FROM:<x@y.example>\r\nRCPT TO:<z@w.example>\r\nDATA\r\n"},
	{name: "bare LF normalised", in: "a\nb\r\n\nc\r\n.\r\n", out: "a\r\nb\r\n\r\nc\r\n"},
	{name: "bare LF at start", in: "\nx\r\n.\r\n", out: "\r\nx\r\n"},
	{name: "dot mid line", in: "a.\nb .\r\n.\r\n", out: "a.\r\nb .\r\n"},
	{name: "CRLF CRLF dot", in: "a\r\n\r\n.\r\nN", out: "a\r\n\r\n", rest: "N"},

	// Smuggling variants: never an end, always refused, always in sync.
	{name: "LF.LF", in: "a\n.\nMAIL FROM:<evil@x.example>\r\n.\r\nNEXT", err: ErrBareLFDot, rest: "NEXT"},
	{name: "LF.CRLF", in: "a\n.\r\nMAIL FROM:<evil@x.example>\r\n.\r\nNEXT", err: ErrBareLFDot, rest: "NEXT"},
	{name: "CRLF.LF", in: "a\r\n.\nMAIL FROM:<evil@x.example>\r\n.\r\nNEXT", err: ErrBareLFDot, rest: "NEXT"},
	{name: "CR.CR", in: "a\r.\rMAIL FROM:<evil@x.example>\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "CR.CRLF", in: "a\r.\r\nMAIL FROM:<evil@x.example>\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "CRLF.CR", in: "a\r\n.\rMAIL FROM:<evil@x.example>\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "dot CR CRLF then end", in: ".\r\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "CRLF dot CR CRLF then end", in: "a\r\n.\r\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "dot CR x", in: ".\rX\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "bare CR mid line", in: "a\rb\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "CR CR LF", in: "a\r\r\n.\r\nNEXT", err: ErrBareCR, rest: "NEXT"},
	{name: "LF at start then dot", in: "\n.\n\r\n.\r\nNEXT", err: ErrBareLFDot, rest: "NEXT"},
	{name: "dot after bare LF", in: "a\n.b\r\n.\r\nNEXT", err: ErrBareLFDot, rest: "NEXT"},
	{name: "LF dot dot", in: "a\n..\r\n.\r\nNEXT", err: ErrBareLFDot, rest: "NEXT"},
	{name: "dot LF at start", in: ".\nx\r\n.\r\nNEXT", err: ErrBareLFDot, rest: "NEXT"},
	{name: "LF then CRLF.CRLF", in: "a\n\r\n.\r\nNEXT", out: "a\r\n\r\n", rest: "NEXT"},
	{name: "LF.CRLF is no end", in: "a\n.\r\nQUIT\r\n", err: io.ErrUnexpectedEOF},
	{name: "NUL passes", in: "a\x00b\r\n.\r\n", out: "a\x00b\r\n"},

	// Limits: read to the true end, then fail.
	{name: "too large", in: "0123456789\r\n.\r\nNEXT", maxSize: 10, err: ErrTooLarge, rest: "NEXT"},
	{name: "size at limit", in: "01234567\r\n.\r\nNEXT", maxSize: 10, out: "01234567\r\n", rest: "NEXT"},
	{name: "line too long", in: "0123456789AB\r\n.\r\nNEXT", maxLine: 10, err: ErrDataLineTooLong, rest: "NEXT"},
	{name: "line at limit", in: "01234567\r\n.\r\nNEXT", maxLine: 10, out: "01234567\r\n", rest: "NEXT"},
	{name: "long line then smuggle", in: strings.Repeat("x", 100) + "\r\n.\nY\r\n.\r\nNEXT", maxLine: 50, err: ErrDataLineTooLong, rest: "NEXT"},
	{name: "first error wins", in: "a\rb\r\n" + strings.Repeat("x", 100) + "\r\n.\r\nNEXT", maxLine: 50, err: ErrBareCR, rest: "NEXT"},

	// The connection ends before the data does.
	{name: "EOF", in: "abc\r\n", err: io.ErrUnexpectedEOF},
	{name: "EOF after dot", in: "abc\r\n.", err: io.ErrUnexpectedEOF},
	{name: "EOF after dot CR", in: "abc\r\n.\r", err: io.ErrUnexpectedEOF},
	{name: "EOF empty", in: "", err: io.ErrUnexpectedEOF},
}

// runData reads one case through a DataReader on src with a bufio.Reader
// of size buf and reads of chunk octets, and checks the result.
func runData(t *testing.T, tc dataCase, src io.Reader, buf, chunk int) {
	t.Helper()
	r := bufio.NewReaderSize(src, buf)
	out, err := readAll(NewDataReader(r, tc.maxLine, tc.maxSize), chunk)
	if err != tc.err {
		t.Fatalf("buf %d chunk %d: err = %v, want %v", buf, chunk, err, tc.err)
	}
	if tc.err == nil && string(out) != tc.out {
		t.Fatalf("buf %d chunk %d: text %q, want %q", buf, chunk, out, tc.out)
	}
	if tc.err == io.ErrUnexpectedEOF {
		return
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != tc.rest {
		t.Fatalf("buf %d chunk %d: left %q, want %q", buf, chunk, rest, tc.rest)
	}
}

func TestDataReader(t *testing.T) {
	for _, tc := range dataCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, buf := range []int{16, 17, 19, 64, 4096} {
				for _, chunk := range []int{1, 3, 4096} {
					runData(t, tc, strings.NewReader(tc.in), buf, chunk)
					runData(t, tc, iotest.OneByteReader(strings.NewReader(tc.in)), buf, chunk)
				}
			}
			// Every split of the input into two network reads.
			for k := 0; k <= len(tc.in); k++ {
				src := &splitReader{parts: [][]byte{[]byte(tc.in[:k]), []byte(tc.in[k:])}}
				runData(t, tc, src, 16, 4096)
			}
		})
	}
}

// TestDataReaderSplitEnd sends the end marker split across network reads
// at every boundary, behind a line long enough to fill bufio's buffer.
func TestDataReaderSplitEnd(t *testing.T) {
	for _, lead := range []int{0, 1, 14, 15, 16, 17, 31, 100} {
		in := strings.Repeat("a", lead) + "\r\n.\r\nNEXT\r\n"
		want := strings.Repeat("a", lead) + "\r\n"
		for i := 0; i <= len(in); i++ {
			for j := i; j <= len(in); j++ {
				src := &splitReader{parts: [][]byte{[]byte(in[:i]), []byte(in[i:j]), []byte(in[j:])}}
				tc := dataCase{in: in, out: want, rest: "NEXT\r\n"}
				runData(t, tc, src, 16, 7)
			}
		}
	}
}

// refData is a direct, line-at-a-time statement of the policy that
// DataReader implements, used to cross-check it. dot selects DATA (end
// marker and unstuffing) over BDAT. It returns the text, whether the
// message is refused, and how many input octets belong to it.
func refData(in []byte, dot bool, maxLine int, maxSize int64) (out []byte, bad bool, used int, eof bool) {
	pos, prevBare := 0, false
	emit := func(b []byte) {
		if bad {
			return
		}
		if maxSize > 0 && int64(len(out)+len(b)) > maxSize {
			bad = true
			return
		}
		out = append(out, b...)
	}
	for {
		i := bytes.IndexByte(in[pos:], '\n')
		if i < 0 {
			if dot {
				return nil, false, 0, true
			}
			content := in[pos:]
			if bytes.IndexByte(content, '\r') >= 0 ||
				(len(content) > 0 && content[0] == '.' && prevBare) ||
				(maxLine > 0 && len(content) > maxLine) {
				bad = true
			}
			emit(content)
			return out, bad, len(in), false
		}
		line := in[pos : pos+i+1]
		pos += i + 1
		bare := len(line) < 2 || line[len(line)-2] != '\r'
		content := line[:len(line)-1]
		if !bare {
			content = line[:len(line)-2]
		}
		if dot && !prevBare && !bare && string(content) == "." {
			return out, bad, pos, false
		}
		if maxLine > 0 && len(line) > maxLine {
			bad = true
		}
		if bytes.IndexByte(content, '\r') >= 0 {
			bad = true
		}
		if len(content) > 0 && content[0] == '.' && (prevBare || (bare && len(content) == 1)) {
			bad = true
		}
		if dot && len(content) > 0 && content[0] == '.' {
			content = content[1:]
		}
		emit(content)
		emit(crlf)
		prevBare = bare
	}
}

// TestDataReaderMatchesReference cross-checks the cases and some
// generated inputs against refData.
func TestDataReaderMatchesReference(t *testing.T) {
	alphabet := []byte("a.\r\n")
	// Every string of up to 7 octets over {a . CR LF}, followed by a
	// true end and a next command.
	var gen func(prefix []byte, n int)
	count := 0
	gen = func(prefix []byte, n int) {
		in := append(append([]byte{}, prefix...), "\r\n.\r\nNEXT"...)
		checkAgainstRef(t, in, 0, 0)
		checkAgainstRef(t, in, 5, 9)
		count++
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	gen(nil, 7)
	if count < 20000 {
		t.Fatalf("only %d inputs generated", count)
	}
}

func checkAgainstRef(t *testing.T, in []byte, maxLine int, maxSize int64) {
	t.Helper()
	want, bad, used, eof := refData(in, true, maxLine, maxSize)
	r := bufio.NewReaderSize(bytes.NewReader(in), 16)
	got, err := readAll(NewDataReader(r, maxLine, maxSize), 5)
	switch {
	case eof:
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("%q: err = %v, want unexpected EOF", in, err)
		}
		return
	case bad != (err != nil):
		t.Fatalf("%q (line %d, size %d): err = %v, reference refuses: %v", in, maxLine, maxSize, err, bad)
	case !bad && !bytes.Equal(got, want):
		t.Fatalf("%q: text %q, reference %q", in, got, want)
	}
	if _, ok := ReplyOf(err); err != nil && !ok {
		t.Fatalf("%q: error %v is not a reply", in, err)
	}
	rest, _ := io.ReadAll(r)
	if !bytes.Equal(rest, in[used:]) {
		t.Fatalf("%q: left %q, want %q", in, rest, in[used:])
	}
}

func TestDataReaderAllocs(t *testing.T) {
	// The reader must not allocate per line or per byte: a message ten
	// times longer costs no more allocations. (The counts themselves may
	// move by one or two with the race detector or a collection.)
	line := []byte("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\r\n")
	buf := make([]byte, 32*1024)
	allocsFor := func(lines int) float64 {
		in := append(bytes.Repeat(line, lines), ".\r\n"...)
		src := bytes.NewReader(in)
		r := bufio.NewReaderSize(src, 4096)
		return testing.AllocsPerRun(10, func() {
			src.Reset(in)
			r.Reset(src)
			d := NewDataReader(r, 1000, 0)
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{d}, buf); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocsFor(4000), allocsFor(40000)
	if large > small+2 || large > 10 {
		t.Errorf("%.0f allocations for 40000 lines, %.0f for 4000; want a constant few", large, small)
	}
}

func TestDataReaderSize(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("ab\r\n..c\r\n.\r\n"))
	d := NewDataReader(r, 0, 0)
	if _, err := io.ReadAll(d); err != nil {
		t.Fatal(err)
	}
	if d.Size() != 8 {
		t.Errorf("Size() = %d, want 8", d.Size())
	}
}

func TestDataErrorsAreReplies(t *testing.T) {
	for _, err := range []error{ErrBareCR, ErrBareLFDot, ErrTooLarge, ErrDataLineTooLong} {
		r, ok := ReplyOf(err)
		if !ok || r.Code < 500 || r.Code > 554 || r.Enhanced[0] != '5' {
			t.Errorf("%v: not a permanent reply", err)
		}
	}
}
