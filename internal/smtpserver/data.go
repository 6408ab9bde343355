package smtpserver

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/smtp"
)

// data receives a message with DATA and reports whether the session goes
// on.
func (ss *session) data() bool {
	switch {
	case ss.tx == nil:
		ss.fail(503, "5.5.1", "send MAIL first")
		return true
	case len(ss.tx.rcpts) == 0:
		ss.fail(554, "5.5.1", "no valid recipients")
		return true
	case ss.tx.bdat != nil:
		ss.fail(503, "5.5.1", "BDAT transfer in progress")
		return true
	}
	ss.reply(354, "", "start mail input; end with <CRLF>.<CRLF>")
	if err := ss.w.Flush(); err != nil {
		return false
	}
	ss.inData.Store(true)
	defer ss.inData.Store(false)
	ss.conn.SetReadDeadline(minTime(time.Now().Add(ss.srv.cfg.Limits.DataTimeout), ss.end))
	lim := ss.srv.cfg.Limits
	sp := ss.newSpool()
	ss.tx.spool = sp
	return ss.received(copyAll(sp, smtp.NewDataReader(ss.r, lim.MaxDataLine, lim.MaxMessageSize)))
}

// bdat receives one chunk (RFC 3030) and reports whether the session goes
// on. The chunk is always read, even when it is refused, to stay in step.
func (ss *session) bdat(cmd smtp.Command) bool {
	ss.inData.Store(true)
	defer ss.inData.Store(false)
	ss.conn.SetReadDeadline(minTime(time.Now().Add(ss.srv.cfg.Limits.DataTimeout), ss.end))
	lim := ss.srv.cfg.Limits
	if ss.tx == nil || len(ss.tx.rcpts) == 0 || cmd.Size > lim.MaxMessageSize {
		if _, err := io.CopyN(io.Discard, ss.r, cmd.Size); err != nil {
			return false
		}
		switch {
		case ss.tx == nil:
			ss.fail(503, "5.5.1", "send MAIL first")
		case len(ss.tx.rcpts) == 0:
			ss.fail(554, "5.5.1", "no valid recipients")
		default:
			ss.resetTx()
			ss.fail(552, "5.3.4", "message too large")
		}
		return true
	}
	if ss.tx.bdat == nil {
		ss.tx.bdat = smtp.NewBDATReader(lim.MaxDataLine, lim.MaxMessageSize)
		ss.tx.spool = ss.newSpool()
	}
	err := copyAll(ss.tx.spool, ss.tx.bdat.Chunk(ss.r, cmd.Size, cmd.Last))
	if err == nil && !cmd.Last {
		ss.reply(250, "2.0.0", "chunk received")
		return true
	}
	return ss.received(err)
}

// copyAll copies a message into the spool. If the spool fails, the rest
// of the message is still read, so the session stays in step.
func copyAll(sp *spool, r io.Reader) error {
	_, err := io.Copy(sp, r)
	var se *spoolError
	if errors.As(err, &se) {
		if _, err := io.Copy(io.Discard, r); err != nil {
			if _, isReply := smtp.ReplyOf(err); !isReply {
				return err // the connection failed
			}
		}
	}
	return err
}

// received finishes a transfer: refuses it if reading failed, otherwise
// delivers or queues it. The transaction ends either way.
func (ss *session) received(err error) bool {
	defer ss.resetTx()
	if err != nil {
		if r, ok := smtp.ReplyOf(err); ok {
			ss.failReply(r)
			return true
		}
		var spoolErr *spoolError
		if errors.As(err, &spoolErr) {
			ss.srv.log.Error("spooling a message", "session", ss.id, "err", err)
			ss.reply(451, "4.3.0", "temporary failure, try again")
			return true
		}
		return false // the connection failed
	}
	if ss.srv.cfg.Mode == MX {
		ss.deliverInbound()
	} else {
		ss.submit()
	}
	return true
}

// envelope describes the transaction for the delivery pipeline.
func (ss *session) envelope(rcpts []recipient) *delivery.Envelope {
	tx := ss.tx
	env := &delivery.Envelope{
		ID: ss.id, MailFrom: tx.from.String(), RemoteIP: ss.remote, Helo: ss.helo,
		SMTPUTF8: tx.utf8, RequireTLS: tx.requireTLS, BodyType: tx.bodyType, EnvID: tx.envID, Ret: tx.ret,
	}
	if ss.authed {
		env.Account = ss.account.ID
	}
	trace := smtp.Received{
		Helo: ss.helo, RemoteIP: ss.remote, By: ss.srv.cfg.Hostname,
		ESMTP: ss.esmtp, UTF8: tx.utf8, TLS: ss.tls != nil, Auth: ss.authed,
		ID: ss.id, Time: time.Now(),
	}
	if ss.tls != nil {
		trace.TLSVersion, trace.TLSCipher = ss.tls.Version, ss.tls.CipherSuite
	}
	for _, rc := range rcpts {
		env.Recipients = append(env.Recipients, delivery.Recipient{Address: rc.addr, Notify: rc.notify, ORCPT: rc.orcpt})
		trace.Recipients = append(trace.Recipients, rc.path)
	}
	env.Received = strings.TrimRight(trace.String(), "\r\n")
	return env
}

// deliverInbound hands a message from another server to the pipeline.
func (ss *session) deliverInbound() {
	ctx, cancel := ss.ctx()
	defer cancel()
	out, err := ss.srv.pipeline.Deliver(ctx, ss.envelope(ss.tx.rcpts), ss.tx.spool)
	if err != nil {
		ss.srv.log.Error("delivery failed", "session", ss.id, "err", err)
		ss.reply(451, "4.3.0", "temporary failure storing the message, try again")
		return
	}
	ss.answer(out.Verdict)
}

// answer replies with a pipeline verdict.
func (ss *session) answer(v delivery.Verdict) {
	switch v.Action {
	case delivery.Accept:
		ss.reply(250, "2.0.0", "OK: queued as "+ss.id)
	default:
		ss.fail(v.Code, v.Enhanced, v.Text)
	}
}

// memorySpoolLimit is how much of a message is held in memory; larger
// messages go to a file in the spool directory.
const memorySpoolLimit = 1 << 20

// spool holds a received message while it is checked and stored.
type spool struct {
	dir  string
	buf  bytes.Buffer
	file *os.File
	size int64
}

// spoolError marks a failure to write the spool, as opposed to a failure
// of the connection it was read from.
type spoolError struct{ err error }

func (e *spoolError) Error() string { return "spool: " + e.err.Error() }
func (e *spoolError) Unwrap() error { return e.err }

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.buf.Len()+len(p) > memorySpoolLimit {
		f, err := os.CreateTemp(s.dir, "spool-*")
		if err != nil {
			return 0, &spoolError{err}
		}
		os.Remove(f.Name()) // unlinked at once: nothing to clean up after a crash
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			f.Close()
			return 0, &spoolError{err}
		}
		s.buf = bytes.Buffer{}
		s.file = f
	}
	var n int
	var err error
	if s.file != nil {
		n, err = s.file.Write(p)
		if err != nil {
			err = &spoolError{err}
		}
	} else {
		n, err = s.buf.Write(p)
	}
	s.size += int64(n)
	return n, err
}

// Open implements delivery.Message.
func (s *spool) Open() (io.ReadCloser, error) {
	if s.file != nil {
		return io.NopCloser(io.NewSectionReader(s.file, 0, s.size)), nil
	}
	return io.NopCloser(bytes.NewReader(s.buf.Bytes())), nil
}

// Size implements delivery.Message.
func (s *spool) Size() int64 { return s.size }

// Bytes implements delivery.InMemory: the message while it is held in
// memory, nil once it went to a file.
func (s *spool) Bytes() []byte {
	if s.file != nil {
		return nil
	}
	return s.buf.Bytes()
}

// Close releases the spool.
func (s *spool) Close() {
	if s.file != nil {
		s.file.Close()
	}
}
