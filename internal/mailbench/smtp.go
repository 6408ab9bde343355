package mailbench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one load run. Messages, Addr and To are required; the
// zero value of every other field takes the default documented on it.
type Config struct {
	Addr        string // server, "host:port"
	AllowRemote bool   // allow an Addr that is not loopback
	// SourceIPs, when set, are the local addresses connections come from,
	// in turn: spreading them over 127.0.0.0/8 keeps a server's limit of
	// connections per client address out of the measurement.
	SourceIPs []net.IP

	Messages    int           // messages to send, at most
	Connections int           // concurrent connections; default 1
	Duration    time.Duration // the run stops taking new messages after this; default 60s
	Timeout     time.Duration // bound on setting up a connection and on each message; default 30s

	Size          int      // size of each message in octets, headers included; default 4096
	From          string   // reverse-path; default "mailbench@bench.test"
	SenderDomains int      // vary From's domain over this many subdomains; default 1 (no variation)
	To            []string // recipients, used in turn: one per message
	HeloName      string   // EHLO name; default "client.bench.test"

	TLS      bool   // STARTTLS before anything else; the certificate is not checked
	User     string // AUTH PLAIN with User and Password when User is set
	Password string

	// CPU, when set, is sampled when the timed part of the run starts and
	// again when it ends; Result.CPU is the difference.
	CPU func() (time.Duration, error)
}

// Result is what a run measured. Latency is from MAIL to the reply after
// DATA's final dot, for the messages the server accepted.
type Result struct {
	Sent    int // messages the server accepted
	Failed  int // messages refused or lost with their connection
	Start   time.Time
	Elapsed time.Duration // from Start to the last transaction's end

	P50, P90, P99, Max time.Duration

	// Errors counts failures by reply code ("451", "550") or, when no
	// reply came, by kind ("connect", "timeout", "io", "tls", "auth").
	Errors map[string]int
	// ErrorSamples holds, for each key of Errors, the first such error.
	ErrorSamples map[string]string

	CPU time.Duration // see Config.CPU
}

// MsgsPerSecond is Sent divided by Elapsed.
func (r Result) MsgsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// CPUPerMessage is the CPU time sampled by Config.CPU divided by Sent.
func (r Result) CPUPerMessage() time.Duration {
	if r.Sent == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Sent)
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Messages <= 0 {
		return cfg, errors.New("mailbench: the number of messages must be positive")
	}
	if len(cfg.To) == 0 {
		return cfg, errors.New("mailbench: no recipient")
	}
	if err := CheckAddr(cfg.Addr, cfg.AllowRemote); err != nil {
		return cfg, err
	}
	for _, ip := range cfg.SourceIPs {
		if !ip.IsLoopback() && !cfg.AllowRemote {
			return cfg, fmt.Errorf("mailbench: source address %s is not a loopback address", ip)
		}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Connections, 1)
	def(&cfg.Size, 4096)
	def(&cfg.SenderDomains, 1)
	if cfg.Connections > cfg.Messages {
		cfg.Connections = cfg.Messages
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 60 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.From == "" {
		cfg.From = "mailbench@bench.test"
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "client.bench.test"
	}
	return cfg, nil
}

// CheckAddr returns an error unless addr is "host:port" with host a
// loopback address or "localhost", or allowRemote is set. It resolves
// nothing.
func CheckAddr(addr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("mailbench: address %q: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("mailbench: address %q: bad port", addr)
	}
	if allowRemote || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("mailbench: %s is not a loopback address (load tests stay on this machine unless remote addresses are allowed)", host)
}

// Run sends cfg.Messages messages, or as many as fit in cfg.Duration, over
// cfg.Connections connections, each sending its messages one after the
// other. Connections are set up (greeting, EHLO, STARTTLS, AUTH) before the
// clock starts. A connection that fails is set up again for its next
// message. Run returns an error only when the configuration is wrong or no
// connection could be set up at all; refused messages are counted in the
// Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	// The hard bound: set-up, the run, and the last messages in flight.
	ctx, cancel := context.WithTimeout(ctx, 2*cfg.Timeout+cfg.Duration)
	defer cancel()

	gen := newGenerator(cfg)
	rec := &recorder{errors: map[string]int{}, samples: map[string]string{}}
	var next atomic.Int64

	workers := make([]*worker, cfg.Connections)
	var setup sync.WaitGroup
	var setupErr error
	var setupMu sync.Mutex
	for i := range workers {
		w := &worker{cfg: &cfg, rec: rec}
		if len(cfg.SourceIPs) > 0 {
			w.local = &net.TCPAddr{IP: cfg.SourceIPs[i%len(cfg.SourceIPs)]}
		}
		workers[i] = w
		setup.Go(func() {
			if err := w.connect(ctx); err != nil {
				setupMu.Lock()
				setupErr = err
				setupMu.Unlock()
			}
		})
	}
	setup.Wait()
	if allFailed(workers) {
		return Result{}, fmt.Errorf("mailbench: no connection to %s could be set up: %w", cfg.Addr, setupErr)
	}

	res := Result{Start: time.Now()}
	cpu0, cpuErr := sample(cfg.CPU)
	stopAt := res.Start.Add(cfg.Duration) // no message starts after this
	take := func() (int, bool) {
		if time.Now().After(stopAt) {
			return 0, false
		}
		i := next.Add(1) - 1
		return int(i), i < int64(cfg.Messages)
	}
	var run sync.WaitGroup
	for _, w := range workers {
		run.Go(func() {
			for i, ok := take(); ok && ctx.Err() == nil; i, ok = take() {
				w.send(ctx, i, gen)
			}
		})
	}
	run.Wait()
	res.Elapsed = time.Since(res.Start)
	cpu1, err := sample(cfg.CPU)
	if cpuErr == nil && err == nil {
		res.CPU = cpu1 - cpu0
	} else if cpuErr == nil {
		cpuErr = err
	}
	for _, w := range workers {
		w.quit()
	}
	rec.fill(&res)
	if cpuErr != nil {
		return res, fmt.Errorf("mailbench: CPU time: %w", cpuErr)
	}
	return res, nil
}

func sample(f func() (time.Duration, error)) (time.Duration, error) {
	if f == nil {
		return 0, nil
	}
	return f()
}

func allFailed(ws []*worker) bool {
	for _, w := range ws {
		if w.c != nil {
			return false
		}
	}
	return true
}

// recorder gathers what the workers measured.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	failed    int
	errors    map[string]int
	samples   map[string]string
}

func (r *recorder) ok(d time.Duration) {
	r.mu.Lock()
	r.latencies = append(r.latencies, d)
	r.mu.Unlock()
}

func (r *recorder) fail(err error) {
	kind := classify(err)
	r.mu.Lock()
	r.failed++
	r.errors[kind]++
	if _, ok := r.samples[kind]; !ok {
		r.samples[kind] = err.Error()
	}
	r.mu.Unlock()
}

func (r *recorder) fill(res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Sent = len(r.latencies)
	res.Failed = r.failed
	res.Errors = r.errors
	res.ErrorSamples = r.samples
	slices.Sort(r.latencies)
	res.P50 = percentile(r.latencies, 50)
	res.P90 = percentile(r.latencies, 90)
	res.P99 = percentile(r.latencies, 99)
	res.Max = percentile(r.latencies, 100)
}

// percentile returns the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

// worker is one connection and the messages it sends in turn.
type worker struct {
	cfg   *Config
	rec   *recorder
	local net.Addr // source address, or nil for the system's choice
	conn  net.Conn
	c     *smtp.Client
	stop  func() bool // ends the watch that closes conn when the run's context ends
}

// connect sets up a session: greeting, EHLO, STARTTLS and AUTH as
// configured. A failure is recorded only by the caller.
func (w *worker) connect(ctx context.Context) error {
	cfg := w.cfg
	d := net.Dialer{Timeout: cfg.Timeout, LocalAddr: w.local}
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return &stepError{"connect", err}
	}
	w.stop = context.AfterFunc(ctx, func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(cfg.Timeout))
	host, _, _ := net.SplitHostPort(cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err == nil {
		err = c.Hello(cfg.HeloName)
	}
	if err != nil {
		w.drop(conn)
		return &stepError{"greeting", err}
	}
	if cfg.TLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			w.drop(conn)
			return &stepError{"tls", errors.New("server does not offer STARTTLS")}
		}
		// Test servers present self-signed certificates: a load run checks
		// throughput, not identity.
		if err := c.StartTLS(&tls.Config{ServerName: host, InsecureSkipVerify: true}); err != nil {
			w.drop(conn)
			return &stepError{"tls", err}
		}
	}
	if cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.User, cfg.Password, host)); err != nil {
			w.drop(conn)
			return &stepError{"auth", err}
		}
	}
	w.conn, w.c = conn, c
	return nil
}

func (w *worker) drop(conn net.Conn) {
	conn.Close()
	if w.stop != nil {
		w.stop()
	}
	w.conn, w.c, w.stop = nil, nil, nil
}

// send runs message i's transaction, setting the session up first if the
// last one failed, and records the outcome.
func (w *worker) send(ctx context.Context, i int, gen *generator) {
	if w.c == nil {
		if err := w.connect(ctx); err != nil {
			w.rec.fail(err)
			return
		}
	}
	from, to, msg := gen.message(i)
	w.conn.SetDeadline(time.Now().Add(w.cfg.Timeout))
	start := time.Now()
	err := w.transaction(from, to, msg)
	if err == nil {
		w.rec.ok(time.Since(start))
		return
	}
	w.rec.fail(err)
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) && tpErr.Code != 421 && w.c.Reset() == nil {
		return // the session is still in step
	}
	w.drop(w.conn)
}

func (w *worker) transaction(from, to string, msg []byte) error {
	if err := w.c.Mail(from); err != nil {
		return err
	}
	if err := w.c.Rcpt(to); err != nil {
		return err
	}
	wc, err := w.c.Data()
	if err != nil {
		return err
	}
	if _, err := wc.Write(msg); err != nil {
		wc.Close()
		return err
	}
	return wc.Close()
}

// quit ends the session politely, briefly.
func (w *worker) quit() {
	if w.c == nil {
		return
	}
	w.conn.SetDeadline(time.Now().Add(time.Second))
	w.c.Quit()
	w.drop(w.conn)
}

// stepError names the step of setting up a session that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// classify names a failure for Result.Errors: the reply code when there
// was a reply, otherwise the kind of failure.
func classify(err error) string {
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		return strconv.Itoa(tpErr.Code)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var se *stepError
	if errors.As(err, &se) && se.step != "greeting" {
		return se.step
	}
	return "io"
}
