package smtp

import (
	"bufio"
	"bytes"
	"io"
)

// Scanner states, at the current input position.
const (
	stLineStart = iota // at the first octet of a line
	stDot              // after a dot at the start of a line
	stDotCR            // after "." and CR at the start of a line
	stMid              // inside a line
	stCR               // inside a line, after a CR
)

var crlf = []byte("\r\n")

// scanner applies the content policy shared by DATA and BDAT to a
// message that arrives in pieces of any size. It never copies the message:
// it records, in segs, the slices of its input (and of crlf) to pass on.
type scanner struct {
	dot     bool // DATA: undo dot-stuffing and stop at <CRLF>.<CRLF>
	maxLine int
	maxSize int64

	state       int
	afterBareLF bool  // the current line began after a bare LF
	lineLen     int   // octets of the current line so far, as received
	size        int64 // octets passed on
	err         error // first policy violation; nothing is passed on after it
	done        bool  // DATA: <CRLF>.<CRLF> seen

	segs [][]byte
}

func (s *scanner) flag(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *scanner) emit(b []byte) {
	if s.err != nil || len(b) == 0 {
		return
	}
	if s.maxSize > 0 && s.size+int64(len(b)) > s.maxSize {
		s.flag(ErrTooLarge)
		return
	}
	s.size += int64(len(b))
	s.segs = append(s.segs, b)
}

func (s *scanner) grow(n int) {
	s.lineLen += n
	if s.maxLine > 0 && s.lineLen > s.maxLine {
		s.flag(ErrDataLineTooLong)
	}
}

// endLine finishes a line whose terminator has been counted; every line
// is passed on with CRLF.
func (s *scanner) endLine(bareLF bool) {
	s.emit(crlf)
	s.state, s.afterBareLF, s.lineLen = stLineStart, bareLF, 0
}

// feed scans c and returns how many octets it consumed: all of them,
// unless the end of DATA was found inside c.
func (s *scanner) feed(c []byte) int {
	n := len(c)
	for len(c) > 0 && !s.done {
		switch s.state {
		case stLineStart:
			s.state = stMid
			if c[0] == '.' {
				if s.afterBareLF {
					s.flag(ErrBareLFDot) // "<LF>." whatever follows
				}
				s.grow(1)
				if !s.dot {
					s.emit(c[:1])
				}
				s.state, c = stDot, c[1:]
			}
		case stDot:
			switch c[0] {
			case '\r':
				s.grow(1)
				s.state, c = stDotCR, c[1:]
			case '\n':
				s.flag(ErrBareLFDot) // "<CRLF>.<LF>" or "<LF>.<LF>"
				s.grow(1)
				s.endLine(true)
				c = c[1:]
			default:
				// A stuffed dot (RFC 5321 section 4.5.2); for DATA it
				// has been dropped already.
				s.state = stMid
			}
		case stDotCR:
			if c[0] != '\n' {
				s.flag(ErrBareCR) // ".<CR>x"
				s.state = stMid
				continue
			}
			c = c[1:]
			if s.dot && !s.afterBareLF {
				// RFC 5321 section 4.1.1.4: <CRLF>.<CRLF> ends the data.
				s.done = true
				return n - len(c)
			}
			// BDAT, where the dot was passed on, or DATA after a bare LF,
			// already refused.
			s.grow(1)
			s.endLine(false)
		case stCR:
			if c[0] != '\n' {
				s.flag(ErrBareCR)
				s.state = stMid
				continue
			}
			s.grow(1)
			s.endLine(false)
			c = c[1:]
		case stMid:
			c = s.scanLine(c)
		}
	}
	return n - len(c)
}

// scanLine passes on the inside of a line up to the next CR or LF.
func (s *scanner) scanLine(c []byte) []byte {
	i := indexCRLF(c)
	if i < 0 {
		s.grow(len(c))
		s.emit(c)
		return nil
	}
	s.grow(i + 1)
	s.emit(c[:i])
	if c[i] == '\r' {
		s.state = stCR
		return c[i+1:]
	}
	// A bare LF inside a line is passed on as CRLF, as Postfix does with
	// smtpd_forbid_bare_newline = normalize. It never ends the data.
	s.endLine(true)
	return c[i+1:]
}

// indexCRLF returns the index of the first CR or LF in c. c holds at most
// one LF, so looking for CR first keeps a line full of CRs linear.
func indexCRLF(c []byte) int {
	j := bytes.IndexByte(c, '\r')
	lim := j
	if j < 0 {
		lim = len(c)
	}
	if i := bytes.IndexByte(c[:lim], '\n'); i >= 0 {
		return i
	}
	return j
}

// finish checks the state at the end of a BDAT message, which has no
// end marker: a CR held back at the very end was a bare CR.
func (s *scanner) finish() {
	switch s.state {
	case stCR, stDotCR:
		s.flag(ErrBareCR)
	}
}

// segReader hands out the segments a scanner recorded, then lets the
// owner consume the input they point into.
type segReader struct {
	segs    [][]byte
	pending int // octets of r that segs still point into
}

func (q *segReader) copyOut(p []byte) int {
	n := 0
	for n < len(p) && len(q.segs) > 0 {
		k := copy(p[n:], q.segs[0])
		n += k
		if k == len(q.segs[0]) {
			q.segs = q.segs[1:]
		} else {
			q.segs[0] = q.segs[0][k:]
		}
	}
	return n
}

// DataReader reads the message text of a DATA command (RFC 5321 section
// 4.1.1.4) from a bufio.Reader, undoing dot-stuffing (section 4.5.2).
//
// Only <CRLF>.<CRLF> ends the data, the first line counting as following
// a CRLF. Read returns io.EOF after it, and every octet after it is left in
// the bufio.Reader. The text returned has CRLF line endings and does not
// include the final ".<CRLF>".
//
// Policy. The reader never stops early: on any of the following it
// passes nothing more to the caller, reads and discards up to the true end,
// and then returns the error instead of io.EOF, so the session stays in
// step and can answer it:
//   - ErrBareCR: a CR not followed by LF anywhere, including ".<CR>x" and
//     "<CR>.<CR>";
//   - ErrBareLFDot: a bare LF next to a line-start dot: "<LF>." (as in
//     "<LF>.<LF>" and "<LF>.<CR><LF>") and "<CRLF>.<LF>";
//   - ErrDataLineTooLong: a line longer than maxLine octets as received,
//     line ending included;
//   - ErrTooLarge: more than maxSize octets of text.
//
// The first error found is the one reported. Other bare LFs are passed on
// as CRLF (what Postfix's "normalize" setting does): old clients send them,
// and since no bare LF can end the data here, and none leaves Sealpost
// unconverted, they cannot be used to smuggle. A caller must discard any
// text already read when Read fails.
//
// A limit of zero or less means none. A DataReader does not allocate
// while reading; it buffers nothing beyond r's buffer.
type DataReader struct {
	r   *bufio.Reader
	sc  scanner
	out segReader
	err error // terminal: io.EOF, a policy error, or a read error
}

// NewDataReader returns a reader for the text following a 354 reply.
func NewDataReader(r *bufio.Reader, maxLine int, maxSize int64) *DataReader {
	d := &DataReader{r: r}
	d.sc = scanner{dot: true, maxLine: maxLine, maxSize: maxSize, segs: make([][]byte, 0, 8)}
	return d
}

// Read implements io.Reader.
func (d *DataReader) Read(p []byte) (int, error) {
	for {
		if len(d.out.segs) > 0 {
			return d.out.copyOut(p), nil
		}
		if d.out.pending > 0 {
			// The segments handed out pointed into r's buffer; only now
			// may it move on.
			d.r.Discard(d.out.pending)
			d.out.pending = 0
		}
		if d.err != nil {
			return 0, d.err
		}
		d.fill()
	}
}

// fill scans what r has buffered, up to and including the next LF.
func (d *DataReader) fill() {
	if d.r.Buffered() == 0 {
		if _, err := d.r.Peek(1); err != nil {
			d.err = eofErr(err, 1)
			return
		}
	}
	buf, _ := d.r.Peek(d.r.Buffered())
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i+1]
	}
	d.sc.segs = d.sc.segs[:0]
	d.out.pending = d.sc.feed(buf)
	d.out.segs = d.sc.segs
	if d.sc.done {
		d.err = io.EOF
		if d.sc.err != nil {
			d.err = d.sc.err
		}
	}
}

// Size returns the number of octets of text passed on so far.
func (d *DataReader) Size() int64 { return d.sc.size }
