package mailbench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// imapFlags are the flags "imap" and "idle" share.
type imapFlags struct {
	addr, auth, authFile, security, mailbox string
	allowRemote                             bool
	sourceIPs, pid                          int
	timeout                                 time.Duration
	asJSON                                  bool
}

func (f *imapFlags) register(fs *flag.FlagSet, pidHelp string) {
	fs.StringVar(&f.addr, "addr", "", "server `HOST:PORT` (default: the IMAP port of -auth-file for -security)")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "allow a server address that is not loopback")
	fs.StringVar(&f.security, "security", string(ImplicitTLS), "`tls` (IMAPS), starttls or plain; certificates are not checked")
	fs.StringVar(&f.auth, "auth", "", "LOGIN as `USER:PASSWORD`")
	fs.StringVar(&f.authFile, "auth-file", "", "take user, password and default address from `dev.json`")
	fs.StringVar(&f.mailbox, "mailbox", "INBOX", "mailbox to SELECT")
	fs.IntVar(&f.sourceIPs, "source-ips", 0, "connect from `K` loopback addresses in turn, 127.0.0.1 to 127.0.0.K (IPv4 servers only)")
	fs.IntVar(&f.pid, "pid", 0, pidHelp)
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "bound on each response line and set-up step")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
}

// resolve turns the shared flags into address, credentials and sources;
// credentials are required with needUser.
func (f *imapFlags) resolve(needUser bool) (addr, user, pass string, sec Security, sources []net.IP, err error) {
	sec = Security(f.security)
	if !sec.valid() {
		return "", "", "", "", nil, usageError{fmt.Sprintf("-security: want tls, starttls or plain, not %q", f.security)}
	}
	addr = f.addr
	if f.authFile != "" {
		data, err := os.ReadFile(f.authFile)
		if err != nil {
			return "", "", "", "", nil, err
		}
		var d devFile
		if err := json.Unmarshal(data, &d); err != nil {
			return "", "", "", "", nil, fmt.Errorf("%s: %w", f.authFile, err)
		}
		user, pass = d.User, d.Password
		port := d.Ports["imaps"]
		if sec != ImplicitTLS {
			port = d.Ports["imap"]
		}
		if addr == "" && d.Host != "" && port != 0 {
			addr = net.JoinHostPort(d.Host, strconv.Itoa(port))
		}
	}
	if f.auth != "" {
		u, p, ok := strings.Cut(f.auth, ":")
		if !ok || u == "" {
			return "", "", "", "", nil, usageError{"-auth: want USER:PASSWORD"}
		}
		user, pass = u, p
	}
	if addr == "" {
		return "", "", "", "", nil, usageError{"-addr is required without -auth-file"}
	}
	if user == "" && needUser {
		return "", "", "", "", nil, usageError{"-auth or -auth-file is required"}
	}
	if f.sourceIPs > 254 {
		return "", "", "", "", nil, usageError{"-source-ips: at most 254"}
	}
	for k := 1; k <= f.sourceIPs; k++ {
		sources = append(sources, net.IPv4(127, 0, 0, byte(k)))
	}
	return addr, user, pass, sec, sources, nil
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	return nil
}

func runIMAP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("imap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f imapFlags
	f.register(fs, "report the CPU time process `P` used per session")
	var cfg IMAPConfig
	fs.IntVar(&cfg.Sessions, "n", 0, "sessions each client runs (required)")
	fs.IntVar(&cfg.Clients, "c", 1, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "start no session after this long")
	fs.IntVar(&cfg.Bodies, "bodies", 10, "UID FETCH BODY.PEEK[] commands per session, one message each (0 for none)")
	fs.StringVar(&cfg.Search, "search", `SUBJECT "message 42"`, "SEARCH `criteria` (\"-\" for no SEARCH)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Sessions <= 0 {
		return usageError{"-n: the number of sessions is required and must be positive"}
	}
	if cfg.Bodies == 0 {
		cfg.Bodies = -1
	}
	var err error
	if cfg.Addr, cfg.User, cfg.Password, cfg.Security, cfg.SourceIPs, err = f.resolve(true); err != nil {
		return err
	}
	cfg.AllowRemote, cfg.Mailbox, cfg.Timeout = f.allowRemote, f.mailbox, f.timeout
	if f.pid > 0 {
		p := f.pid
		if _, err := ProcessCPU(p); err != nil {
			return err
		}
		cfg.CPU = func() (time.Duration, error) { return ProcessCPU(p) }
	}
	res, err := RunIMAP(ctx, cfg)
	if err != nil && res.Start.IsZero() {
		return err
	}
	printIMAP(stdout, cfg, res, f.pid > 0, f.asJSON)
	return err
}

// phaseReport is the JSON form of a PhaseResult.
type phaseReport struct {
	Ops          int     `json:"ops"`
	OpsPerSecond float64 `json:"ops_per_second"`
	P50ms        float64 `json:"p50_ms"`
	P90ms        float64 `json:"p90_ms"`
	P99ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
}

func newPhaseReport(p PhaseResult, elapsed time.Duration) phaseReport {
	return phaseReport{
		Ops: p.Ops, OpsPerSecond: round3(perSecond(p.Ops, elapsed)),
		P50ms: ms(p.P50), P90ms: ms(p.P90), P99ms: ms(p.P99), MaxMs: ms(p.Max),
	}
}

// imapReport is the JSON form of an IMAPResult.
type imapReport struct {
	Addr              string                 `json:"addr"`
	Security          string                 `json:"security"`
	Clients           int                    `json:"clients"`
	Sessions          int                    `json:"sessions"`
	Failed            int                    `json:"failed"`
	ElapsedS          float64                `json:"elapsed_s"`
	SessionsPerSecond float64                `json:"sessions_per_second"`
	Session           phaseReport            `json:"session"`
	Phases            map[string]phaseReport `json:"phases"`
	Errors            map[string]int         `json:"errors"`
	ErrorSamples      map[string]string      `json:"error_samples,omitempty"`
	CPUMsPerSession   *float64               `json:"cpu_ms_per_session,omitempty"`
}

func printIMAP(w io.Writer, cfg IMAPConfig, res IMAPResult, withCPU, asJSON bool) {
	if asJSON {
		r := imapReport{
			Addr: cfg.Addr, Security: string(cfg.Security), Clients: max(cfg.Clients, 1),
			Sessions: res.Sessions, Failed: res.Failed, ElapsedS: round3(res.Elapsed.Seconds()),
			SessionsPerSecond: round3(res.SessionsPerSecond()),
			Session:           newPhaseReport(res.Session, res.Elapsed),
			Phases:            map[string]phaseReport{},
			Errors:            res.Errors, ErrorSamples: res.ErrorSamples,
		}
		for p, pr := range res.Phases {
			r.Phases[p] = newPhaseReport(pr, res.Elapsed)
		}
		if withCPU {
			v := ms(res.CPUPerSession())
			r.CPUMsPerSession = &v
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(r)
		return
	}
	fmt.Fprintf(w, "%s (%s): %d clients\n", cfg.Addr, cfg.Security, max(cfg.Clients, 1))
	fmt.Fprintf(w, "sessions %d, failed %d in %.3f s: %.1f sessions/s; session p50 %.2f ms, p99 %.2f ms\n",
		res.Sessions, res.Failed, res.Elapsed.Seconds(), res.SessionsPerSecond(), ms(res.Session.P50), ms(res.Session.P99))
	for _, p := range Phases {
		pr, ok := res.Phases[p]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "%-7s %7d ops %9.1f ops/s  p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms\n",
			p, pr.Ops, res.OpsPerSecond(p), ms(pr.P50), ms(pr.P99), ms(pr.Max))
	}
	if withCPU {
		fmt.Fprintf(w, "server CPU: %.3f ms per session\n", ms(res.CPUPerSession()))
	}
	printErrors(w, res.Errors, res.ErrorSamples)
}

func printErrors(w io.Writer, errs map[string]int, samples map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		fmt.Fprintf(w, "errors %s: %d (first: %s)\n", k, errs[k], samples[k])
	}
}

func runIdle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("idle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f imapFlags
	f.register(fs, "report the resident memory of process `P` before and while holding")
	var cfg IdleConfig
	fs.IntVar(&cfg.Connections, "c", 0, "connections to hold (required)")
	fs.IntVar(&cfg.Parallel, "parallel", 16, "connections set up at once")
	fs.DurationVar(&cfg.Hold, "hold", 10*time.Second, "hold every connection in IDLE this long")
	fs.BoolVar(&cfg.NoLogin, "no-login", false, "hold connections before login, after a NOOP, as IMAP in the clear (-security plain) must")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Connections <= 0 {
		return usageError{"-c: the number of connections is required and must be positive"}
	}
	var err error
	if cfg.Addr, cfg.User, cfg.Password, cfg.Security, cfg.SourceIPs, err = f.resolve(!cfg.NoLogin); err != nil {
		return err
	}
	cfg.AllowRemote, cfg.Mailbox, cfg.Timeout = f.allowRemote, f.mailbox, f.timeout
	if f.pid > 0 {
		p := f.pid
		if _, err := ProcessRSS(p); err != nil {
			return err
		}
		cfg.RSS = func() (int64, error) { return ProcessRSS(p) }
	}
	res, err := RunIdle(ctx, cfg)
	if err != nil && res.Held == 0 && res.Failed == 0 {
		return err
	}
	printIdle(stdout, cfg, res, f.pid > 0 && err == nil, f.asJSON)
	return err
}

func printIdle(w io.Writer, cfg IdleConfig, res IdleResult, withRSS, asJSON bool) {
	if asJSON {
		r := struct {
			Addr         string            `json:"addr"`
			Security     string            `json:"security"`
			Connections  int               `json:"connections"`
			Held         int               `json:"held"`
			Failed       int               `json:"failed"`
			HoldS        float64           `json:"hold_s"`
			SetupS       float64           `json:"setup_s"`
			RSSBeforeKiB *float64          `json:"rss_before_kib,omitempty"`
			RSSHeldKiB   *float64          `json:"rss_held_kib,omitempty"`
			RSSPerConnKB *float64          `json:"rss_per_connection_kib,omitempty"`
			Errors       map[string]int    `json:"errors"`
			ErrorSamples map[string]string `json:"error_samples,omitempty"`
		}{
			Addr: cfg.Addr, Security: string(cfg.Security), Connections: cfg.Connections,
			Held: res.Held, Failed: res.Failed, HoldS: round3(cfg.Hold.Seconds()), SetupS: round3(res.Setup.Seconds()),
			Errors: res.Errors, ErrorSamples: res.ErrorSamples,
		}
		if withRSS {
			b, h, p := round3(float64(res.RSSBefore)/1024), round3(float64(res.RSSHeld)/1024), round3(res.RSSPerConnection()/1024)
			r.RSSBeforeKiB, r.RSSHeldKiB, r.RSSPerConnKB = &b, &h, &p
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(r)
		return
	}
	where := "in IDLE"
	if cfg.NoLogin {
		where = "before login"
	}
	fmt.Fprintf(w, "%s (%s): %d of %d connections held %s for %s (set up in %.3f s), %d failed\n",
		cfg.Addr, cfg.Security, res.Held, cfg.Connections, where, cfg.Hold, res.Setup.Seconds(), res.Failed)
	if withRSS {
		fmt.Fprintf(w, "server RSS: %.0f KiB before, %.0f KiB held: %.1f KiB per connection\n",
			float64(res.RSSBefore)/1024, float64(res.RSSHeld)/1024, res.RSSPerConnection()/1024)
	}
	printErrors(w, res.Errors, res.ErrorSamples)
}
