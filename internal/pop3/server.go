// Package pop3 runs Sealpost's POP3 listeners: port 110, where STLS is
// required before any login, and port 995 with implicit TLS (RFC 8314).
//
// Implemented: RFC 1939 (POP3: USER, PASS, STAT, LIST, RETR, DELE, NOOP,
// RSET, QUIT, TOP, UIDL), RFC 2449 (CAPA, with TOP, UIDL, RESP-CODES,
// AUTH-RESP-CODE, PIPELINING, EXPIRE NEVER, IMPLEMENTATION, SASL and
// USER), RFC 2595 section 4 (STLS), RFC 5034 (AUTH, with SASL PLAIN and
// its initial response), RFC 3206 (the response codes [AUTH],
// [SYS/TEMP] and [SYS/PERM]).
//
// What the tests hold it to:
//   - USER, PASS and AUTH are refused before TLS with -ERR [AUTH], and
//     neither USER nor SASL is advertised by CAPA until TLS is up;
//   - commands pipelined before the STLS handshake are discarded
//     (RFC 2595 section 4, the STARTTLS injection class of CVE-2011-0411);
//   - the maildrop is the account's INBOX as it was at login: message
//     numbers and sizes are fixed for the session (RFC 1939 section 5);
//   - DELE only marks; the marked messages are expunged from the store
//     when the client says QUIT in the TRANSACTION state (the UPDATE
//     state, RFC 1939 section 6). A connection that drops, times out or
//     is shut down deletes nothing. An expunge is an IMAP expunge: IMAP
//     sessions on the same INBOX see it as one. Messages sent by RETR and
//     not deleted get \Seen at that QUIT, as IMAP clients expect;
//   - RETR and TOP stream the stored body, byte-stuffing lines that begin
//     with "." (RFC 1939 section 3); neither holds a message in memory;
//   - every limit is explicit: command line length, errors, authentication
//     failures, idle time, sessions per listener, connections per source.
//
// Message sizes. STAT and LIST report the stored size of each message,
// which counts its line ends as CRLF, as RFC 1939 section 11 asks: mail
// received over SMTP is stored exactly as sent, where a bare CR or LF is
// refused, so the size equals the octets RETR sends before byte-stuffing.
// A body stored with bare LF line ends (imported mail) is sent with CRLF,
// and its reported size is then short by one octet per such line; the
// size is not recomputed, which would mean reading every message at login.
//
// Unique ids. UIDL gives "UIDVALIDITY.UID" of the INBOX message, in
// decimal: unique and stable across sessions as long as the INBOX is not
// recreated (when IMAP's own UIDs would change as well), and made of
// characters RFC 1939 section 7 allows.
//
// Live sessions. With Deps.Sessions set, a session enters that registry
// (package sessions) when its maildrop is open and leaves it when it ends;
// signing its account out closes the connection, which ends the session
// at once, deleting nothing, as a dropped connection does.
//
// Left out: APOP (RFC 1939 section 7) needs the password in the clear on
// the server, and Sealpost keeps only argon2id hashes; SASL LOGIN and the
// other mechanisms (PLAIN over TLS covers every client in use); LOGIN-DELAY
// and EXPIRE policies other than NEVER; the maildrop lock of RFC 1939
// section 4 and the [IN-USE] code: like IMAP sessions, POP3 sessions on one
// INBOX run side by side, and a message removed by another session after
// login answers -ERR when retrieved and counts as already deleted at QUIT.
package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/connlimit"
	"sealpost.dev/sealpost/internal/listener"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
)

// Mode is what a listener is for.
type Mode int

const (
	// POP3 is plain POP3 on which STLS must come before any login.
	POP3 Mode = iota
	// POP3S is POP3 over implicit TLS.
	POP3S
)

// String returns the listener's name: "pop3" or "pop3s".
func (m Mode) String() string {
	switch m {
	case POP3:
		return "pop3"
	case POP3S:
		return "pop3s"
	}
	return "unknown"
}

// Limits bound what one client may do. Zero values take the defaults.
type Limits struct {
	MaxLineLength   int // command lines, with CRLF; default 4096
	MaxErrors       int // refused commands before the session is closed; default 10
	MaxAuthFailures int // default 5
	MaxSessions     int // simultaneous sessions on the listener; default 1000
	// IdleTimeout is how long the server waits for a command; default 10
	// minutes, the least RFC 1939 section 3 allows for its autologout timer.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a client that stops reading;
	// default 1 minute.
	WriteTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxLineLength, 4096)
	def(&l.MaxErrors, 10)
	def(&l.MaxAuthFailures, 5)
	def(&l.MaxSessions, 1000)
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 10 * time.Minute
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = time.Minute
	}
	return l
}

// Config configures one listener.
type Config struct {
	Mode     Mode
	Hostname string
	// TLS is required: for STLS on POP3, for the handshake on POP3S.
	TLS    *tls.Config
	Limits Limits
}

// Deps are the server's collaborators.
type Deps struct {
	Store    store.Store
	Accounts *account.Service
	// Conns bounds connections per source; shared by all listeners.
	Conns *connlimit.Limiter
	// Changed is told of every mailbox this server changes, so IMAP
	// sessions can announce it; may be nil.
	Changed func(mailboxID int64)
	// Sessions, if set, registers the sessions that logged in, so they
	// can be listed and signed out.
	Sessions *sessions.Registry
	Logger   *slog.Logger
}

// Server serves one POP3 listener.
type Server struct {
	cfg      Config
	store    store.Store
	accounts *account.Service
	conns    *connlimit.Limiter
	sessions *sessions.Registry
	log      *slog.Logger
	listener *listener.Server
	notify   func(mailboxID int64)
}

// changed tells whoever listens that a mailbox changed.
func (s *Server) changed(mailboxID int64) {
	if s.notify != nil {
		s.notify(mailboxID)
	}
}

// New returns a server for one listener.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.TLS == nil {
		return nil, errors.New("pop3: a TLS config is required")
	}
	if deps.Store == nil || deps.Accounts == nil {
		return nil, errors.New("pop3: Store and Accounts are required")
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if deps.Conns == nil {
		deps.Conns = connlimit.New(0)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, store: deps.Store, accounts: deps.Accounts, conns: deps.Conns,
		log: log.With("listener", cfg.Mode.String()), notify: deps.Changed, sessions: deps.Sessions,
	}
	s.listener = &listener.Server{
		Conns:             deps.Conns,
		MaxSessions:       cfg.Limits.MaxSessions,
		TooManyFromSource: "-ERR [SYS/TEMP] too many connections from your address",
		TooBusy:           "-ERR [SYS/TEMP] too busy, try again later",
		NewSession:        func(c net.Conn, remote netip.Addr) listener.Session { return newSession(s, c, remote) },
		Logger:            s.log,
	}
	return s, nil
}

// Serve accepts connections until the listener is closed or Shutdown is
// called.
func (s *Server) Serve(ln net.Listener) error { return s.listener.Serve(ln) }

// Shutdown ends every session without entering the UPDATE state, so no
// marked message is deleted: sessions waiting for a command are told
// -ERR [SYS/TEMP] and closed at once, sessions sending a message get until
// ctx ends to finish it. Serve must already have returned (its listener
// closed).
func (s *Server) Shutdown(ctx context.Context) error { return s.listener.Shutdown(ctx) }
