// Package smtptest runs a small scripted SMTP server on loopback for the
// tests of SMTP clients. It speaks enough of RFC 5321 to take a message
// (EHLO, HELO, STARTTLS, MAIL, RCPT, DATA, RSET, NOOP, QUIT), records what
// it received, and lets a test choose the reply to any command.
//
// It is not a mail server: it checks no addresses, keeps messages in memory
// and answers every session the same way unless the test's Reply hook says
// otherwise.
package smtptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/smtp"
)

// Config sets up a Server.
type Config struct {
	// Hostname is the name in the greeting and EHLO reply; default
	// "mx.test".
	Hostname string
	// Extensions are the EHLO keywords announced (with their parameters,
	// as "SIZE 1000"). STARTTLS is added when TLS is set and the session
	// is not yet in TLS; REQUIRETLS is announced only inside TLS.
	Extensions []string
	// TLS, when set, makes STARTTLS available with this configuration.
	TLS *tls.Config
	// Reply, when set, may replace the reply to a command: it gets the
	// session's state and the command line, and returns a complete reply
	// ("550 5.1.1 No such user", several lines separated by "\n"), or ""
	// for the default. For DATA it is asked twice: with "DATA" before the
	// 354, and with "." after the message.
	Reply func(s *SessionState, line string) string
	// Greeting replaces the 220 greeting, e.g. "554 go away".
	Greeting string
}

// SessionState is what a Reply hook may look at.
type SessionState struct {
	TLS   bool
	Helo  string
	Rcpts int // RCPT commands accepted in this transaction
}

// Message is one transaction the server took, or was offered.
type Message struct {
	Helo     string
	TLS      bool
	Mail     string   // the MAIL command line
	Rcpts    []string // the RCPT command lines that got a 2xx reply
	Data     []byte   // the text, dot-stuffing undone
	Accepted bool     // the final reply was 2xx
	// Pipelined reports that the first RCPT had arrived before the reply
	// to MAIL was sent (RFC 2920).
	Pipelined bool
}

// Server is a running fake SMTP server.
type Server struct {
	cfg Config
	ln  net.Listener
	wg  sync.WaitGroup

	mu       sync.Mutex
	msgs     []Message
	sessions int
	conns    map[net.Conn]bool
	closed   bool
}

// Start starts a server on 127.0.0.1 and a random port, stopped when the
// test ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server; the caller must Close it.
func New(cfg Config) (*Server, error) {
	if cfg.Hostname == "" {
		cfg.Hostname = "mx.test"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr returns "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Messages returns the transactions that reached DATA's end, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Sessions returns how many connections the server accepted.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Close stops the server and ends its sessions.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.sessions++
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.session(c)
		}()
	}
}

type session struct {
	srv   *Server
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	state SessionState
	msg   *Message
}

func (s *Server) session(c net.Conn) {
	// Bounded so a stuck test cannot hold the server.
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	ss := &session{srv: s, conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	if s.cfg.Greeting != "" {
		ss.reply(s.cfg.Greeting)
		return
	}
	ss.reply("220 " + s.cfg.Hostname + " ESMTP test")
	for {
		line, err := smtp.ReadLine(ss.r, 4096)
		if err != nil {
			return
		}
		if !ss.handle(string(line)) {
			return
		}
	}
}

func (ss *session) reply(text string) {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if i < len(lines)-1 && len(l) >= 3 {
			l = l[:3] + "-" + strings.TrimPrefix(l[3:], " ")
		}
		ss.w.WriteString(l + "\r\n")
	}
	ss.w.Flush()
}

// custom asks the Reply hook.
func (ss *session) custom(line string) string {
	if ss.srv.cfg.Reply == nil {
		return ""
	}
	st := ss.state
	return ss.srv.cfg.Reply(&st, line)
}

func positive(reply string) bool {
	return strings.HasPrefix(reply, "2") || strings.HasPrefix(reply, "3")
}

// handle answers one command; false ends the session.
func (ss *session) handle(line string) bool {
	verb, _, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	if strings.HasPrefix(strings.ToUpper(line), "MAIL FROM:") {
		verb = "MAIL"
	} else if strings.HasPrefix(strings.ToUpper(line), "RCPT TO:") {
		verb = "RCPT"
	}
	rep := ss.custom(line)
	switch verb {
	case "EHLO", "HELO":
		if rep == "" {
			rep = ss.ehloReply(verb)
		}
		if positive(rep) {
			ss.state.Helo = strings.TrimSpace(line[4:])
		}
		ss.reply(rep)
	case "STARTTLS":
		return ss.startTLS(rep)
	case "MAIL":
		pipelined := ss.r.Buffered() > 0
		if rep == "" {
			rep = "250 2.1.0 Ok"
		}
		if positive(rep) {
			ss.msg = &Message{Helo: ss.state.Helo, TLS: ss.state.TLS, Mail: line, Pipelined: pipelined}
			ss.state.Rcpts = 0
		}
		ss.reply(rep)
	case "RCPT":
		if rep == "" {
			rep = "250 2.1.5 Ok"
			if ss.msg == nil {
				rep = "503 5.5.1 MAIL first"
			}
		}
		if positive(rep) && ss.msg != nil {
			ss.msg.Rcpts = append(ss.msg.Rcpts, line)
			ss.state.Rcpts++
		}
		ss.reply(rep)
	case "DATA":
		return ss.data(rep)
	case "RSET":
		ss.msg, ss.state.Rcpts = nil, 0
		ss.reply(or(rep, "250 2.0.0 Ok"))
	case "NOOP":
		ss.reply(or(rep, "250 2.0.0 Ok"))
	case "QUIT":
		ss.reply(or(rep, "221 2.0.0 Bye"))
		return false
	default:
		ss.reply(or(rep, "500 5.5.1 Unknown command"))
	}
	return true
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (ss *session) ehloReply(verb string) string {
	cfg := ss.srv.cfg
	if verb == "HELO" {
		return "250 " + cfg.Hostname
	}
	lines := []string{"250 " + cfg.Hostname}
	for _, e := range cfg.Extensions {
		if strings.EqualFold(e, "REQUIRETLS") && !ss.state.TLS {
			continue
		}
		lines = append(lines, "250 "+e)
	}
	if cfg.TLS != nil && !ss.state.TLS {
		lines = append(lines, "250 STARTTLS")
	}
	return strings.Join(lines, "\n")
}

func (ss *session) startTLS(rep string) bool {
	if ss.srv.cfg.TLS == nil || ss.state.TLS {
		ss.reply(or(rep, "502 5.5.1 Not available"))
		return true
	}
	ss.reply(or(rep, "220 2.0.0 Ready to start TLS"))
	if !positive(or(rep, "2")) {
		return true
	}
	tc := tls.Server(ss.conn, ss.srv.cfg.TLS)
	if err := tc.Handshake(); err != nil {
		return false
	}
	ss.conn = tc
	ss.r, ss.w = bufio.NewReader(tc), bufio.NewWriter(tc)
	ss.state = SessionState{TLS: true}
	ss.msg = nil
	return true
}

func (ss *session) data(rep string) bool {
	if rep == "" {
		rep = "354 End data with <CR><LF>.<CR><LF>"
		if ss.msg == nil || ss.state.Rcpts == 0 {
			rep = "554 5.5.1 No valid recipients"
		}
	}
	ss.reply(rep)
	if !strings.HasPrefix(rep, "354") {
		return true
	}
	text, err := io.ReadAll(smtp.NewDataReader(ss.r, 0, 0))
	if err != nil {
		var r *smtp.Reply
		if errors.As(err, &r) {
			ss.reply(r.Error())
			return true
		}
		return false
	}
	final := or(ss.custom("."), "250 2.0.0 Ok: queued as "+strconv.Itoa(len(text)))
	msg := *ss.msg
	msg.Data, msg.Accepted = text, positive(final)
	ss.srv.mu.Lock()
	ss.srv.msgs = append(ss.srv.msgs, msg)
	ss.srv.mu.Unlock()
	ss.msg, ss.state.Rcpts = nil, 0
	ss.reply(final)
	return true
}

// String describes the server, for test logs.
func (s *Server) String() string { return fmt.Sprintf("smtptest.Server(%s)", s.Addr()) }
