package imap

import (
	"errors"
	"io"
	"time"
)

// AppendArgs is APPEND mailbox message... (RFC 9051 §6.3.12, RFC 3502
// MULTIAPPEND, RFC 3516 literal8). The messages are read from the
// connection one at a time with Next, after ReadCommand has returned.
type AppendArgs struct {
	Mailbox string
	p       *parser
	started bool
	done    bool
	body    *bodyReader
	// closeNeeded is set when skipping the rest of the command failed.
	closeNeeded bool
}

// AppendMessage is one message of an APPEND.
type AppendMessage struct {
	Flags  []string  // nil if no flag list was given
	Date   time.Time // zero if no date-time was given
	Binary bool      // sent as literal8: may hold NUL and 8-bit data
	Size   int64
	// Body streams the message from the connection. It is valid until the
	// next call of Next or Discard, which skip what was not read.
	Body io.Reader
}

// ErrAppendDone is returned by AppendArgs.Next after the last message.
var ErrAppendDone = errors.New("imap: no more APPEND messages")

// Next returns the next message. The LiteralFunc is asked about each body
// before it is read (with Append set). After the last message it returns
// ErrAppendDone. Errors are *SyntaxError, *LiteralError or I/O errors; in
// each case the command is over (the rest is discarded) and the caller
// answers or closes.
func (a *AppendArgs) Next() (msg *AppendMessage, err error) {
	if a.done {
		return nil, ErrAppendDone
	}
	p := a.p
	defer func() {
		if err != nil && !errors.Is(err, ErrAppendDone) {
			a.finish(err)
			err = a.fixErr(err)
		}
	}()
	defer catch(&err)
	if a.started {
		a.drainBody()
		p.readLine()
		if p.eol() {
			a.done = true
			a.p.r.pending = nil
			return nil, ErrAppendDone
		}
	}
	a.started = true
	p.sp()
	m := &AppendMessage{}
	if p.peek() == '(' {
		m.Flags = p.flagList()
		p.sp()
	}
	if p.peek() == '"' {
		m.Date = p.dateTime()
		p.sp()
	}
	if p.keyword("CATENATE") {
		p.fail("CATENATE is not supported")
	}
	if !p.isLiteralStart() {
		p.fail("expected message literal at %s", p.where())
	}
	info := p.literalHeader(true, true)
	m.Binary, m.Size = info.Binary, info.Size
	a.body = &bodyReader{r: p.r, n: info.Size}
	m.Body = a.body
	return m, nil
}

// fixErr closes the connection where a failed APPEND left it out of step.
func (a *AppendArgs) fixErr(err error) error {
	var se *SyntaxError
	if errors.As(err, &se) && a.closeNeeded {
		se.Close = true
	}
	return err
}

// Discard consumes the rest of the command without reading further
// messages, for a server that has refused the APPEND. It returns an error
// if the connection must be closed (a non-synchronizing literal too large
// to skip, or an I/O error).
func (a *AppendArgs) Discard() error {
	if a.done {
		return nil
	}
	a.finish(nil)
	if a.closeNeeded {
		return errors.New("imap: APPEND could not be skipped")
	}
	return nil
}

func (a *AppendArgs) drainBody() {
	if a.body == nil {
		return
	}
	if _, err := io.Copy(io.Discard, a.body); err != nil {
		a.p.ioFail(err)
	}
	a.body = nil
}

// finish skips the rest of the command after an error or a refusal.
func (a *AppendArgs) finish(cause error) {
	a.done = true
	a.p.r.pending = nil
	var le *LiteralError
	switch {
	case errors.As(cause, &le):
		a.closeNeeded = le.NonSync
		return
	case cause != nil && !isSyntax(cause):
		a.closeNeeded = true
		return
	}
	var err error
	func() {
		defer catch(&err)
		if a.body != nil {
			a.drainBody()
			a.p.readLine()
		}
	}()
	if err != nil {
		a.closeNeeded = true
		return
	}
	a.closeNeeded = a.p.resync()
}

func isSyntax(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se)
}

// bodyReader streams one APPEND literal.
type bodyReader struct {
	r *Reader
	n int64
}

func (b *bodyReader) Read(buf []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(buf)) > b.n {
		buf = buf[:b.n]
	}
	n, err := b.r.br.Read(buf)
	b.n -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
