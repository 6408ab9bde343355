package dkim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// MaxHeaderSize bounds the header section ReadHeader accepts.
const MaxHeaderSize = 1 << 20

// ErrHeaderTooLarge is returned by ReadHeader for a header section larger
// than its limit.
var ErrHeaderTooLarge = errors.New("dkim: header section too large")

// Field is one header field of a message.
type Field struct {
	// Name is the field name as written, without surrounding whitespace.
	// It is empty for a line that is not a header field (no colon).
	Name string
	// Raw is the whole field as in the message, continuation lines
	// included, each line ending in CRLF (a bare LF is read as CRLF).
	Raw []byte

	// value is Value's string for a DKIM-Signature field, made when the
	// header was read in the same string as the names (setNames), so
	// that verifying it needs no allocation of its own; empty otherwise.
	value string
}

// Value returns what follows the colon, line breaks and all.
func (f Field) Value() string {
	i := bytes.IndexByte(f.Raw, ':')
	if i < 0 {
		return ""
	}
	// The copy made when the header was read, if there is one and Raw
	// still ends in it: a Field may be changed after.
	if v := f.value; v != "" && len(f.Raw)-i-1 == len(v) && string(f.Raw[i+1:]) == v {
		return v
	}
	return string(f.Raw[i+1:])
}

// Header is a message's header section, fields in message order.
type Header []Field

// ReadHeader reads the header section from r up to and including the empty
// line that ends it, or to the end of input, refusing more than max bytes
// (MaxHeaderSize when max <= 0). r is left at the first byte of the body.
func ReadHeader(r *bufio.Reader, max int) (Header, error) {
	h, _, err := ReadHeaderBuf(r, max, make([]byte, 0, 4<<10))
	return h, err
}

// ReadHeaderBuf is ReadHeader reading into buf, which it returns, grown
// as needed, for reuse once h is no longer used: a caller reading many
// messages keeps one buffer instead of making one per message.
func ReadHeaderBuf(r *bufio.Reader, max int, buf []byte) (h Header, grown []byte, err error) {
	return ReadHeaderInto(r, max, buf, nil)
}

// ReadHeaderInto is ReadHeaderBuf making the fields in fields when it has
// room for them: a caller reading many messages keeps h[:0] for the next
// one too, once h is no longer used.
func ReadHeaderInto(r *bufio.Reader, max int, buf []byte, fields Header) (h Header, grown []byte, err error) {
	if max <= 0 {
		max = MaxHeaderSize
	}
	// All lines go into one buffer; fields are ranges of it, made into
	// slices at the end, when the buffer no longer moves.
	start := buf[:0]
	buf = start
	var startsArr [32]int
	starts := startsArr[:0] // start of each field in buf
	if section, n, ok := bufferedHeader(r, max, starts); ok {
		buf = append(buf, section...)
		starts = n
		r.Discard(len(section) + 2) // buffered: it cannot fail
		return fieldsOf(buf, starts, fields), buf, nil
	}
	return readHeaderLinesInto(r, max, buf, starts, fields)
}

// HeaderInPlace finds the header section of msg, a whole message held in
// memory, when it is within max bytes (MaxHeaderSize when max <= 0), the
// empty line that ends it included, and every line of it ends in CRLF. It
// returns the fields, made in fields when it has room for them, whose Raw
// are slices of msg itself (no copy: msg must not change while h is used),
// and the body, the rest of msg. Otherwise (a bare LF, no empty line, a
// section too large) it returns false, and ReadHeader gives the answer:
// when it returns true, ReadHeader would have read the same fields and
// left its reader at the same body.
func HeaderInPlace(msg []byte, max int, fields Header) (h Header, body []byte, ok bool) {
	if max <= 0 {
		max = MaxHeaderSize
	}
	var startsArr [32]int
	section, starts, ok := headerSection(msg[:min(len(msg), max)], startsArr[:0])
	if !ok {
		return nil, nil, false
	}
	return fieldsOf(section, starts, fields), msg[len(section)+2:], true
}

// readHeaderLines is ReadHeaderBuf reading line by line, for what
// bufferedHeader leaves.
func readHeaderLines(r *bufio.Reader, max int, buf []byte, starts []int) (Header, []byte, error) {
	return readHeaderLinesInto(r, max, buf, starts, nil)
}

// readHeaderLinesInto is readHeaderLines making the fields in fields when
// it has room for them.
func readHeaderLinesInto(r *bufio.Reader, max int, buf []byte, starts []int, fields Header) (Header, []byte, error) {
	start := buf
	for {
		lineStart := len(buf)
		var err error
		buf, err = readLine(r, buf, max)
		if err != nil {
			return nil, start, err
		}
		line := buf[lineStart:]
		if len(line) == 0 || len(line) == 2 { // end of input, or "\r\n"
			buf = buf[:lineStart]
			break
		}
		if (line[0] != ' ' && line[0] != '\t') || len(starts) == 0 {
			starts = append(starts, lineStart)
		}
	}
	return fieldsOf(buf, starts, fields), buf, nil
}

// fieldsOf returns the fields of a header section held in buf, which start
// at starts, made in h when it has room for them.
func fieldsOf(buf []byte, starts []int, h Header) Header {
	if cap(h) < len(starts) {
		h = make(Header, len(starts))
	}
	h = h[:len(starts)]
	for i, start := range starts {
		end := len(buf)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		h[i].Raw = buf[start:end:end]
	}
	setNames(h)
	return h
}

// bufferedHeader finds the header section in what r holds buffered
// already, without reading or consuming: a message read through a large
// buffer has its whole header there, and one look for each line end
// replaces reading it line by line. It returns the section, without the
// empty line that ends it (two bytes, CRLF), and starts with the start of
// each field appended, when the section is all there, within max bytes (the empty
// line included), with every line ending in CRLF. Otherwise (a bare LF to
// turn into CRLF, the end of input, a section not all buffered or too
// large) it returns false, and reading line by line gives the answer.
func bufferedHeader(r *bufio.Reader, max int, starts []int) ([]byte, []int, bool) {
	if r.Buffered() == 0 {
		r.Peek(1) // fills the buffer; an error is found again by the slow way
	}
	data, _ := r.Peek(r.Buffered())
	return headerSection(data[:min(len(data), max)], starts)
}

// headerSection is bufferedHeader's search in data, the start of a
// message no longer than its bound.
func headerSection(data []byte, starts []int) ([]byte, []int, bool) {
	for pos := 0; ; {
		i := bytes.IndexByte(data[pos:], '\n')
		switch {
		case i < 0 || i == 0:
			// Not all here, or an empty line ending in a bare LF.
			return nil, starts, false
		case data[pos+i-1] != '\r':
			return nil, starts, false
		case i == 1:
			return data[:pos], starts, pos > 0
		}
		if c := data[pos]; c != ' ' && c != '\t' || len(starts) == 0 {
			starts = append(starts, pos)
		}
		pos += i + 1
	}
}

// msgReader is what reading a message needs: a bufio.Reader and the buffer
// of its header section. Verify and SignAll take one from msgReaders for
// each message; nothing they return refers to it (results copy what they
// keep from the header).
type msgReader struct {
	br     *bufio.Reader
	hdr    []byte
	fields Header // of hdr; kept when no longer than maxPooledFields
}

// maxPooledFields bounds the fields kept between messages: most messages
// have twenty or thirty.
const maxPooledFields = 256

// msgReaders keeps msgReaders between messages, saving their allocation
// for every message. A sync.Pool is safe for concurrent use, and the
// garbage collector bounds it; a header buffer grown past maxPooledHeader
// is not kept.
var msgReaders = sync.Pool{New: func() any {
	return &msgReader{br: bufio.NewReaderSize(nil, msgReaderSize), hdr: make([]byte, 0, 4<<10)}
}}

// msgReaderSize is the read buffer of Verify and SignAll: large enough for
// most messages whole, so that the body reaches the canonicalizer in one
// piece. A line cut between two pieces is canonicalized byte by byte,
// which for a message of 10 KiB read through 4 KiB cost as much as a
// sixth of the rest of signing it, hashing and signature aside.
const msgReaderSize = 64 << 10

const maxPooledHeader = 64 << 10

// getMsgReader returns a msgReader reading r.
func getMsgReader(r io.Reader) *msgReader {
	m := msgReaders.Get().(*msgReader)
	m.br.Reset(r)
	return m
}

// readHeader reads the header section from br, which is m.br or a
// bufio.Reader of the caller's.
func (m *msgReader) readHeader(br *bufio.Reader, max int) (Header, error) {
	h, buf, err := ReadHeaderInto(br, max, m.hdr, m.fields)
	if cap(buf) <= maxPooledHeader {
		m.hdr = buf[:0]
	}
	if h != nil && cap(h) <= maxPooledFields {
		m.fields = h[:0]
	}
	return h, err
}

// release returns m to the pool. Neither m nor a header it read may be
// used after.
func (m *msgReader) release() {
	m.br.Reset(nil)
	msgReaders.Put(m)
}

// setNames sets the Name of each field from its Raw. The names are copied
// into one string, of which each Name is a part: one allocation for the
// header rather than one per field. The value of each DKIM-Signature
// field, which verifying it copies into a string anyway, is copied into
// the same string (Field.value): one allocation less per message.
func setNames(h Header) {
	// Each name's length, the string made at the size of all, then
	// filled. A signature field's length is kept negative, less one.
	// (The loops index h rather than copy each Field.)
	var lensArr [64]int32
	lens := lensArr[:0]
	n, signatures := 0, false
	for i := range h {
		raw := h[i].Raw
		name := fieldName(raw)
		n += len(name)
		l := int32(len(name))
		if isSignatureName(name) {
			n += len(raw) - bytes.IndexByte(raw, ':') - 1
			l, signatures = -l-1, true
		}
		lens = append(lens, l)
	}
	var b strings.Builder
	b.Grow(n)
	for i := range h {
		b.Write(h[i].Raw[:nameLen(lens[i])]) // a name is the start of its field
	}
	if signatures {
		for i := range h {
			if raw := h[i].Raw; lens[i] < 0 {
				b.Write(raw[bytes.IndexByte(raw, ':')+1:])
			}
		}
	}
	all := b.String()
	start := 0
	for i := range h {
		l := nameLen(lens[i])
		h[i].Name, h[i].value = all[start:start+l], ""
		start += l
	}
	if signatures {
		for i := range h {
			if f := &h[i]; lens[i] < 0 {
				end := start + len(f.Raw) - bytes.IndexByte(f.Raw, ':') - 1
				f.value = all[start:end]
				start = end
			}
		}
	}
}

// nameLen is the length of a name as setNames keeps it.
func nameLen(l int32) int {
	if l < 0 {
		return int(-l - 1)
	}
	return int(l)
}

// isSignatureName is isSignatureField for a name in the read buffer.
func isSignatureName(name []byte) bool {
	return len(name) >= len("DKIM-Signature") && bytes.EqualFold(name, []byte("DKIM-Signature"))
}

// readLine appends one line to buf, ending in CRLF (a last line without a
// line end gets one); at the end of input it appends nothing. The line may
// not take buf past max bytes.
func readLine(r *bufio.Reader, buf []byte, max int) ([]byte, error) {
	start := len(buf)
	for {
		frag, err := r.ReadSlice('\n')
		if len(buf)+len(frag) > max {
			return nil, ErrHeaderTooLarge
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(buf) == start {
				return buf, nil
			}
			return append(buf, '\r', '\n'), nil
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if n := len(buf); n-start < 2 || buf[n-2] != '\r' {
		buf = append(buf[:n-1], '\r', '\n')
	}
	return buf, nil
}

// fieldName returns the name of the field that line starts, nil when it
// has no colon.
func fieldName(line []byte) []byte {
	// A loop of its own rather than bytes.Cut and bytes.TrimRight: names
	// are a few bytes long, shorter than the calls cost.
	for i, c := range line {
		if c == ':' {
			name := line[:i]
			for len(name) > 0 && (name[len(name)-1] == ' ' || name[len(name)-1] == '\t') {
				name = name[:len(name)-1]
			}
			return name
		}
	}
	return nil
}

// SelectFields picks the fields that a signature's h= list names, in h=
// order (RFC 6376 section 5.4.2): each name takes the last instance of that
// name not yet taken, going from the bottom of the header up. A name with
// no instance left contributes nothing, which is how oversigning works. The
// result has one entry per name, nil for those without a field.
func (h Header) SelectFields(names []string) [][]byte {
	used := make([]bool, len(h))
	out := make([][]byte, len(names))
	for i, name := range names {
		for j := len(h) - 1; j >= 0; j-- {
			if !used[j] && strings.EqualFold(h[j].Name, name) {
				used[j] = true
				out[i] = h[j].Raw
				break
			}
		}
	}
	return out
}

// Count returns how many fields are named name (case-insensitive).
func (h Header) Count(name string) int {
	n := 0
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			n++
		}
	}
	return n
}

// Bytes returns the header section as it would be written, without the
// empty line after it.
func (h Header) Bytes() []byte {
	var b bytes.Buffer
	for _, f := range h {
		b.Write(f.Raw)
	}
	return b.Bytes()
}

// StripSignatureValue returns field, a DKIM-Signature (or ARC) header field,
// with the value of its b= tag removed and everything else, whitespace
// included, kept (RFC 6376 section 3.7). It fails when the field has no b=
// tag.
func StripSignatureValue(field []byte) ([]byte, error) {
	return appendStripped(make([]byte, 0, len(field)), field)
}

// appendStrippedSpan is appendStripped for a field whose b= value was
// found by parsing it: b is where it is in the field's value (the part
// after the first colon).
func appendStrippedSpan(dst, field []byte, b span) []byte {
	value := bytes.IndexByte(field, ':') + 1
	dst = append(dst, field[:value+b.start]...)
	if value+b.end == len(field) {
		// A field ending with b= keeps its final line break.
		if bytes.HasSuffix(field, []byte("\r\n")) {
			dst = append(dst, '\r', '\n')
		}
		return dst
	}
	return append(dst, field[value+b.end:]...)
}

// appendStripped appends field with its b= value removed to dst.
func appendStripped(dst, field []byte) ([]byte, error) {
	colon := bytes.IndexByte(field, ':')
	if colon < 0 {
		return nil, syntaxErr("not a header field")
	}
	pos := colon + 1
	for pos <= len(field) {
		end := bytes.IndexByte(field[pos:], ';')
		if end < 0 {
			end = len(field)
		} else {
			end += pos
		}
		spec := field[pos:end]
		name, _, ok := bytes.Cut(spec, []byte("="))
		if ok && string(bytes.Trim(name, " \t\r\n")) == "b" {
			eq := pos + bytes.IndexByte(spec, '=') + 1
			out := append(dst, field[:eq]...)
			// A field ending with b= keeps its final line break.
			if end == len(field) && bytes.HasSuffix(field, []byte("\r\n")) {
				return append(out, '\r', '\n'), nil
			}
			return append(out, field[end:]...), nil
		}
		pos = end + 1
	}
	return nil, fmt.Errorf("%w: no b= tag", ErrSyntax)
}
