package dkim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
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
}

// Value returns what follows the colon, line breaks and all.
func (f Field) Value() string {
	_, v, _ := bytes.Cut(f.Raw, []byte(":"))
	return string(v)
}

// Header is a message's header section, fields in message order.
type Header []Field

// ReadHeader reads the header section from r up to and including the empty
// line that ends it, or to the end of input, refusing more than max bytes
// (MaxHeaderSize when max <= 0). r is left at the first byte of the body.
func ReadHeader(r *bufio.Reader, max int) (Header, error) {
	if max <= 0 {
		max = MaxHeaderSize
	}
	var h Header
	total := 0
	for {
		line, err := readLine(r, max-total)
		if err != nil {
			return nil, err
		}
		if line == nil || len(line) == 2 { // end of input, or "\r\n"
			return h, nil
		}
		total += len(line)
		if (line[0] == ' ' || line[0] == '\t') && len(h) > 0 {
			h[len(h)-1].Raw = append(h[len(h)-1].Raw, line...)
		} else {
			h = append(h, Field{Name: fieldName(line), Raw: line})
		}
	}
}

// readLine reads one line and returns it ending in CRLF (a last line
// without a line end gets one), or nil at the end of input.
func readLine(r *bufio.Reader, room int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > room {
			return nil, ErrHeaderTooLarge
		}
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return nil, nil
			}
			return append(line, '\r', '\n'), nil
		}
		if err != nil {
			return nil, err
		}
		break
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		line = append(line[:len(line)-1], '\r', '\n')
	}
	return line, nil
}

func fieldName(line []byte) string {
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return ""
	}
	return string(bytes.TrimRight(name, " \t"))
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
			out := make([]byte, 0, len(field))
			out = append(out, field[:eq]...)
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
