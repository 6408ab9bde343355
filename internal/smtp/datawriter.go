package smtp

import (
	"bufio"
	"bytes"

	"errors"
)

// ErrMessageBareCR is returned by DataWriter when the message holds a CR
// not followed by LF: no well-behaved receiver accepts one (RFC 5321
// section 2.3.8), and passing it on could help smuggle a message.
var ErrMessageBareCR = errors.New("smtp: message holds a bare CR")

// DataWriter writes a message as the text of a DATA command: it adds a dot
// to lines that start with one (RFC 5321 section 4.5.2), turns a lone LF
// into CRLF, refuses a bare CR, and on Close ends the text with
// <CRLF>.<CRLF>, adding the CRLF only if the message did not end with one.
//
// After an error part of the message may have been written and Close does
// not write the end marker; the connection must then be closed, since any
// way of ending the data would deliver a truncated message.
type DataWriter struct {
	w         *bufio.Writer
	lineStart bool
	pendingCR bool
	err       error
}

// NewDataWriter returns a DataWriter writing to w, for use after a 354
// reply.
func NewDataWriter(w *bufio.Writer) *DataWriter {
	return &DataWriter{w: w, lineStart: true}
}

// Write implements io.Writer.
func (d *DataWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	i := 0
	for i < len(p) {
		if d.pendingCR {
			if p[i] != '\n' {
				d.err = ErrMessageBareCR
				return i, d.err
			}
			d.pendingCR, d.lineStart = false, true
			d.write(crlf)
			i++
			continue
		}
		if d.lineStart && p[i] == '.' {
			d.write([]byte{'.'})
		}
		d.lineStart = false
		j := indexLFCR(p[i:])
		if j < 0 {
			d.write(p[i:])
			i = len(p)
			break
		}
		d.write(p[i : i+j])
		if p[i+j] == '\n' {
			d.write(crlf)
			d.lineStart = true
		} else {
			d.pendingCR = true
		}
		i += j + 1
	}
	return i, d.err
}

func (d *DataWriter) write(b []byte) {
	if d.err == nil && len(b) > 0 {
		_, d.err = d.w.Write(b)
	}
}

// Close ends the data with <CRLF>.<CRLF> and flushes the bufio.Writer. It
// does not close the underlying connection.
func (d *DataWriter) Close() error {
	if d.err != nil {
		return d.err
	}
	if d.pendingCR {
		d.err = ErrMessageBareCR
		return d.err
	}
	if !d.lineStart {
		d.write(crlf)
	}
	d.write([]byte(".\r\n"))
	if d.err == nil {
		d.err = d.w.Flush()
	}
	if d.err == nil {
		d.err = errClosed
		return nil
	}
	return d.err
}

var errClosed = errors.New("smtp: DataWriter closed")

// indexLFCR returns the index of the first CR or LF in p, which may hold
// many lines: looking for LF first keeps a message of many short lines
// linear, and a CR before it ends the message anyway unless it is the
// CR of a CRLF.
func indexLFCR(p []byte) int {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return bytes.IndexByte(p, '\r')
	}
	if j := bytes.IndexByte(p[:i], '\r'); j >= 0 {
		return j
	}
	return i
}
