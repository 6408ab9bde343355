package imapserver

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
	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/listener"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/textindex"
)

// Mode is what a listener is for.
type Mode int

const (
	// IMAP is port 143, on which STARTTLS must come before any login.
	IMAP Mode = iota
	// IMAPS is IMAP over implicit TLS, port 993 (RFC 8314).
	IMAPS
)

// String returns the listener's name: "imap" or "imaps".
func (m Mode) String() string {
	switch m {
	case IMAP:
		return "imap"
	case IMAPS:
		return "imaps"
	}
	return "unknown"
}

// Limits bound what one client may do. Zero values take the defaults.
type Limits struct {
	// Wire bounds lines, commands and literals; Wire.MaxAppend is also the
	// advertised APPENDLIMIT (RFC 7889).
	Wire            imap.Limits
	MaxErrors       int // BAD answers before the session is closed; default 20
	MaxAuthFailures int // default 5
	MaxSessions     int // simultaneous sessions on the listener; default 1000
	// IdleTimeout is how long the server waits for a command, IDLE
	// included; default and minimum 30 minutes (RFC 9051 §5.4).
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a client that stops reading;
	// default 1 minute.
	WriteTimeout time.Duration
	// PollInterval is how often the Hub looks at the store for changes
	// to watched mailboxes made by writers that do not ring it (other
	// processes); default 500 ms. Listeners sharing a Hub share the
	// first one's.
	PollInterval time.Duration
	// NotifyBatch bounds the announcements one look at the store may
	// send a client under NOTIFY; beyond it NOTIFY ends with
	// [NOTIFICATIONOVERFLOW] (RFC 5465 §5.8). Default 1000.
	NotifyBatch int
}

// minIdleTimeout is the autologout timer's floor, RFC 9051 §5.4.
const minIdleTimeout = 30 * time.Minute

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxErrors, 20)
	def(&l.MaxAuthFailures, 5)
	def(&l.MaxSessions, 1000)
	def(&l.NotifyBatch, 1000)
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = minIdleTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = time.Minute
	}
	if l.PollInterval <= 0 {
		l.PollInterval = 500 * time.Millisecond
	}
	if l.Wire.MaxAppend <= 0 {
		l.Wire.MaxAppend = imap.DefaultMaxAppend
	}
	// LITERAL+ (RFC 7888): a non-synchronizing literal may be as large as
	// a synchronizing one; the literal, command and APPEND limits still
	// bound it, and one over them ends the connection.
	l.Wire.MaxNonSync = -1
	return l
}

// Config configures one listener.
type Config struct {
	Mode     Mode
	Hostname string
	// TLS is required: for STARTTLS on IMAP, for the handshake on IMAPS.
	TLS    *tls.Config
	Limits Limits
	// AllowShortIdle lets IdleTimeout go below 30 minutes, for tests.
	AllowShortIdle bool
}

// Deps are the server's collaborators.
type Deps struct {
	Store    store.Store
	Accounts *account.Service
	// Conns bounds connections per source; shared by all listeners.
	Conns *connlimit.Limiter
	// Hub carries change notifications between sessions; share one between
	// the IMAP listeners (and other writers) of a process. Nil makes a new
	// one.
	Hub *Hub
	// Indexer, if set, is told of the messages a search finds without
	// indexed text; SEARCH is correct without it, reading them each time.
	Indexer *textindex.Indexer
	// Sessions, if set, registers the sessions that logged in, so they
	// can be listed and signed out.
	Sessions *sessions.Registry
	// Trainer, if set, is told of the messages users copy and move, for
	// the spam filter to learn from; see Trainer.
	Trainer Trainer
	Logger  *slog.Logger
}

// Server serves one IMAP listener.
type Server struct {
	cfg      Config
	store    store.Store
	accounts *account.Service
	conns    *connlimit.Limiter
	hub      *Hub
	selects  *selectCache
	messages *messageCache // nil: every read goes to the store
	indexer  *textindex.Indexer
	sessions *sessions.Registry
	log      *slog.Logger
	listener *listener.Server
	// summaries keeps decoded message summaries for FETCH.
	summaries *summaryCache
	train     *trainQueue // nil without a Trainer
}

// New returns a server for one listener.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.TLS == nil {
		return nil, errors.New("imapserver: a TLS config is required")
	}
	if deps.Store == nil || deps.Accounts == nil {
		return nil, errors.New("imapserver: Store and Accounts are required")
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.Limits.IdleTimeout < minIdleTimeout && !cfg.AllowShortIdle {
		cfg.Limits.IdleTimeout = minIdleTimeout
	}
	if deps.Conns == nil {
		deps.Conns = connlimit.New(0)
	}
	if deps.Hub == nil {
		deps.Hub = NewHub()
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg: cfg, store: deps.Store, accounts: deps.Accounts, conns: deps.Conns, hub: deps.Hub, indexer: deps.Indexer,
		selects: newSelectCache(), messages: newMessageCache(maxCachedMessages, maxEntryMessages), summaries: newSummaryCache(summaryCacheBytes),
		log: log.With("listener", cfg.Mode.String()), sessions: deps.Sessions,
	}
	s.train = newTrainQueue(deps.Trainer, s.log)
	s.listener = &listener.Server{
		Conns:             deps.Conns,
		MaxSessions:       cfg.Limits.MaxSessions,
		TooManyFromSource: "* BYE [UNAVAILABLE] too many connections from your address",
		TooBusy:           "* BYE [UNAVAILABLE] too busy, try again later",
		NewSession:        func(c net.Conn, remote netip.Addr) listener.Session { return newSession(s, c, remote) },
		Logger:            s.log,
	}
	return s, nil
}

// Hub returns the hub the server's sessions ring and listen to.
func (s *Server) Hub() *Hub { return s.hub }

// Serve accepts connections until the listener is closed or Shutdown is
// called.
func (s *Server) Serve(ln net.Listener) error { return s.listener.Serve(ln) }

// Shutdown ends every session with an untagged BYE: sessions waiting for
// a command (or idling) at once, sessions inside a command when it ends.
// After ctx ends the remaining connections are closed. Close the listener
// first, so Serve returns.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.listener.Shutdown(ctx)
	s.train.stop()
	return err
}
