package dkim

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
	"strings"
)

// Canon is a canonicalization algorithm (RFC 6376 section 3.4).
type Canon string

// The two canonicalization algorithms.
const (
	Simple  Canon = "simple"
	Relaxed Canon = "relaxed"
)

// parseCanon parses a c= value: "header/body", or "header" alone meaning
// header/simple (section 3.5, c=). The default is simple/simple.
func parseCanon(s string) (header, body Canon, err error) {
	if s == "" {
		return Simple, Simple, nil
	}
	h, b, found := strings.Cut(s, "/")
	if !found {
		b = string(Simple)
	}
	header, body = Canon(strings.ToLower(h)), Canon(strings.ToLower(b))
	if !header.valid() || !body.valid() {
		return "", "", syntaxErr("unknown canonicalization %q", s)
	}
	return header, body, nil
}

func (c Canon) valid() bool { return c == Simple || c == Relaxed }

// CanonHeader appends to dst the canonical form of field, one whole header
// field as it appears in the message ("Name: value\r\n", folded lines
// included; see Field.Raw). Simple returns it unchanged (section 3.4.1);
// relaxed lower-cases the name, unfolds, reduces whitespace runs to one
// space and removes whitespace at the ends of the value and around the
// colon (section 3.4.2). The result ends in CRLF when field does.
func CanonHeader(dst []byte, c Canon, field []byte) []byte {
	if c == Simple {
		return append(dst, field...)
	}
	// IndexByte and a loop for the white space after the name rather
	// than bytes.Cut and bytes.TrimRight, which look up a separator and
	// build a set of two bytes for every field.
	colon := bytes.IndexByte(field, ':')
	if colon < 0 {
		// Not a header field; it is never selected by name, but keep
		// the output well defined.
		return append(dst, field...)
	}
	name, value := field[:colon], field[colon+1:]
	for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
		name = name[:len(name)-1]
	}
	dst = appendLowerASCII(dst, name)
	dst = append(dst, ':')
	crlf := bytes.HasSuffix(value, []byte("\r\n"))
	if crlf {
		if out, ok := appendPlainWords(dst, value[:len(value)-2]); ok {
			return append(out, '\r', '\n')
		}
	} else if out, ok := appendPlainWords(dst, value); ok {
		return out
	}
	space := false // whitespace seen since the last written character
	wrote := false
	for i := 0; i < len(value); {
		switch value[i] {
		case '\r', '\n':
			// Unfolding: line breaks vanish, the whitespace after
			// them counts as whitespace.
			i++
			continue
		case ' ', '\t':
			space = true
			i++
			continue
		}
		// A run of other characters is copied at once. Its end is
		// looked for here rather than in a function: most runs are
		// a few bytes long, shorter than a call costs.
		j := i + 1
		for j+8 <= len(value) && !hasBelow(load64(value, j), 0x21) {
			j += 8
		}
		for j < len(value) && !headerSpace[value[j]] {
			j++
		}
		if space && wrote {
			dst = append(dst, ' ')
		}
		dst = append(dst, value[i:j]...)
		space, wrote = false, true
		i = j
	}
	if crlf {
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// appendPlainWords appends the relaxed form of a field's value (its final
// CRLF left out) made of words with single spaces between them, over
// folded lines or one, as most fields are: the lines less the white space
// at the value's ends, joined by one space where they were folded. It
// returns false for anything else (white space in a row, a tab inside a
// line, a control character, a line break that is not a fold), with dst
// as it was, for CanonHeader's loop. It looks at each line eight bytes a
// step, with no branch per word where the loop takes a turn, and
// mispredicts one, for each.
func appendPlainWords(dst, value []byte) ([]byte, bool) {
	start := len(dst)
	for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
		value = value[1:]
	}
	for {
		n := plainRun(value)
		dst = append(dst, value[:n]...)
		if n == len(value) {
			break
		}
		// A fold: CRLF and one space or tab, after a word and before
		// one.
		rest := value[n:]
		if len(rest) < 4 || rest[0] != '\r' || rest[1] != '\n' || rest[2] != ' ' && rest[2] != '\t' ||
			isHeaderSpace(rest[3]) || len(dst) == start || dst[len(dst)-1] == ' ' {
			return dst[:start], false
		}
		dst = append(dst, ' ')
		value = rest[3:]
	}
	if n := len(dst); n > start && dst[n-1] == ' ' {
		dst = dst[:n-1]
	}
	return dst, true
}

// plainRun returns how many bytes at the start of s hold no control
// character (tab, CR and LF among them) and no two spaces in a row:
// s[plainRun(s)] is such a byte, or a space of such a pair (the first
// within a word of eight, the second across two).
func plainRun(s []byte) int {
	var prev uint64 // the space flags of the word before
	i := 0
	for ; i+8 <= len(s); i += 8 {
		bad, sp := notPlain(load64(s, i), prev)
		if bad != 0 {
			return i + bits.TrailingZeros64(bad)/8
		}
		prev = sp
	}
	if i == len(s) {
		return i
	}
	// The last bytes, with letters past the end.
	if bad, _ := notPlain(tailWord(s, i, 'x'), prev); bad != 0 {
		return i + bits.TrailingZeros64(bad)/8
	}
	return len(s)
}

// notPlain flags, by its high bit, each byte of w that is a control
// character or a space followed by a space, and returns the word's space
// flags for the next word (prev, those of the word before). The first
// flag is exact: a borrow in the test for control characters goes only
// upwards, from a byte that is one.
func notPlain(w, prev uint64) (bad, spaces uint64) {
	y := w ^ (ones * ' ')
	spaces = ^((y&^highs + ones*0x7f) | y) & highs
	pair := spaces&(spaces>>8) | spaces&(prev>>56)
	return (w-ones*0x20)&^w&highs | pair, spaces
}

// appendLowerASCII appends b with ASCII letters lower-cased, eight bytes a
// step: a per-byte test of case mispredicts at each change of it, several
// times in a name like Message-ID.
func appendLowerASCII(dst, b []byte) []byte {
	start := len(dst)
	dst = append(dst, b...)
	out := dst[start:]
	if len(out) < 8 {
		for i, c := range out {
			out[i] = lowerByte[c]
		}
		return dst
	}
	for i := 0; ; i += 8 {
		if i+8 > len(out) {
			// The last eight bytes, some of them again: lower-casing
			// twice does no harm.
			i = len(out) - 8
		}
		binary.LittleEndian.PutUint64(out[i:], lower8(load64(out, i)))
		if i+8 == len(out) {
			return dst
		}
	}
}

// lower8 lower-cases the ASCII letters among the eight bytes of w.
func lower8(w uint64) uint64 {
	low := w &^ highs
	atLeastA := low + ones*(0x80-'A')
	pastZ := low + ones*(0x80-'Z'-1)
	return w | (atLeastA&^pastZ&^w&highs)>>2
}

// lowerByte lower-cases an ASCII letter, and maps every other byte to
// itself. It is never written after init.
var lowerByte = func() (t [256]byte) {
	for c := range t {
		t[c] = lowerASCII(byte(c))
	}
	return t
}()

func isHeaderSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// headerSpace is isHeaderSpace as a table: one look-up per byte where the
// end of a word is looked for. It is never written after init.
var headerSpace = func() (t [256]bool) {
	for c := range t {
		t[c] = isHeaderSpace(byte(c))
	}
	return t
}()

// BodyCanonicalizer is an io.WriteCloser that canonicalizes a message body
// as it is written (RFC 6376 sections 3.4.3 and 3.4.4) and writes the result
// to an underlying writer, usually a hash. It keeps only a count of pending
// empty lines and a few bytes of state, so the body is never held in
// memory. A line feed without a carriage return before it counts as CRLF,
// so a message read from a Unix file is canonicalized as if it came over
// SMTP. Close must be called at the end of the body; it writes what the
// end-of-body rules add.
type BodyCanonicalizer struct {
	canon Canon
	out   io.Writer
	buf   []byte // pending output, flushed when large and on Close
	err   error

	emptyLines int  // empty lines held back: dropped if nothing follows
	lineLen    int  // bytes of content written for the current line
	cr         bool // a CR was seen and not yet classified
	space      bool // relaxed: whitespace seen and not yet written
	wroteAny   bool // any output at all
}

// canonBufSize is the most pending output kept before writing it out.
const canonBufSize = 4 << 10

// NewBodyCanonicalizer returns a BodyCanonicalizer writing the c form of
// the body to out.
func NewBodyCanonicalizer(c Canon, out io.Writer) *BodyCanonicalizer {
	return &BodyCanonicalizer{canon: c, out: out}
}

// Write canonicalizes p. It never returns an error of its own; errors of the
// underlying writer are returned.
func (bc *BodyCanonicalizer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && bc.err == nil {
		if bc.atLineStart() {
			run := bc.cleanLines(p)
			if run > 0 {
				bc.emit(p[:run])
				p = p[run:]
				continue
			}
		}
		// Slow path: one line, or the rest of p, byte by byte.
		end := bytes.IndexByte(p, '\n') + 1
		if end == 0 {
			end = len(p)
		}
		for _, c := range p[:end] {
			bc.byte1(c)
		}
		p = p[end:]
	}
	if bc.err != nil {
		return 0, bc.err
	}
	return n, nil
}

func (bc *BodyCanonicalizer) atLineStart() bool {
	return bc.lineLen == 0 && !bc.cr && !bc.space
}

// cleanLines returns the length of the longest prefix of p, at most about
// cleanBlock bytes, made of whole lines that canonicalize to themselves
// (cleanPrefix). Held-back empty lines are written first when the prefix
// is not empty. This is the common case, and it is made cheap: see
// cleanPrefix.
func (bc *BodyCanonicalizer) cleanLines(p []byte) int {
	run := cleanPrefix(p[:min(len(p), cleanBlock)], bc.canon == Relaxed)
	if run > 0 {
		bc.flushEmpty()
		bc.wroteAny = true
	}
	return run
}

// cleanBlock is how much cleanLines looks at once: a block is scanned and
// then hashed while it is in the processor's cache.
const cleanBlock = 16 << 10

// cleanPrefixLines is cleanPrefix line by line: one IndexByte per line and
// two byte comparisons, and for relaxed, one vectorized scan of the block
// for tabs and one for double spaces, so that only a block that has them
// is checked line by line.
func cleanPrefixLines(block []byte, relaxed bool) int {
	perLine := relaxed && (bytes.IndexByte(block, '\t') >= 0 || bytes.Contains(block, []byte("  ")))
	run := 0
	for {
		i := bytes.IndexByte(block[run:], '\n')
		// i < 2: an empty line, or a bare LF; a bare LF too when no CR
		// precedes it.
		if i < 2 || block[run+i-1] != '\r' {
			break
		}
		if relaxed && (block[run+i-2] == ' ' || perLine && !relaxedClean(block[run:run+i-1])) {
			break
		}
		run += i + 1
	}
	return run
}

// byte1 advances the state machine by one byte.
func (bc *BodyCanonicalizer) byte1(c byte) {
	switch {
	case c == '\n':
		bc.cr = false
		bc.space = false
		if bc.lineLen == 0 {
			bc.emptyLines++
			return
		}
		bc.emit([]byte("\r\n"))
		bc.lineLen = 0
		return
	case bc.cr:
		// The CR held back was not part of a line end: content.
		bc.cr = false
		bc.content('\r')
	}
	switch {
	case c == '\r':
		bc.cr = true
	case bc.canon == Relaxed && (c == ' ' || c == '\t'):
		bc.space = true
	default:
		bc.content(c)
	}
}

func (bc *BodyCanonicalizer) content(c byte) {
	if bc.lineLen == 0 {
		bc.flushEmpty()
	}
	if bc.space {
		bc.emitByte(' ')
		bc.space = false
		bc.lineLen++
	}
	bc.emitByte(c)
	bc.lineLen++
	bc.wroteAny = true
}

func (bc *BodyCanonicalizer) flushEmpty() {
	for ; bc.emptyLines > 0; bc.emptyLines-- {
		bc.emit([]byte("\r\n"))
	}
}

func (bc *BodyCanonicalizer) emit(p []byte) {
	if len(bc.buf)+len(p) > canonBufSize {
		bc.flush()
		if len(p) >= canonBufSize {
			if bc.err == nil {
				_, bc.err = bc.out.Write(p)
			}
			return
		}
	}
	bc.buf = append(bc.buf, p...)
}

func (bc *BodyCanonicalizer) emitByte(c byte) {
	if len(bc.buf) >= canonBufSize {
		bc.flush()
	}
	bc.buf = append(bc.buf, c)
}

func (bc *BodyCanonicalizer) flush() {
	if len(bc.buf) > 0 && bc.err == nil {
		_, bc.err = bc.out.Write(bc.buf)
	}
	bc.buf = bc.buf[:0]
}

// Close applies the end-of-body rules: trailing empty lines are dropped, an
// unterminated last line gets its CRLF, and simple turns an empty body into
// a single CRLF (sections 3.4.3 and 3.4.4).
func (bc *BodyCanonicalizer) Close() error {
	if bc.cr {
		bc.cr = false
		bc.content('\r')
	}
	// Whitespace at the very end of the last line is trailing: dropped.
	bc.space = false
	if bc.lineLen > 0 {
		bc.emit([]byte("\r\n"))
		bc.lineLen = 0
	}
	if bc.canon == Simple && !bc.wroteAny {
		bc.emit([]byte("\r\n"))
		bc.wroteAny = true
	}
	bc.emptyLines = 0
	bc.flush()
	return bc.err
}

// relaxedClean reports whether a line's content is its own relaxed form.
func relaxedClean(line []byte) bool {
	return line[len(line)-1] != ' ' &&
		bytes.IndexByte(line, '\t') < 0 &&
		!bytes.Contains(line, []byte("  "))
}
