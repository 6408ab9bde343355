package smtpserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"sealpost.dev/sealpost/internal/smtp"
	"sealpost.dev/sealpost/internal/store"
)

// session is one SMTP connection.
type session struct {
	srv *Server
	// raw is the accepted connection; conn is raw or the TLS connection
	// over it. Shutdown touches only raw, which never changes.
	raw    net.Conn
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	remote netip.Addr
	id     string
	end    time.Time // the session's hard deadline

	tls      *tls.ConnectionState
	helo     string
	esmtp    bool
	account  store.Account
	authed   bool
	authFail int
	errors   int
	idle     int // commands outside a transaction in a row
	// appPassword is the ID of the app password the session logged in
	// with, 0 for the main password.
	appPassword int64

	tx *transaction

	// deregister takes the session out of the registry of live sessions.
	deregister func()

	inData  atomic.Bool
	closing atomic.Bool
}

// transaction is one MAIL ... DATA/BDAT LAST.
type transaction struct {
	from       smtp.Path
	utf8       bool
	requireTLS bool
	bodyType   string
	envID      string
	ret        string
	rcpts      []recipient
	spool      *spool
	bdat       *smtp.BDATReader
}

type recipient struct {
	addr   string // normalised
	local  bool   // in a hosted domain
	path   smtp.Path
	notify string
	orcpt  string
}

func newSession(srv *Server, c net.Conn, remote netip.Addr) *session {
	var id [6]byte
	rand.Read(id[:])
	ss := &session{
		srv: srv, raw: c, conn: c, remote: remote, id: hex.EncodeToString(id[:]),
		r: bufio.NewReaderSize(c, 4096), w: bufio.NewWriterSize(c, 4096),
		end: time.Now().Add(srv.cfg.Limits.SessionTimeout),
	}
	return ss
}

// shutdown asks the session to end: at once if it waits for a command,
// after the transfer if one is under way.
func (ss *session) Shutdown() {
	ss.closing.Store(true)
	if !ss.inData.Load() {
		ss.raw.SetReadDeadline(time.Now())
	}
}

// Close implements listener.Session.
func (ss *session) Close() { ss.raw.Close() }

func (ss *session) Run() {
	defer ss.conn.Close()
	defer ss.resetTx()
	defer ss.unregister()
	log := ss.srv.log.With("session", ss.id, "remote", ss.remote)
	if ss.srv.cfg.Mode == Submissions {
		if !ss.handshake() {
			return
		}
	}
	ss.reply(220, "", ss.srv.cfg.Hostname+" ESMTP Sealpost")
	for {
		if ss.closing.Load() {
			ss.reply(421, "4.3.2", "service shutting down, try again later")
			ss.w.Flush()
			return
		}
		if ss.r.Buffered() == 0 {
			// Replies to pipelined commands go out together (RFC 2920).
			if err := ss.w.Flush(); err != nil {
				return
			}
		}
		ss.conn.SetReadDeadline(minTime(time.Now().Add(ss.srv.cfg.Limits.IdleTimeout), ss.end))
		if ss.closing.Load() {
			continue // a shutdown that came before the deadline was set
		}
		line, err := smtp.ReadLine(ss.r, ss.srv.cfg.Limits.MaxLineLength)
		if err != nil {
			var r *smtp.Reply
			if errors.As(err, &r) {
				if isBDAT(line) {
					ss.reply(421, "4.5.0", "malformed BDAT command, closing connection")
					ss.w.Flush()
					return
				}
				ss.fail(r.Code, r.Enhanced, r.Text)
				if ss.tooManyErrors() {
					return
				}
				continue
			}
			if ss.closing.Load() {
				continue // the top of the loop answers the shutdown
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				ss.reply(421, "4.4.2", "timeout, closing connection")
				ss.w.Flush()
			} else if !errors.Is(err, io.EOF) {
				log.Debug("session ended", "err", err)
			}
			return
		}
		if !ss.command(line) {
			ss.w.Flush()
			return
		}
		if ss.tooManyErrors() {
			return
		}
	}
}

// isBDAT reports whether a command line starts with the BDAT verb.
func isBDAT(line []byte) bool {
	return len(line) >= 4 && strings.EqualFold(string(line[:4]), "BDAT") && (len(line) == 4 || line[4] == ' ' || line[4] == '\r' || line[4] == '\n')
}

// command runs one command line and reports whether the session goes on.
func (ss *session) command(line []byte) bool {
	parse := smtp.ParseCommand
	if ss.tx != nil && ss.tx.utf8 {
		parse = smtp.ParseCommandUTF8
	}
	cmd, err := parse(line)
	if err != nil {
		if isBDAT(line) {
			// The chunk that follows has a length we cannot trust: the
			// session cannot get back in step.
			ss.reply(421, "4.5.0", "malformed BDAT command, closing connection")
			return false
		}
		if r, ok := smtp.ReplyOf(err); ok {
			ss.fail(r.Code, r.Enhanced, r.Text)
		} else {
			ss.fail(500, "5.5.2", "syntax error")
		}
		return true
	}
	switch cmd.Verb {
	case smtp.VerbMAIL, smtp.VerbRCPT, smtp.VerbDATA, smtp.VerbBDAT:
	default:
		if ss.idle++; ss.idle > ss.srv.cfg.Limits.MaxIdleCommands {
			ss.reply(421, "4.7.0", "too many commands without a transaction, closing connection")
			return false
		}
	}
	switch cmd.Verb {
	case smtp.VerbEHLO, smtp.VerbHELO:
		ss.hello(cmd)
	case smtp.VerbSTARTTLS:
		return ss.startTLS()
	case smtp.VerbAUTH:
		return ss.auth(cmd)
	case smtp.VerbMAIL:
		ss.mail(cmd)
	case smtp.VerbRCPT:
		ss.rcpt(cmd)
	case smtp.VerbDATA:
		return ss.data()
	case smtp.VerbBDAT:
		return ss.bdat(cmd)
	case smtp.VerbRSET:
		ss.resetTx()
		ss.reply(250, "2.0.0", "OK")
	case smtp.VerbNOOP:
		ss.reply(250, "2.0.0", "OK")
	case smtp.VerbVRFY:
		ss.reply(252, "2.5.0", "cannot verify the user, but will take a message for it")
	case smtp.VerbEXPN:
		ss.fail(502, "5.5.1", "EXPN is not offered")
	case smtp.VerbHELP:
		ss.reply(214, "2.0.0", "Sealpost: see RFC 5321")
	case smtp.VerbQUIT:
		ss.reply(221, "2.0.0", ss.srv.cfg.Hostname+" closing connection")
		return false
	default:
		ss.fail(500, "5.5.1", "command not recognised")
	}
	return true
}

func (ss *session) hello(cmd smtp.Command) {
	arg := strings.TrimSpace(cmd.Arg)
	if _, isLiteral := smtp.ParseAddressLiteral(arg); !smtp.ValidDomain(arg) && !isLiteral {
		ss.fail(501, "5.5.4", "give your host name or address literal")
		return
	}
	ss.resetTx()
	ss.helo, ss.esmtp = arg, cmd.Verb == smtp.VerbEHLO
	if !ss.esmtp {
		ss.reply(250, "", ss.srv.cfg.Hostname)
		return
	}
	ext := []string{
		ss.srv.cfg.Hostname,
		"PIPELINING",
		fmt.Sprintf("SIZE %d", ss.srv.cfg.Limits.MaxMessageSize),
		"8BITMIME",
		"SMTPUTF8",
		"ENHANCEDSTATUSCODES",
		"CHUNKING",
		"DSN",
	}
	if ss.tls == nil {
		ext = append(ext, "STARTTLS")
	} else {
		ext = append(ext, "REQUIRETLS")
	}
	if ss.srv.cfg.Mode != MX && ss.tls != nil && !ss.authed {
		ext = append(ext, "AUTH PLAIN LOGIN")
	}
	ss.reply(250, "", strings.Join(ext, "\n"))
}

// startTLS upgrades the connection. Whatever the client sent after the
// STARTTLS command, before the handshake, is thrown away.
func (ss *session) startTLS() bool {
	if ss.tls != nil {
		ss.fail(503, "5.5.1", "TLS is already active")
		return true
	}
	if ss.r.Buffered() > 0 {
		ss.srv.log.Warn("commands pipelined before the TLS handshake discarded",
			"session", ss.id, "remote", ss.remote, "bytes", ss.r.Buffered())
	}
	ss.reply(220, "2.0.0", "ready to start TLS")
	if err := ss.w.Flush(); err != nil {
		return false
	}
	if !ss.handshake() {
		return false
	}
	// RFC 3207 §4.2: forget everything learned before TLS.
	ss.resetTx()
	ss.helo, ss.esmtp = "", false
	return true
}

// handshake runs the TLS handshake and replaces the reader and writer, so
// bytes buffered before TLS are discarded.
func (ss *session) handshake() bool {
	tc := tls.Server(ss.conn, ss.srv.cfg.TLS)
	ss.conn.SetDeadline(minTime(time.Now().Add(30*time.Second), ss.end))
	if err := tc.Handshake(); err != nil {
		ss.srv.log.Debug("TLS handshake failed", "session", ss.id, "remote", ss.remote, "err", err)
		return false
	}
	ss.conn.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	ss.conn, ss.tls = tc, &st
	ss.r = bufio.NewReaderSize(tc, 4096)
	ss.w = bufio.NewWriterSize(tc, 4096)
	return true
}

func (ss *session) resetTx() {
	if ss.tx != nil && ss.tx.spool != nil {
		ss.tx.spool.Close()
	}
	ss.tx = nil
}

func (ss *session) tooManyErrors() bool {
	if ss.errors < ss.srv.cfg.Limits.MaxErrors {
		return false
	}
	ss.reply(421, "4.7.0", "too many errors, closing connection")
	ss.w.Flush()
	return true
}

// reply writes a reply; text lines are separated by "\n".
func (ss *session) reply(code int, enhanced, text string) {
	r := smtp.Reply{Code: code, Enhanced: enhanced, Text: text}
	ss.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	r.WriteTo(ss.w)
}

// fail writes an error reply and counts it.
func (ss *session) fail(code int, enhanced, text string) {
	ss.errors++
	ss.reply(code, enhanced, text)
}

func (ss *session) failReply(r *smtp.Reply) { ss.fail(r.Code, r.Enhanced, r.Text) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ctx returns a context bounded by the session's deadline.
func (ss *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithDeadline(context.Background(), ss.end)
}

// newSpool makes a spool for a message.
func (ss *session) newSpool() *spool {
	return &spool{dir: ss.srv.cfg.SpoolDir}
}
