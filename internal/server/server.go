// Package server assembles a running Sealpost instance from its config: the
// store, the certificates, the DNS resolver and the listeners. It owns the
// lifecycle: bind, serve, reload certificates on demand, and shut down
// gracefully (stop accepting, finish in-flight work, close the store) within
// the configured shutdown timeout.
//
// In the background it tidies the store, sends the daily DMARC and TLS
// reports, and completes DKIM key rotations: hourly, and a minute after
// start, pending keys whose records the server's resolver has shown for
// dkim.publish_hold start signing, and retired keys are deleted
// (account.Service.AdvanceDKIM); each step is logged.
//
// Administrative commands reach the running server through the admin
// socket in data_dir (package admin), which lists and signs out the live
// sessions the IMAP, POP3 and submission listeners register (package
// sessions); a second server on the same data directory is refused there.
//
// Listeners whose protocol is not built yet are not started even when the
// config names them.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/admin"
	"sealpost.dev/sealpost/internal/alert"
	"sealpost.dev/sealpost/internal/api"
	"sealpost.dev/sealpost/internal/authguard"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/connlimit"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/greylist"
	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/imapserver"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/mailauth"
	"sealpost.dev/sealpost/internal/metrics"
	"sealpost.dev/sealpost/internal/mtasts"
	"sealpost.dev/sealpost/internal/pop3"
	"sealpost.dev/sealpost/internal/queue"
	"sealpost.dev/sealpost/internal/reports"
	"sealpost.dev/sealpost/internal/sendlimit"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/smtpserver"
	"sealpost.dev/sealpost/internal/srs"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/textindex"
	"sealpost.dev/sealpost/internal/tlsconf"
	"sealpost.dev/sealpost/internal/web"
)

// Options are what New needs besides the config.
type Options struct {
	Config *config.Config
	// Resolver answers every DNS question the server asks. Required: the
	// server never falls back to the system resolver.
	Resolver dnsx.Resolver
	Logger   *slog.Logger
	// TLS overrides the certificate options derived from the config (tests).
	TLS *tlsconf.Options
}

// Server is a running instance.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	store    store.Store
	accounts *account.Service
	tls      *tlsconf.Provider
	metrics  *metrics.Metrics
	resolver dnsx.Resolver
	guard    *authguard.Guard // the brute-force defence of every login

	pipeline *delivery.Pipeline
	outbound *sendlimit.Limiter // nil when outbound.enabled is off
	conns    *connlimit.Limiter
	queue    *queue.Queue
	hub      *imapserver.Hub
	indexer  *textindex.Indexer // fills the text index SEARCH uses
	// sessions are the live IMAP, POP3 and submission sessions, by
	// account, for listing and signing out.
	sessions *sessions.Registry
	// api serves the account API on the HTTPS listener.
	api     *api.Server
	trainer *training.Trainer // learns from IMAP moves and API reports
	// classifier is the spam filter's content classifier, nil when the
	// filter is off; its global model is made again from the users' mail
	// every [filter] retrain (retrainFilter).
	classifier *filter.Classifier
	// greylist is nil when greylisting is off; learn runs what the spam
	// filter learns from its verdicts, off the delivery path.
	greylist *greylist.Greylist
	learn    *filter.Background
	adminLn  net.Listener // the admin socket, served once bound
	// testRoots are the trust anchors of testing.ca_file for outbound
	// HTTPS and SMTP; nil outside tests (the system's roots).
	testRoots *x509.CertPool

	listeners []*listener

	// dkimFirst and dkimEvery time the DKIM rotation rounds (tests
	// shorten them).
	dkimFirst, dkimEvery time.Duration
	// forwardEvery is how often forwarding reminders are looked for
	// (tests shorten it).
	forwardEvery time.Duration
	// retrainFirst is when the classifier's first retraining runs
	// (tests shorten it).
	retrainFirst time.Duration
}

// service is what serves one listener: an http.Server or an SMTP server.
type service interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

type listener struct {
	name string
	ln   net.Listener
	srv  service
}

// New opens the store, ensures the configured domains exist, loads the
// certificates and binds every listener. It serves nothing until Run.
func New(ctx context.Context, opts Options) (_ *Server, err error) {
	if opts.Resolver == nil {
		return nil, errors.New("server: no DNS resolver configured")
	}
	cfg := opts.Config
	s := &Server{cfg: cfg, log: opts.Logger, resolver: opts.Resolver, metrics: metrics.New(),
		dkimFirst: dkimFirstRun, dkimEvery: dkimInterval, forwardEvery: forwardReminderInterval, retrainFirst: retrainFirstRun}
	if s.log == nil {
		s.log = slog.Default()
	}
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if fi, err := os.Stat(cfg.DataDir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		s.log.Warn("data_dir is accessible to other users; it holds keys and mail: chmod 700 it",
			"data_dir", cfg.DataDir, "mode", fi.Mode().Perm().String())
	}
	// The admin socket is taken first: a second server on the same data
	// directory stops here, before it touches the store or the ports.
	if s.adminLn, err = admin.Listen(cfg.DataDir); err != nil {
		return nil, err
	}
	if s.store, err = instance.OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	s.accounts = instance.Accounts(cfg, s.store)
	s.accounts.Resolver = s.resolver // reverse DNS in the login log
	if s.guard, err = instance.NewGuard(cfg, s.store, s.log); err != nil {
		return nil, fmt.Errorf("login guard: %w", err)
	}
	s.accounts.Guard = s.guard
	rewriter, err := newSRS(cfg)
	if err != nil {
		return nil, err
	}
	s.accounts.SRS = rewriter
	for _, d := range cfg.Domains {
		if _, err := s.accounts.AddDomain(ctx, d); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, fmt.Errorf("domain %s: %w", d, err)
		}
	}

	tlsOpts := tlsOptions(cfg)
	if opts.TLS != nil {
		tlsOpts = *opts.TLS
	} else if tlsOpts.Hostnames, err = s.tlsHostnames(ctx); err != nil {
		return nil, err
	}
	tlsOpts.OnDemand = s.mailDomainHost
	if s.tls, err = tlsconf.New(tlsOpts, s.log); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	s.conns = connlimit.New(cfg.Limits.MaxConnectionsPerIP)
	s.sessions = &sessions.Registry{}
	// A revoked app password ends the live sessions that logged in with it.
	s.accounts.Revoked = func(accountID, appPassword int64) { s.sessions.EndAppPassword(accountID, appPassword) }
	// A password change ends every live session of the account.
	// People's moves into and out of Junk, and their reports, teach the
	// spam filter; the content classifier joins as its Learner.
	s.trainer = instance.Trainer(cfg, s.store, nil, s.log)
	s.api = &api.Server{Accounts: s.accounts, Store: s.store, Sessions: s.sessions, Trainer: s.trainer, Logger: s.log}
	s.accounts.EndSessions = func(accountID int64) {
		s.sessions.SignOut(accountID, 0)
		s.api.EndSessions(accountID) // web sessions made before a restart too
	}
	// One hub for the whole server: IMAP sessions on both listeners hear of
	// each other's changes, of deliveries and of POP3 deletions at once.
	s.hub = imapserver.NewHub()
	// Every change the hub hears of may bring text to index.
	s.indexer = textindex.New(s.store, s.log)
	s.hub.OnChange(func(int64) { s.indexer.Poke() })
	s.pipeline = &delivery.Pipeline{Store: s.store, Accounts: s.accounts, Queued: s.pokeQueue,
		Changed: s.hub.Changed, Logger: s.log}
	auth := s.mailAuth()
	s.greylist = instance.Greylist(cfg, s.store)
	s.learn = filter.NewBackground(instance.VerdictQueue, s.log)
	s.metrics.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "sealpost_filter_learning_dropped_total",
		Help: "Verdicts of the spam filter not learnt from (reputation, greylist vouches): the background queue was full.",
	}, func() float64 { return float64(s.learn.Dropped()) }))
	spam, err := instance.Filter(cfg, s.store, instance.FilterDeps{Resolver: s.resolver, Greylist: s.greylist, Background: s.learn}, s.log)
	if err != nil {
		s.learn.Close()
		return nil, err
	}
	s.trainer.Learner = instance.Learner(spam) // the content classifier learns from moves
	s.classifier, _ = s.trainer.Learner.(*filter.Classifier)
	// The filter reads the results mail authentication leaves on the
	// envelope, so it comes after it.
	s.pipeline.Hooks, s.pipeline.Sealer = []delivery.Hook{auth, reportIngest{s}, spam}, auth
	// Security alerts are delivered like any local mail, and queued to
	// recovery addresses.
	s.accounts.Alerts = alert.New(s.pipeline, s.accounts, s.pokeQueue, s.log)
	// Forwarding confirmation messages are queued by the account service.
	s.accounts.Queued = s.pokeQueue
	if rewriter != nil {
		s.pipeline.Rewriter = rewriter
	}
	if cfg.Outbound.Enabled {
		s.outbound = instance.SendLimiter(cfg, s.store, s.accounts, s.log)
		s.pipeline.Received = s.outbound.Received
	}
	if s.queue, err = s.newQueue(); err != nil {
		return nil, err
	}
	if err := s.bind(); err != nil {
		return nil, err
	}
	return s, nil
}

// greylister returns the greylist of the configuration, nil (not a nil
// pointer in an interface) when it is off.
func (s *Server) greylister() smtpserver.Greylister {
	if s.greylist != nil {
		return s.greylist
	}
	return nil
}

// srsKeyFile holds the secrets of sender rewriting, in data_dir.
const srsKeyFile = "srs.key"

// newSRS returns the sender rewriter of forwarded mail, with its secret
// made on first use, or nil when srs.enabled is off.
func newSRS(cfg *config.Config) (*srs.Rewriter, error) {
	if !cfg.SRS.Enabled {
		return nil, nil
	}
	secrets, err := srs.LoadSecrets(filepath.Join(cfg.DataDir, srsKeyFile))
	if err != nil {
		return nil, err
	}
	r, err := srs.New(secrets...)
	if err != nil {
		return nil, err
	}
	r.MaxAge = time.Duration(cfg.SRS.MaxAge)
	return r, nil
}

// mailAuth is the inbound check of SPF, DKIM and DMARC.
func (s *Server) mailAuth() *mailauth.Checker {
	a := s.cfg.Auth
	id := a.AuthservID
	if id == "" {
		id = s.cfg.Hostname
	}
	return &mailauth.Checker{Resolver: s.resolver, AuthservID: id, Hostname: s.cfg.Hostname, Enforce: a.DMARCEnforce,
		Exempt: a.DMARCExempt, TrustedSealers: a.ARCTrustedSealers, Timeout: time.Duration(a.CheckTimeout),
		Reports: &reports.DMARCRecorder{Store: s.store}, Signers: s.accounts.DKIMSigners, Logger: s.log}
}

// pokeQueue wakes the outbound queue.
func (s *Server) pokeQueue() {
	if s.queue != nil {
		s.queue.Poke()
	}
}

// newQueue builds the outbound queue runner. With queue.deliver off, mail
// for hosted domains (delivery reports, forwards between local accounts)
// is still delivered, and the rest stays queued.
func (s *Server) newQueue() (*queue.Queue, error) {
	test, err := s.testingOverrides() // zero unless testing.enabled
	if err != nil {
		return nil, err
	}
	s.testRoots = test.roots
	var remote queue.Transport = heldTransport{}
	if s.cfg.Queue.Deliver {
		remote = &queue.RemoteTransport{
			Resolver: s.resolver,
			Hostname: s.cfg.Hostname,
			MTASTS: &mtasts.Client{
				Resolver: s.resolver,
				Fetcher:  &mtasts.Fetcher{Resolver: s.resolver, Port: test.mtastsPort, RootCAs: test.roots},
				Cache:    mtasts.NewStoreCache(s.store), // kept across restarts, RFC 8461 section 5.1
			},
			Port:        test.smtpPort,
			RootCAs:     test.roots,
			Logger:      s.log,
			OnTLSResult: s.recordTLS,
		}
	}
	hostname, _ := os.Hostname()
	return queue.New(queue.Options{
		Store:        s.store,
		Transport:    &routingTransport{store: s.store, pipeline: s.pipeline, remote: remote},
		Notifier:     s.dsnNotifier(),
		Logger:       s.log,
		Worker:       fmt.Sprintf("%s/%d", hostname, os.Getpid()),
		MaxAge:       time.Duration(s.cfg.Queue.MaxAge),
		DelayWarning: time.Duration(s.cfg.Queue.DelayWarning),
	})
}

// tlsOptions maps the [tls] section onto the certificate provider's options.
func tlsOptions(cfg *config.Config) tlsconf.Options {
	return tlsconf.Options{
		Mode:       cfg.TLS.Mode,
		CertFile:   cfg.TLS.CertFile,
		KeyFile:    cfg.TLS.KeyFile,
		Hostnames:  []string{cfg.Hostname},
		Dir:        filepath.Join(cfg.DataDir, "tls"),
		MinVersion: cfg.TLS.Version(),
		ACME: tlsconf.ACMEOptions{
			DirectoryURL: cfg.TLS.ACMEDirectory,
			Email:        cfg.TLS.ACMEEmail,
		},
	}
}

// tlsHostnames are the names the certificate covers: the host, and for
// each hosted domain the MTA-STS policy host and the autoconfig and
// autodiscover hosts, which the HTTPS listener serves. Domains added while the server runs get
// theirs on demand in acme mode (mailDomainHost), at the next start in
// self-signed mode; in files mode the certificate must cover them.
func (s *Server) tlsHostnames(ctx context.Context) ([]string, error) {
	domains, err := s.store.ListDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("tls: listing domains: %w", err)
	}
	names := []string{s.cfg.Hostname}
	for _, d := range domains {
		names = append(names, "mta-sts."+d.Name, "autoconfig."+d.Name, "autodiscover."+d.Name)
	}
	return names, nil
}

// mailDomainHost reports whether name is the MTA-STS policy host or the
// autoconfig or autodiscover host of a hosted domain: such a name may get
// a certificate on demand.
func (s *Server) mailDomainHost(ctx context.Context, name string) bool {
	for _, prefix := range []string{"mta-sts.", "autoconfig.", "autodiscover."} {
		if domain, ok := strings.CutPrefix(name, prefix); ok {
			_, err := s.store.GetDomain(ctx, domain)
			return err == nil
		}
	}
	return false
}

// mailDomains is what the HTTPS listener serves for the hosted domains.
func (s *Server) mailDomains() *web.MailDomains {
	l := s.cfg.Listeners
	return &web.MailDomains{
		Hosted: func(ctx context.Context, domain string) bool {
			_, err := s.store.GetDomain(ctx, domain)
			return err == nil
		},
		Policy:   instance.MTASTSPolicy(s.cfg).String(),
		Hostname: s.cfg.Hostname,
		IMAPS:    listenerPort(l.IMAPS), IMAP: listenerPort(l.IMAP),
		POP3S: listenerPort(l.POP3S), POP3: listenerPort(l.POP3),
		Submissions: listenerPort(l.Submissions), Submission: listenerPort(l.Submission),
	}
}

// listenerPort is the port of a listener address, 0 when it is off.
func listenerPort(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

// bind opens the listeners of the protocols built so far.
func (s *Server) bind() error {
	l := s.cfg.Listeners
	for _, m := range []struct {
		addr string
		mode smtpserver.Mode
	}{{l.SMTP, smtpserver.MX}, {l.Submission, smtpserver.Submission}, {l.Submissions, smtpserver.Submissions}} {
		if m.addr == "" {
			continue
		}
		if err := s.listenSMTP(m.mode, m.addr); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		addr string
		mode pop3.Mode
	}{{l.POP3, pop3.POP3}, {l.POP3S, pop3.POP3S}} {
		if m.addr == "" {
			continue
		}
		if err := s.listenPOP3(m.mode, m.addr); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		addr string
		mode imapserver.Mode
	}{{l.IMAP, imapserver.IMAP}, {l.IMAPS, imapserver.IMAPS}} {
		if m.addr == "" {
			continue
		}
		if err := s.listenIMAP(m.mode, m.addr, s.hub); err != nil {
			return err
		}
	}
	if l.HTTPS != "" {
		// ACME certificates are validated with TLS-ALPN-01 on this listener;
		// HTTP-01 would need a port-80 listener, which Sealpost does not run.
		handler := web.Handler(web.Options{
			Hostname: s.cfg.Hostname,
			Version:  metrics.Version(),
			Health:   s.store.Ping,
			Mail:     s.mailDomains(),
			// The targets of forwarding rules confirm them here.
			Forwarding: s.accounts,
			Logger:     s.log,
			API:        s.api.Handler(),
		})
		if err := s.listenHTTP("https", l.HTTPS, handler, s.tls.Config()); err != nil {
			return err
		}
	}
	s.serveAdminSocket()
	if l.Admin != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics.Handler())
		mux.Handle("GET /healthz", web.HealthHandler(s.store.Ping, true))
		if err := s.listenHTTP("admin", l.Admin, mux, nil); err != nil {
			return err
		}
	}
	return nil
}

// listenSMTP binds an SMTP listener.
func (s *Server) listenSMTP(mode smtpserver.Mode, addr string) error {
	lim := s.cfg.Limits
	spool := filepath.Join(s.cfg.DataDir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return fmt.Errorf("spool directory: %w", err)
	}
	srv, err := smtpserver.New(smtpserver.Config{
		Mode:     mode,
		Hostname: s.cfg.Hostname,
		TLS:      s.tls.Config(),
		SpoolDir: spool,
		Limits: smtpserver.Limits{
			MaxMessageSize:  int64(lim.MaxMessageSize),
			MaxRecipients:   lim.MaxRecipients,
			MaxLineLength:   lim.MaxLineLength,
			MaxAuthFailures: lim.MaxAuthFailures,
			MaxSessions:     lim.MaxSessions,
			IdleTimeout:     time.Duration(lim.SessionTimeout),
			DataTimeout:     time.Duration(lim.CommandTimeout),
		},
	}, smtpserver.Deps{
		Store: s.store, Accounts: s.accounts, Pipeline: s.pipeline, Conns: s.conns,
		Queued: s.pokeQueue, Sessions: s.sessions, Outbound: s.outbound, Greylist: s.greylister(), Logger: s.log,
	})
	if err != nil {
		return err
	}
	ln, err := s.listen(mode.String(), addr)
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, &listener{name: mode.String(), ln: ln, srv: srv})
	return nil
}

// listenPOP3 binds a POP3 listener.
func (s *Server) listenPOP3(mode pop3.Mode, addr string) error {
	lim := s.cfg.Limits
	srv, err := pop3.New(pop3.Config{
		Mode:     mode,
		Hostname: s.cfg.Hostname,
		TLS:      s.tls.Config(),
		Limits: pop3.Limits{
			MaxLineLength:   lim.MaxLineLength,
			MaxAuthFailures: lim.MaxAuthFailures,
			MaxSessions:     lim.MaxSessions,
			IdleTimeout:     time.Duration(lim.SessionTimeout),
			WriteTimeout:    time.Duration(lim.CommandTimeout),
		},
	}, pop3.Deps{Store: s.store, Accounts: s.accounts, Conns: s.conns, Changed: s.hub.Changed,
		Sessions: s.sessions, Logger: s.log})
	if err != nil {
		return err
	}
	ln, err := s.listen(mode.String(), addr)
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, &listener{name: mode.String(), ln: ln, srv: srv})
	return nil
}

// listenIMAP binds an IMAP listener. APPEND is bounded by the message
// size limit, which IMAP advertises as APPENDLIMIT.
func (s *Server) listenIMAP(mode imapserver.Mode, addr string, hub *imapserver.Hub) error {
	lim := s.cfg.Limits
	srv, err := imapserver.New(imapserver.Config{
		Mode:     mode,
		Hostname: s.cfg.Hostname,
		TLS:      s.tls.Config(),
		Limits: imapserver.Limits{
			Wire:            imap.Limits{MaxAppend: int64(lim.MaxMessageSize)},
			MaxAuthFailures: lim.MaxAuthFailures,
			MaxSessions:     lim.MaxIMAPSessions,
			IdleTimeout:     time.Duration(lim.SessionTimeout),
			WriteTimeout:    time.Duration(lim.CommandTimeout),
			PollInterval:    s.idlePoll(),
		},
	}, imapserver.Deps{Store: s.store, Accounts: s.accounts, Conns: s.conns, Hub: hub,
		Indexer: s.indexer, Sessions: s.sessions, Trainer: s.trainer, Logger: s.log})
	if err != nil {
		return err
	}
	ln, err := s.listen(mode.String(), addr)
	if err != nil {
		return err
	}
	s.listeners = append(s.listeners, &listener{name: mode.String(), ln: ln, srv: srv})
	return nil
}

// listen binds addr and counts its connections.
func (s *Server) listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listeners.%s: %w", name, err)
	}
	return &countingListener{Listener: ln, count: s.metrics.Connections.WithLabelValues(name).Inc}, nil
}

// AdminSocket is the name of the admin socket's listener in Addrs.
const AdminSocket = "admin-socket"

// serveAdminSocket serves the admin API (package admin) on the socket New
// took, through which administrative commands act on the running server.
func (s *Server) serveAdminSocket() {
	h := (&admin.Server{Accounts: s.accounts, Sessions: s.sessions, Logger: s.log}).Handler()
	s.serveHTTP(AdminSocket, s.adminLn, h)
}

func (s *Server) listenHTTP(name, addr string, h http.Handler, tlsConfig *tls.Config) error {
	ln, err := s.listen(name, addr)
	if err != nil {
		return err
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.serveHTTP(name, ln, h)
	return nil
}

// serveHTTP adds an HTTP listener to those Run serves.
func (s *Server) serveHTTP(name string, ln net.Listener, h http.Handler) {
	srv := &http.Server{
		Handler:           s.countRequests(name, h),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.With("listener", name).Handler(), slog.LevelDebug),
	}
	s.listeners = append(s.listeners, &listener{name: name, ln: ln, srv: srv})
}

func (s *Server) countRequests(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.metrics.HTTPRequests.WithLabelValues(name, fmt.Sprint(rec.code)).Inc()
	})
}

// Addrs returns the bound address of every started listener by name
// ("https", "admin", ...).
func (s *Server) Addrs() map[string]net.Addr {
	m := make(map[string]net.Addr, len(s.listeners))
	for _, hl := range s.listeners {
		m[hl.name] = hl.ln.Addr()
	}
	return m
}

// Store returns the server's store, for the dev command's set-up.
func (s *Server) Store() store.Store { return s.store }

// Accounts returns the account service over the server's store.
func (s *Server) Accounts() *account.Service { return s.accounts }

// Sessions returns the registry of the server's live sessions.
func (s *Server) Sessions() *sessions.Registry { return s.sessions }

// Reload re-reads the certificate files. Open connections keep theirs.
func (s *Server) Reload() error {
	if err := s.tls.Reload(); err != nil {
		return fmt.Errorf("reload certificates: %w", err)
	}
	s.log.Info("certificates reloaded")
	return nil
}

// Run serves until ctx is done, then shuts down gracefully: listeners stop
// accepting, in-flight requests get until the shutdown timeout, and the
// store is closed last. It returns the first serving error, if any.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, len(s.listeners)+1)
	var wg sync.WaitGroup
	wg.Go(func() { s.maintain(ctx) })
	if feed, ok := s.store.(store.ChangeFeed); ok {
		wg.Go(func() { s.relayChanges(ctx, feed) })
	}
	wg.Go(func() { s.indexer.Run(ctx) })
	wg.Go(func() { s.sendReports(ctx) })
	wg.Go(func() { s.rotateDKIM(ctx) })
	wg.Go(func() { s.remindForwarding(ctx) })
	wg.Go(func() { s.retrainFilter(ctx) })
	wg.Go(func() {
		if err := s.queue.Run(ctx); err != nil {
			errc <- fmt.Errorf("queue: %w", err)
		}
	})
	for _, hl := range s.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.log.Info("listening", "listener", hl.name, "addr", hl.ln.Addr().String())
			if err := hl.srv.Serve(hl.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", hl.name, err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.log.Info("shutting down")
	// The listeners get the shutdown timeout less a reserve for closing the
	// store, so the whole shutdown stays within the timeout.
	budget := time.Duration(s.cfg.Limits.ShutdownTimeout)
	shutCtx, cancel := context.WithTimeout(context.Background(), budget-min(budget/5, 2*time.Second))
	defer cancel()
	var shut sync.WaitGroup
	for _, hl := range s.listeners {
		if _, isHTTP := hl.srv.(*http.Server); !isHTTP {
			hl.ln.Close() // http.Server.Shutdown closes its own
		}
		shut.Go(func() {
			if err := hl.srv.Shutdown(shutCtx); err != nil {
				s.log.Warn("shutdown incomplete, connections closed", "listener", hl.name, "err", err)
				if hs, ok := hl.srv.(*http.Server); ok {
					hs.Close()
				}
			}
		})
	}
	shut.Wait()
	wg.Wait()
	s.learn.Close() // what the last verdicts teach, before the store closes
	if err := s.store.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close store: %w", err)
	}
	s.log.Info("stopped")
	return runErr
}

// closeAll releases what New acquired when New fails part way.
func (s *Server) closeAll() {
	for _, hl := range s.listeners {
		hl.ln.Close()
	}
	if s.adminLn != nil {
		s.adminLn.Close() // again if it was served: closing twice is harmless
	}
	if s.learn != nil {
		s.learn.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

// maintenanceInterval is how often the store is tidied while running.
const maintenanceInterval = 24 * time.Hour

// idlePoll is how often an IDLE session looks at the store itself. A store
// with a change feed rings the hub for every change, whoever made it, so
// the look is only a backstop and can be rare: with thousands of idle
// sessions, frequent looks would be thousands of queries a second.
func (s *Server) idlePoll() time.Duration {
	if _, ok := s.store.(store.ChangeFeed); ok {
		return time.Minute
	}
	return 0 // imapserver's default
}

// relayChanges rings the hub for changes other processes commit to a
// shared store, so that IMAP sessions here hear of them as soon as of this
// process's own. Changes made here come back too; a session rung for
// nothing new finds nothing and goes back to waiting.
func (s *Server) relayChanges(ctx context.Context, feed store.ChangeFeed) {
	_ = feed.WatchChanges(ctx, func(c store.MailboxChange) {
		if c.MailboxID == 0 {
			s.hub.ChangedAll()
			return
		}
		s.hub.Changed(c.MailboxID)
		// A mailbox created or renamed elsewhere concerns the account's
		// NOTIFY sessions, which may not know the mailbox yet.
		s.hub.AccountChanged(c.AccountID)
	})
}

// maintain tidies the store in the background: bodies orphaned by a crash
// once at start, expired cached values, event log entries older than
// log.activity_retention and reputation not seen for a year at start and
// then daily.
func (s *Server) maintain(ctx context.Context) {
	if sw, ok := s.store.(orphanSweeper); ok {
		if err := sw.SweepOrphans(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("removing orphaned message bodies", "err", err)
		}
	}
	for {
		if _, err := s.store.PruneValues(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("removing expired cached values", "err", err)
		}
		if _, err := s.store.PruneLog(ctx, time.Now().Add(-time.Duration(s.cfg.Log.ActivityRetention))); err != nil && ctx.Err() == nil {
			s.log.Warn("removing old event log entries", "err", err)
		}
		if _, err := instance.Reputation(s.store).Prune(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("removing old sender reputation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(maintenanceInterval):
		}
	}
}

// orphanSweeper is a store that may hold bodies left by a crash between
// writing a body and committing its message, and can remove them.
type orphanSweeper interface {
	SweepOrphans(ctx context.Context) error
}

type countingListener struct {
	net.Listener
	count func()
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.count()
	}
	return c, err
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}
