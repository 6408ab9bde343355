package mailbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The phases of an IMAP session, in the order a session runs them.
const (
	PhaseLogin  = "login"  // connect, greeting, TLS and LOGIN
	PhaseSelect = "select" // SELECT
	PhaseFetch  = "fetch"  // FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)
	PhaseBody   = "body"   // one UID FETCH n BODY.PEEK[]
	PhaseSearch = "search" // SEARCH
	PhaseLogout = "logout" // LOGOUT
)

// Phases lists the phase names in session order.
var Phases = []string{PhaseLogin, PhaseSelect, PhaseFetch, PhaseBody, PhaseSearch, PhaseLogout}

// IMAPConfig describes one IMAP load run. Addr, User and Sessions are
// required; the zero value of every other field takes the default
// documented on it.
type IMAPConfig struct {
	Addr        string   // server, "host:port"
	AllowRemote bool     // allow an Addr that is not loopback
	SourceIPs   []net.IP // local addresses clients connect from, in turn; see Config.SourceIPs
	Security    Security // default ImplicitTLS

	User, Password string
	Mailbox        string // default "INBOX"

	Clients  int           // concurrent clients; default 1
	Sessions int           // sessions each client runs, one after another
	Duration time.Duration // no session starts after this; default 60s
	Timeout  time.Duration // bound on each response line and set-up step; default 30s

	Bodies int    // UID FETCH BODY.PEEK[] commands per session, one message each; default 10, negative for none
	Search string // SEARCH criteria; default `SUBJECT "message 42"`, "-" for no SEARCH

	// CPU, when set, is sampled when the run starts and ends; IMAPResult.CPU
	// is the difference.
	CPU func() (time.Duration, error)
}

// PhaseResult is what one phase measured over a run: commands that
// succeeded and their latencies.
type PhaseResult struct {
	Ops                int
	P50, P90, P99, Max time.Duration
}

// IMAPResult is what an IMAP run measured.
type IMAPResult struct {
	Sessions int // sessions that ran to LOGOUT without an error
	Failed   int // sessions ended by an error
	Start    time.Time
	Elapsed  time.Duration

	Session PhaseResult            // whole sessions, from connect to LOGOUT's reply
	Phases  map[string]PhaseResult // by phase name (see Phases)

	// Errors counts failed sessions by what failed: the phase and, for a
	// NO or BAD, the status ("fetch NO"), or "connect", "timeout", "tls".
	Errors       map[string]int
	ErrorSamples map[string]string // the first error of each kind

	CPU time.Duration // see IMAPConfig.CPU
}

// SessionsPerSecond is Sessions divided by Elapsed.
func (r IMAPResult) SessionsPerSecond() float64 { return perSecond(r.Sessions, r.Elapsed) }

// OpsPerSecond is the number of successful commands of phase divided by
// Elapsed: the rate the run achieved, with every client running all phases.
func (r IMAPResult) OpsPerSecond(phase string) float64 {
	return perSecond(r.Phases[phase].Ops, r.Elapsed)
}

// CPUPerSession is the CPU time sampled by IMAPConfig.CPU divided by Sessions.
func (r IMAPResult) CPUPerSession() time.Duration {
	if r.Sessions == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Sessions)
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (cfg IMAPConfig) withDefaults() (IMAPConfig, error) {
	if cfg.Sessions <= 0 {
		return cfg, errors.New("mailbench: the number of sessions must be positive")
	}
	if cfg.User == "" {
		return cfg, errors.New("mailbench: no user")
	}
	if err := checkTarget(cfg.Addr, cfg.SourceIPs, cfg.AllowRemote); err != nil {
		return cfg, err
	}
	if cfg.Security == "" {
		cfg.Security = ImplicitTLS
	}
	if !cfg.Security.valid() {
		return cfg, fmt.Errorf("mailbench: unknown security %q", cfg.Security)
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	cfg.Clients = max(cfg.Clients, 1)
	if cfg.Duration <= 0 {
		cfg.Duration = 60 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Bodies == 0 {
		cfg.Bodies = 10
	}
	if cfg.Search == "" {
		cfg.Search = `SUBJECT "message 42"`
	}
	return cfg, nil
}

// checkTarget applies the loopback rule to a server and its source addresses.
func checkTarget(addr string, sources []net.IP, allowRemote bool) error {
	if err := CheckAddr(addr, allowRemote); err != nil {
		return err
	}
	for _, ip := range sources {
		if !ip.IsLoopback() && !allowRemote {
			return fmt.Errorf("mailbench: source address %s is not a loopback address", ip)
		}
	}
	return nil
}

// RunIMAP runs cfg.Clients clients at once, each running up to
// cfg.Sessions IMAP sessions in turn until cfg.Duration has passed. A
// session is: connect and LOGIN, SELECT, FETCH 1:* (UID FLAGS ENVELOPE
// BODYSTRUCTURE), cfg.Bodies UID FETCH BODY.PEEK[] of messages spread over
// the mailbox, SEARCH, LOGOUT. A failed session is counted and the client
// goes on with its next one. RunIMAP returns an error when the
// configuration is invalid or when no session succeeded, with the Result
// filled in the latter case.
func RunIMAP(ctx context.Context, cfg IMAPConfig) (IMAPResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return IMAPResult{}, err
	}
	// The hard bound: the run and the sessions in flight at its end.
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+4*cfg.Timeout)
	defer cancel()

	rec := newIMAPRecorder()
	res := IMAPResult{Start: time.Now()}
	cpu0, cpuErr := sample(cfg.CPU)
	stopAt := res.Start.Add(cfg.Duration)
	var seq atomic.Int64
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		var local net.Addr
		if len(cfg.SourceIPs) > 0 {
			local = &net.TCPAddr{IP: cfg.SourceIPs[i%len(cfg.SourceIPs)]}
		}
		wg.Go(func() {
			for range cfg.Sessions {
				if ctx.Err() != nil || time.Now().After(stopAt) {
					return
				}
				s := &imapSession{cfg: &cfg, local: local, seq: int(seq.Add(1))}
				start := time.Now()
				if err := s.run(ctx); err != nil {
					rec.fail(err)
					continue
				}
				rec.session(time.Since(start), s.lat)
			}
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(res.Start)
	cpu1, err := sample(cfg.CPU)
	if cpuErr == nil && err == nil {
		res.CPU = cpu1 - cpu0
	}
	rec.fill(&res)
	if res.Sessions == 0 {
		return res, fmt.Errorf("mailbench: no IMAP session to %s succeeded (%d failed)", cfg.Addr, res.Failed)
	}
	return res, nil
}

// imapSession is one session's state and the latencies of its commands.
type imapSession struct {
	cfg   *IMAPConfig
	local net.Addr
	seq   int // picks which messages this session fetches
	lat   map[string][]time.Duration
}

func (s *imapSession) timed(phase string, f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return &stepError{phase, err}
	}
	if s.lat == nil {
		s.lat = map[string][]time.Duration{}
	}
	s.lat[phase] = append(s.lat[phase], time.Since(start))
	return nil
}

func (s *imapSession) run(ctx context.Context) error {
	cfg := s.cfg
	var c *imapConn
	err := s.timed(PhaseLogin, func() error {
		var err error
		if c, err = dialIMAP(ctx, cfg.Addr, s.local, cfg.Security, cfg.Timeout); err != nil {
			return err
		}
		return c.login(cfg.User, cfg.Password)
	})
	if err != nil {
		if c != nil {
			c.conn.Close()
		}
		return err
	}
	defer c.conn.Close()
	// The run's end closes the connection, so a session stuck on a slow
	// server ends with it.
	stop := context.AfterFunc(ctx, func() { c.conn.Close() })
	defer stop()

	mbox, err := quote(cfg.Mailbox)
	if err != nil {
		return err
	}
	steps := []struct {
		phase, cmd string
	}{
		{PhaseSelect, "SELECT " + mbox},
		{PhaseFetch, "FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)"},
	}
	var uids []uint32
	for _, st := range steps {
		err := s.timed(st.phase, func() error {
			untagged, err := c.command(st.cmd)
			if st.phase == PhaseFetch {
				uids = fetchUIDs(untagged)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, uid := range pickUIDs(uids, cfg.Bodies, s.seq) {
		cmd := "UID FETCH " + strconv.FormatUint(uint64(uid), 10) + " BODY.PEEK[]"
		if err := s.timed(PhaseBody, func() error { _, err := c.command(cmd); return err }); err != nil {
			return err
		}
	}
	if cfg.Search != "-" {
		if err := s.timed(PhaseSearch, func() error { _, err := c.command("SEARCH " + cfg.Search); return err }); err != nil {
			return err
		}
	}
	return s.timed(PhaseLogout, c.logout)
}

// pickUIDs returns n of uids spread evenly over them, shifted by seq so
// that sessions do not all read the same messages.
func pickUIDs(uids []uint32, n, seq int) []uint32 {
	if n <= 0 || len(uids) == 0 {
		return nil
	}
	out := make([]uint32, 0, n)
	step := max(len(uids)/n, 1)
	for i := range n {
		out = append(out, uids[(seq+i*step)%len(uids)])
	}
	return out
}

// imapRecorder gathers what the clients measured.
type imapRecorder struct {
	mu       sync.Mutex
	sessions []time.Duration
	phases   map[string][]time.Duration
	failed   int
	errors   map[string]int
	samples  map[string]string
}

func newIMAPRecorder() *imapRecorder {
	return &imapRecorder{phases: map[string][]time.Duration{}, errors: map[string]int{}, samples: map[string]string{}}
}

func (r *imapRecorder) session(d time.Duration, lat map[string][]time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions = append(r.sessions, d)
	for p, l := range lat {
		r.phases[p] = append(r.phases[p], l...)
	}
}

func (r *imapRecorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	k := classifyIMAP(err)
	if r.errors[k] == 0 {
		r.samples[k] = err.Error()
	}
	r.errors[k]++
}

func (r *imapRecorder) fill(res *IMAPResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Sessions = len(r.sessions)
	res.Failed = r.failed
	res.Errors, res.ErrorSamples = r.errors, r.samples
	res.Session = phaseResult(r.sessions)
	res.Phases = map[string]PhaseResult{}
	for p, l := range r.phases {
		res.Phases[p] = phaseResult(l)
	}
}

func phaseResult(l []time.Duration) PhaseResult {
	slices.Sort(l)
	return PhaseResult{Ops: len(l), P50: percentile(l, 50), P90: percentile(l, 90), P99: percentile(l, 99), Max: percentile(l, 100)}
}

// classifyIMAP names the kind of a failed session for IMAPResult.Errors.
func classifyIMAP(err error) string {
	kind := classify(err)
	var ie *imapError
	var se *stepError
	if errors.As(err, &ie) && errors.As(err, &se) {
		return se.step + " " + ie.status
	}
	return kind
}
