package imapserver

import (
	"bufio"
	"compress/flate"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// A session waiting for its client holds no buffer: it waits for the
// first byte of the next command in a one-byte array (leadReader), and
// borrows a bufio.Reader from cmdBuffers only once that byte is in, for
// as long as the command lasts. The response buffer is lent likewise by
// package imap. What an idle session keeps is its state, its goroutine's
// stack and whatever crypto/tls and the kernel keep for the connection.

// cmdBufferSize is the size of the lent command buffers.
const cmdBufferSize = 4096

var cmdBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, cmdBufferSize) }}

// leadReader is a reader with one byte of look-ahead, read by wait.
type leadReader struct {
	src io.Reader
	b   [1]byte
	has bool
}

// wait blocks until a byte can be read, keeping it for the next Read.
func (l *leadReader) wait() error {
	for range 100 {
		if l.has {
			return nil
		}
		n, err := l.src.Read(l.b[:])
		if n > 0 {
			l.has = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

func (l *leadReader) Read(p []byte) (int, error) {
	if !l.has {
		return l.src.Read(p)
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0], l.has = l.b[0], false
	return 1, nil
}

// waitReader reads the connection. A read that times out asks the
// session whether to go on (keepWaiting): IDLE's polls and doorbell work
// that way, wherever the read is, even inside the inflater of COMPRESS,
// which would not survive an error.
type waitReader struct{ ss *session }

func (w waitReader) Read(p []byte) (int, error) {
	for {
		n, err := w.ss.conn.Read(p)
		if n > 0 || !isTimeout(err) || !w.ss.keepWaiting() {
			return n, err
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readCommandBuffer makes sure the session has a command buffer: at once
// if one is lent or the client has sent something, after waiting for the
// client otherwise.
func (ss *session) readCommandBuffer() error {
	if ss.br != nil {
		return nil
	}
	if err := ss.lead.wait(); err != nil {
		return err
	}
	ss.br = cmdBuffers.Get().(*bufio.Reader)
	ss.br.Reset(&ss.lead)
	ss.r.SetBuffer(ss.br)
	return nil
}

// releaseBuffers gives the lent buffers back, unless they hold what the
// client sent ahead or the responses not yet sent.
func (ss *session) releaseBuffers() {
	ss.w.Release()
	if ss.inflate != nil {
		ss.inflate.src.release()
	}
	if ss.br == nil || ss.br.Buffered() > 0 || !ss.r.Idle() {
		return
	}
	ss.dropCommandBuffer()
}

// dropCommandBuffer returns the command buffer, with anything in it.
func (ss *session) dropCommandBuffer() {
	if ss.br == nil {
		return
	}
	ss.br.Reset(nil)
	cmdBuffers.Put(ss.br)
	ss.br = nil
	ss.r.SetBuffer(nil)
}

// COMPRESS=DEFLATE (RFC 4978) with the standard library's compress/flate.
//
// Outgoing, each burst of responses (what one Flush sends) is compressed
// by a flate.Writer borrowed from deflaters and given back after the sync
// flush that ends the burst: a fresh compressor after a sync flush
// continues the stream validly, since it refers to no earlier byte. A
// compressor costs about 800 KiB at every level, so an idle session holds
// none; the price is that a burst cannot refer to the ones before it.
//
// Incoming, the inflater (inflate.go, not compress/flate's: see there)
// must keep the client's 32 KiB window for the whole session: that is the
// memory COMPRESS adds to an idle session.

// deflateLevel trades CPU for ratio; the memory is the same at every
// level from 2 to 9 (level 1 takes more).
const deflateLevel = 5

var deflaters = sync.Pool{New: func() any {
	w, err := flate.NewWriter(io.Discard, deflateLevel)
	if err != nil {
		panic(err)
	}
	return w
}}

// deflater is the compressing side of a session's connection.
type deflater struct {
	dst io.Writer
	fw  *flate.Writer
}

func (d *deflater) Write(p []byte) (int, error) {
	if d.fw == nil {
		d.fw = deflaters.Get().(*flate.Writer)
		d.fw.Reset(d.dst)
	}
	return d.fw.Write(p)
}

// Flush sends the burst with a sync flush and returns the compressor.
func (d *deflater) Flush() error {
	if d.fw == nil {
		return nil
	}
	err := d.fw.Flush()
	d.fw.Reset(io.Discard)
	deflaters.Put(d.fw)
	d.fw = nil
	return err
}

// newInflater reads compressed bytes from ahead (what the client sent
// right after COMPRESS, already compressed), then from src.
func newInflater(src io.Reader, ahead []byte) *inflater {
	bs := &byteSource{src: src}
	if len(ahead) <= len(bs.small) {
		bs.buf = bs.small[:]
	} else {
		bs.buf = make([]byte, len(ahead))
	}
	bs.w = copy(bs.buf, ahead)
	return newInflaterOver(bs)
}

// byteSource feeds the inflater. It lends its buffer like the command
// buffer, keeping the few bytes that may wait in it between commands (a
// flush's last bits) in a small array.
type byteSource struct {
	src   io.Reader
	buf   []byte // buf[r:w] waits to be read; buf is small[:], a lent buffer or nil
	r, w  int
	lent  *[]byte
	small [16]byte
}

var inflateBuffers = sync.Pool{New: func() any { b := make([]byte, cmdBufferSize); return &b }}

// fill is called when nothing waits.
func (b *byteSource) fill() error {
	if b.lent == nil {
		// Between commands: wait for the first byte in the small array,
		// then borrow a buffer for the rest.
		n, err := b.src.Read(b.small[:1])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return err
		}
		b.lent = inflateBuffers.Get().(*[]byte)
		b.buf = *b.lent
		b.buf[0] = b.small[0]
		b.r, b.w = 0, 1
		return nil
	}
	n, err := b.src.Read(b.buf)
	b.r, b.w = 0, n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// release gives the buffer back if what waits in it fits the small array.
func (b *byteSource) release() {
	if b.lent == nil || b.w-b.r > len(b.small) {
		return
	}
	n := copy(b.small[:], b.buf[b.r:b.w])
	inflateBuffers.Put(b.lent)
	b.lent, b.buf, b.r, b.w = nil, b.small[:], 0, n
}

// take returns the next byte. Without wait it returns only a byte that
// has arrived, and false if none has.
func (b *byteSource) take(wait bool) (byte, bool, error) {
	if b.r == b.w {
		if !wait {
			return 0, false, nil
		}
		if err := b.fill(); err != nil {
			return 0, false, err
		}
	}
	c := b.buf[b.r]
	b.r++
	return c, true, nil
}

// keepWaiting is asked by a read that timed out whether to go on: yes
// while IDLE goes on, or NOTIFY waits for a command (after bringing the
// client up to date if the hub rang), no otherwise.
func (ss *session) keepWaiting() bool {
	ss.idleMu.Lock()
	idling, rung := ss.idling, ss.rung
	ss.rung = false
	ss.idleMu.Unlock()
	if !idling || ss.closing.Load() || !time.Now().Before(ss.idleUntil) {
		return false
	}
	if rung {
		if ss.idleCmd != nil {
			ss.syncEnd(ss.idleCmd, true)
		}
		if ss.notify != nil && !ss.announceNow() {
			return false
		}
		if err := ss.w.Flush(); err != nil || ss.closing.Load() {
			return false
		}
		ss.w.Release()
	}
	ss.idleMu.Lock()
	next := ss.idleUntil
	if ss.rung {
		next = time.Now()
	}
	ss.conn.SetReadDeadline(next)
	ss.idleMu.Unlock()
	return true
}
