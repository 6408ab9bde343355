package smtp

import (
	"bufio"
	"bytes"
	"io"
)

// BDATReader reads the chunks of one message sent with BDAT (RFC 3030).
//
// BDAT has no end marker and no dot-stuffing, so octets are taken as they
// are. Sealpost nevertheless applies the DATA policy to the message as a
// whole, across chunk boundaries: a bare CR, a bare LF next to a
// line-start dot, an overlong line, or too many octets make the message
// invalid, and other bare LFs are passed on as CRLF. The message is stored
// the same whichever command carried it, and BODY=BINARYMIME (RFC 3030
// section 3), the one reason to accept arbitrary octets, is not offered.
//
// Each chunk is read in full even when the message is already invalid, so
// the session stays in step (RFC 3030 section 2: the server must consume
// the chunk before replying).
type BDATReader struct {
	sc scanner
}

// NewBDATReader returns a reader for one message; limits as in
// NewDataReader.
func NewBDATReader(maxLine int, maxSize int64) *BDATReader {
	return &BDATReader{sc: scanner{maxLine: maxLine, maxSize: maxSize, segs: make([][]byte, 0, 8)}}
}

// Chunk returns a reader for the size octets following a BDAT command.
// It reads exactly size octets from r and then returns io.EOF, or, if the
// message has broken the policy by then (in this or an earlier chunk), the
// policy error: the caller answers BDAT with it and discards the
// transaction. last marks the chunk of "BDAT n LAST", after which a CR
// ending the message counts as bare. The reader must be read to its end
// before the next chunk is started.
func (b *BDATReader) Chunk(r *bufio.Reader, size int64, last bool) io.Reader {
	return &chunkReader{b: b, r: r, left: size, last: last}
}

// Size returns the number of octets of text passed on so far.
func (b *BDATReader) Size() int64 { return b.sc.size }

type chunkReader struct {
	b    *BDATReader
	r    *bufio.Reader
	left int64
	last bool
	out  segReader
	err  error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for {
		if len(c.out.segs) > 0 {
			return c.out.copyOut(p), nil
		}
		if c.out.pending > 0 {
			c.r.Discard(c.out.pending)
			c.out.pending = 0
		}
		if c.err != nil {
			return 0, c.err
		}
		c.fill()
	}
}

func (c *chunkReader) fill() {
	sc := &c.b.sc
	if c.left == 0 {
		if c.last {
			sc.finish()
		}
		c.err = io.EOF
		if sc.err != nil {
			c.err = sc.err
		}
		return
	}
	if c.r.Buffered() == 0 {
		if _, err := c.r.Peek(1); err != nil {
			c.err = eofErr(err, 1)
			return
		}
	}
	n := c.r.Buffered()
	if int64(n) > c.left {
		n = int(c.left)
	}
	buf, _ := c.r.Peek(n)
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i+1]
	}
	sc.segs = sc.segs[:0]
	c.out.pending = sc.feed(buf)
	c.out.segs = sc.segs
	c.left -= int64(c.out.pending)
}
