package pop3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// state is a POP3 session state (RFC 1939 section 3). UPDATE is not a
// state the session waits in: QUIT runs it and ends the session.
type state int

const (
	authorization state = iota
	transaction
)

// session is one POP3 connection.
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

	tls      bool
	state    state
	user     string // the USER name, waiting for PASS
	authFail int
	errors   int

	account store.Account
	drop    *maildrop
	// appPassword is the ID of the app password the session logged in
	// with, 0 for the main password.
	appPassword int64

	// deregister takes the session out of the registry of live sessions.
	deregister func()

	sending atomic.Bool // a RETR or TOP is being sent
	closing atomic.Bool
}

func newSession(srv *Server, c net.Conn, remote netip.Addr) *session {
	var id [6]byte
	rand.Read(id[:])
	ss := &session{srv: srv, raw: c, conn: c, remote: remote, id: hex.EncodeToString(id[:])}
	ss.setConn(c)
	return ss
}

// setConn makes c the connection the session reads and writes, with fresh
// buffers: whatever was buffered from the previous one is dropped.
func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.r = bufio.NewReaderSize(c, 4096)
	ss.w = bufio.NewWriterSize(&deadlineWriter{c: c, timeout: ss.srv.cfg.Limits.WriteTimeout}, 4096)
}

// deadlineWriter gives every write to the client its own deadline, so a
// long RETR to a slow but live reader goes on while a stalled one ends.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

// shutdown asks the session to end: at once if it waits for a command,
// after the message if one is being sent.
func (ss *session) Shutdown() {
	ss.closing.Store(true)
	if !ss.sending.Load() {
		ss.raw.SetReadDeadline(time.Now())
	}
}

// Close implements listener.Session.
func (ss *session) Close() { ss.raw.Close() }

func (ss *session) Run() {
	defer ss.conn.Close()
	defer ss.unregister()
	if ss.srv.cfg.Mode == POP3S && !ss.handshake() {
		return
	}
	// No APOP timestamp in the greeting: APOP is not offered.
	ss.ok(ss.srv.cfg.Hostname + " Sealpost POP3 server ready")
	for {
		if ss.closing.Load() {
			ss.err("[SYS/TEMP] server shutting down, no messages deleted")
			ss.w.Flush()
			return
		}
		if ss.r.Buffered() == 0 {
			// Replies to pipelined commands go out together (RFC 2449
			// section 6.6).
			if err := ss.w.Flush(); err != nil {
				return
			}
		}
		ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.Limits.IdleTimeout))
		if ss.closing.Load() {
			continue // a shutdown that came before the deadline was set
		}
		line, err := readLine(ss.r, ss.srv.cfg.Limits.MaxLineLength)
		if errors.Is(err, errLineTooLong) {
			ss.fail("line too long")
			if ss.tooManyErrors() {
				return
			}
			continue
		}
		if err != nil {
			if ss.closing.Load() {
				continue // the top of the loop answers the shutdown
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// The autologout timer of RFC 1939 section 3: no UPDATE.
				ss.err("idle for too long, closing connection; no messages deleted")
				ss.w.Flush()
			} else if !errors.Is(err, io.EOF) {
				ss.srv.log.Debug("session ended", "session", ss.id, "remote", ss.remote, "err", err)
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

// errLineTooLong reports a command line over the limit; the rest of it
// has been read and dropped.
var errLineTooLong = errors.New("pop3: line too long")

// readLine reads one line of at most max octets with its line end, and
// returns it without the CRLF (a bare LF is taken as a line end too).
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > max {
			if err == nil {
				return nil, errLineTooLong
			}
			// Drop the rest of the line before answering.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			return line, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, err
		}
	}
}

// command runs one command line and reports whether the session goes on.
func (ss *session) command(line []byte) bool {
	verb, arg, _ := strings.Cut(string(line), " ")
	verb = strings.ToUpper(verb)
	if ss.state == authorization {
		return ss.authCommand(verb, arg)
	}
	switch verb {
	case "STAT":
		ss.stat(arg)
	case "LIST":
		ss.list(arg)
	case "UIDL":
		ss.uidl(arg)
	case "RETR":
		return ss.retr(arg)
	case "TOP":
		return ss.top(arg)
	case "DELE":
		ss.dele(arg)
	case "RSET":
		ss.rset(arg)
	case "NOOP":
		if arg != "" {
			ss.fail("NOOP takes no argument")
			return true
		}
		ss.ok("")
	case "CAPA":
		ss.capa()
	case "QUIT":
		ss.update()
		return false
	case "USER", "PASS", "AUTH", "APOP", "STLS":
		ss.fail("already logged in")
	default:
		ss.fail("unknown command")
	}
	return true
}

// authCommand runs one command in the AUTHORIZATION state.
func (ss *session) authCommand(verb, arg string) bool {
	switch verb {
	case "CAPA":
		ss.capa()
	case "STLS":
		return ss.stls(arg)
	case "USER":
		return ss.userCmd(arg)
	case "PASS":
		return ss.pass(arg)
	case "AUTH":
		return ss.auth(arg)
	case "APOP":
		ss.fail("APOP is not offered; use STLS and AUTH PLAIN or USER/PASS")
	case "QUIT":
		ss.ok("Sealpost POP3 server signing off")
		return false
	case "STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "RSET", "NOOP":
		ss.fail("log in first")
	default:
		ss.fail("unknown command")
	}
	return true
}

// capa answers CAPA (RFC 2449 section 5) with what the session may use
// now: STLS before TLS, USER and SASL only after it and before login.
func (ss *session) capa() {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION Sealpost"}
	if ss.state == authorization {
		if ss.tls {
			caps = append(caps, "USER", "SASL PLAIN")
		} else if ss.srv.cfg.Mode == POP3 {
			caps = append(caps, "STLS")
		}
	}
	ss.ok("capability list follows")
	for _, c := range caps {
		ss.line(c)
	}
	ss.line(".")
}

// stls upgrades the connection (RFC 2595 section 4). Whatever the client
// sent after the command, before the handshake, is thrown away.
func (ss *session) stls(arg string) bool {
	switch {
	case arg != "":
		ss.fail("STLS takes no argument")
		return true
	case ss.tls:
		ss.fail("TLS is already active")
		return true
	}
	if n := ss.r.Buffered(); n > 0 {
		ss.srv.log.Warn("commands pipelined before the TLS handshake discarded",
			"session", ss.id, "remote", ss.remote, "bytes", n)
	}
	ss.ok("begin TLS negotiation")
	if err := ss.w.Flush(); err != nil {
		return false
	}
	if !ss.handshake() {
		return false
	}
	// Nothing learned before TLS carries over.
	ss.user = ""
	return true
}

// handshake runs the TLS handshake and replaces the reader and writer, so
// bytes buffered before TLS are discarded.
func (ss *session) handshake() bool {
	tc := tls.Server(ss.conn, ss.srv.cfg.TLS)
	ss.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		ss.srv.log.Debug("TLS handshake failed", "session", ss.id, "remote", ss.remote, "err", err)
		return false
	}
	ss.conn.SetDeadline(time.Time{})
	ss.setConn(tc)
	ss.tls = true
	return true
}

func (ss *session) tooManyErrors() bool {
	if ss.errors < ss.srv.cfg.Limits.MaxErrors {
		return false
	}
	ss.err("too many errors, closing connection")
	ss.w.Flush()
	return true
}

// ok writes a positive status line.
func (ss *session) ok(text string) {
	if text == "" {
		ss.line("+OK")
		return
	}
	ss.line("+OK " + text)
}

// err writes a negative status line; text may start with a response code.
func (ss *session) err(text string) { ss.line("-ERR " + text) }

// fail writes a negative status line and counts it as a client error.
func (ss *session) fail(text string) {
	ss.errors++
	ss.err(text)
}

func (ss *session) line(s string) {
	ss.w.WriteString(s)
	ss.w.WriteString("\r\n")
}

// ctx returns a context for one store operation.
func (ss *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}
