package imapserver

import (
	"compress/flate"
	"io"
	"net"
)

// deflateConn is the client's side of COMPRESS=DEFLATE (RFC 4978): raw
// deflate both ways, each write flushed so that the server sees it whole.
type deflateConn struct {
	net.Conn
	r io.ReadCloser
	w *flate.Writer
}

func newDeflateConn(c net.Conn) *deflateConn {
	w, _ := flate.NewWriter(c, flate.DefaultCompression)
	return &deflateConn{Conn: c, r: flate.NewReader(c), w: w}
}

func (d *deflateConn) Read(p []byte) (int, error) { return d.r.Read(p) }

func (d *deflateConn) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, d.w.Flush()
}
