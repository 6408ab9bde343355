// Package smtpserver runs Sealpost's SMTP listeners: inbound mail from other
// servers (MX, port 25) and message submission from users (port 587 with
// STARTTLS, port 465 with implicit TLS).
//
// Implemented: RFC 5321 (SMTP), RFC 3207 (STARTTLS), RFC 6409 and RFC 8314
// (submission), RFC 4954 (AUTH, PLAIN and LOGIN), RFC 2920 (PIPELINING),
// RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 2034
// (ENHANCEDSTATUSCODES), RFC 3030 (CHUNKING; not BINARYMIME), RFC 3461
// (DSN parameters), RFC 8689 (REQUIRETLS).
//
// Security properties the tests hold it to:
//   - never an open relay: on the MX listener every recipient must be in a
//     hosted domain, authenticated or not (AUTH is not offered there);
//     submission requires AUTH before MAIL, and AUTH requires TLS;
//   - commands pipelined before a STARTTLS handshake are discarded
//     (RFC 3207 §4.2; CVE-2011-0411 class);
//   - only <CRLF>.<CRLF> ends DATA, and messages with bare CR, or bare LF
//     next to a line-start dot, are refused (package smtp);
//   - every limit is explicit: line length, message size, recipients,
//     connections per source, errors, commands outside a transaction,
//     authentication failures, idle and total session time;
//   - a message is answered 250 only once it is durable.
//
// Live sessions. With Deps.Sessions set, a submission session enters that
// registry (package sessions) when AUTH succeeds and leaves it when it
// ends; signing its account out closes the connection, which ends the
// session at once, a message whose data was under way included (it was
// not acknowledged, so nothing is lost). MX sessions are no account's and
// are not registered.
//
// Greylisting. With Deps.Greylist set, the MX listener asks it about each
// recipient in a hosted domain once the recipient is known to exist, and
// answers 451 4.7.1 with the time to wait when the sender must retry
// (package greylist). The answer does not count as a client error. If the
// greylist cannot decide (its store fails), the recipient is accepted:
// greylisting is a filter, not a reason to refuse mail.
//
// Left out: VRFY and EXPN (answered 252 and 502, RFC 5321 §3.5.3 and
// §7.3), BINARYMIME, SCRAM (needs stored SCRAM keys), SMTP-level
// rate limiting per account (comes with account security).
package smtpserver

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
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/greylist"
	"sealpost.dev/sealpost/internal/listener"
	"sealpost.dev/sealpost/internal/sendlimit"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
)

// Mode is what a listener is for.
type Mode int

const (
	// MX receives mail for hosted domains from other servers.
	MX Mode = iota
	// Submission takes mail from authenticated users, STARTTLS first.
	Submission
	// Submissions is Submission over implicit TLS.
	Submissions
)

func (m Mode) String() string {
	switch m {
	case MX:
		return "smtp"
	case Submission:
		return "submission"
	case Submissions:
		return "submissions"
	}
	return "unknown"
}

// Limits bound what one client may do. Zero values take the defaults.
type Limits struct {
	MaxMessageSize  int64         // default 50 MiB
	MaxRecipients   int           // default 100
	MaxLineLength   int           // command lines, with CRLF; default 4096
	MaxDataLine     int           // message lines; default 1 MiB
	MaxErrors       int           // errors before 421; default 10
	MaxIdleCommands int           // commands outside a transaction in a row; default 50
	MaxAuthFailures int           // default 5
	MaxSessions     int           // simultaneous sessions on the listener; default 1000
	IdleTimeout     time.Duration // between commands; default 5 min (RFC 5321 §4.5.3.2.7)
	DataTimeout     time.Duration // one whole DATA or BDAT transfer; default 10 min
	SessionTimeout  time.Duration // the whole connection; default 1 hour
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxRecipients, 100)
	def(&l.MaxLineLength, 4096)
	def(&l.MaxDataLine, 1<<20)
	def(&l.MaxErrors, 10)
	def(&l.MaxIdleCommands, 50)
	def(&l.MaxAuthFailures, 5)
	def(&l.MaxSessions, 1000)
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = 50 << 20
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 5 * time.Minute
	}
	if l.DataTimeout <= 0 {
		l.DataTimeout = 10 * time.Minute
	}
	if l.SessionTimeout <= 0 {
		l.SessionTimeout = time.Hour
	}
	return l
}

// Config configures one listener.
type Config struct {
	Mode     Mode
	Hostname string
	// TLS is required: STARTTLS on MX and Submission, the handshake on
	// Submissions.
	TLS    *tls.Config
	Limits Limits
	// SpoolDir holds messages too large to keep in memory while they are
	// checked.
	SpoolDir string
}

// Server serves one SMTP listener.
type Server struct {
	cfg      Config
	store    store.Store
	accounts *account.Service
	pipeline *delivery.Pipeline
	conns    *connlimit.Limiter
	queued   func()
	sessions *sessions.Registry
	outbound *sendlimit.Limiter
	greylist Greylister
	log      *slog.Logger
	listener *listener.Server
}

// Deps are the server's collaborators.
type Deps struct {
	Store    store.Store
	Accounts *account.Service
	Pipeline *delivery.Pipeline
	// Conns bounds connections per source; shared by all listeners.
	Conns *connlimit.Limiter
	// Queued wakes the outbound queue after a submission; may be nil.
	Queued func()
	// Sessions, if set, registers the submission sessions that logged in,
	// so they can be listed and signed out (MX sessions are no account's).
	Sessions *sessions.Registry
	// Outbound, if set, decides whether each submission's outside copy
	// is held (outbound abuse control).
	Outbound *sendlimit.Limiter
	// Greylist, if set, is asked about each recipient in a hosted domain
	// on the MX listener (package greylist); nil turns greylisting off.
	Greylist Greylister
	Logger   *slog.Logger
}

// Greylister decides at RCPT whether an MX client must try a recipient
// again later. *greylist.Greylist implements it.
type Greylister interface {
	CheckRequest(ctx context.Context, req greylist.Request) (ok bool, retryAfter time.Duration, err error)
}

// New returns a server for one listener.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.TLS == nil {
		return nil, errors.New("smtpserver: a TLS config is required")
	}
	if deps.Store == nil || deps.Accounts == nil || deps.Pipeline == nil {
		return nil, errors.New("smtpserver: Store, Accounts and Pipeline are required")
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
		cfg: cfg, store: deps.Store, accounts: deps.Accounts, pipeline: deps.Pipeline,
		conns: deps.Conns, queued: deps.Queued, sessions: deps.Sessions, outbound: deps.Outbound, greylist: deps.Greylist, log: log.With("listener", cfg.Mode.String()),
	}
	s.listener = &listener.Server{
		Conns:             deps.Conns,
		MaxSessions:       cfg.Limits.MaxSessions,
		TooManyFromSource: "421 4.7.0 " + cfg.Hostname + " too many connections from your address",
		TooBusy:           "421 4.3.2 " + cfg.Hostname + " too busy, try again later",
		NewSession:        func(c net.Conn, remote netip.Addr) listener.Session { return newSession(s, c, remote) },
		Logger:            s.log,
	}
	return s, nil
}

// Serve accepts connections until the listener is closed or Shutdown is
// called.
func (s *Server) Serve(ln net.Listener) error { return s.listener.Serve(ln) }

// Shutdown stops new commands: idle sessions are told 421 and closed at
// once, sessions in the middle of a transfer get until ctx ends to finish
// it. Serve must already have returned (its listener closed).
func (s *Server) Shutdown(ctx context.Context) error { return s.listener.Shutdown(ctx) }
