package delivery

import (
	"bufio"
	"errors"
	"io"
	"slices"
)

// dropFields returns r with the header fields at the given positions (0
// for the first field of the header) left out; the rest of the header and
// the body pass unchanged. A field is its first line and the continuation
// lines after it (RFC 5322 section 2.2.3). It reads line by line, so a
// long field costs no more than the reader's buffer.
func dropFields(r io.Reader, drop []int) io.Reader {
	if len(drop) == 0 {
		return r
	}
	return &fieldDropper{br: bufio.NewReader(r), drop: drop, field: -1, startOfLine: true}
}

type fieldDropper struct {
	br          *bufio.Reader
	drop        []int
	field       int  // position of the field being read
	skipping    bool // the field being read is dropped
	startOfLine bool
	inBody      bool   // past the header: pass everything
	pending     []byte // kept bytes not yet returned
	err         error  // the error to return once pending is out
}

func (d *fieldDropper) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.inBody {
			return d.br.Read(p)
		}
		d.next()
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// next reads one line, or as much of it as the buffer holds, and keeps it
// unless it belongs to a dropped field.
func (d *fieldDropper) next() {
	line, err := d.br.ReadSlice('\n')
	if d.startOfLine && len(line) > 0 {
		switch {
		case line[0] == '\n' || line[0] == '\r' && (len(line) == 1 || line[1] == '\n'):
			d.inBody, d.skipping = true, false // the empty line ends the header
		case line[0] != ' ' && line[0] != '\t':
			d.field++
			d.skipping = slices.Contains(d.drop, d.field)
		}
	}
	if !d.skipping {
		d.pending = append(d.pending[:0], line...)
	}
	d.startOfLine = err == nil
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		d.err = err
	}
}
