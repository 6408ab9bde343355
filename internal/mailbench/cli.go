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

const usage = `usage:
  mailbench smtp -n N [-addr HOST:PORT] [-c C] [-size S] [-duration D] [-tls]
                 [-auth USER:PASSWORD | -auth-file dev.json] [-from ADDR] [-to ADDR[,ADDR...]]
                 [-sender-domains K] [-source-ips K] [-pid P] [-json]
  mailbench imap -n N [-c C] [-addr HOST:PORT] [-security tls|starttls|plain]
                 [-auth USER:PASSWORD | -auth-file dev.json] [-bodies B] [-search CRITERIA]
                 [-duration D] [-source-ips K] [-pid P] [-json]
  mailbench idle -c C [-hold D] [-addr HOST:PORT] [-security tls|starttls|plain]
                 [-auth USER:PASSWORD | -auth-file dev.json] [-parallel K] [-no-login]
                 [-source-ips K] [-pid P] [-json]
  mailbench count-maildir [-until N] [-timeout D] DIR
  mailbench write-maildir -n N [-size S] [-from ADDR] [-to ADDR[,ADDR...]] [-sender-domains K] DIR
`

// Main runs the mailbench command with args (without the program name) and
// returns its exit status: 0 on success, 1 when the run failed, 2 for a
// usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "smtp":
		err = runSMTP(ctx, args[1:], stdout, stderr)
	case "imap":
		err = runIMAP(ctx, args[1:], stdout, stderr)
	case "idle":
		err = runIdle(ctx, args[1:], stdout, stderr)
	case "write-maildir":
		err = runWriteMaildir(ctx, args[1:], stdout, stderr)
	case "count-maildir":
		err = runCount(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mailbench: %s\n%s", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "mailbench: %v\n", err)
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// devFile is the part of 'sealpost dev's dev.json that mailbench reads.
type devFile struct {
	User     string         `json:"user"`
	Password string         `json:"password"`
	Host     string         `json:"host"`
	Ports    map[string]int `json:"ports"`
}

// report is the JSON form of a Result.
type report struct {
	Addr            string            `json:"addr"`
	Connections     int               `json:"connections"`
	Size            int               `json:"size"`
	Sent            int               `json:"sent"`
	Failed          int               `json:"failed"`
	ElapsedS        float64           `json:"elapsed_s"`
	StartUnix       float64           `json:"start_unix"`
	MsgsPerSecond   float64           `json:"msgs_per_second"`
	P50ms           float64           `json:"p50_ms"`
	P90ms           float64           `json:"p90_ms"`
	P99ms           float64           `json:"p99_ms"`
	MaxMs           float64           `json:"max_ms"`
	Errors          map[string]int    `json:"errors"`
	ErrorSamples    map[string]string `json:"error_samples,omitempty"`
	CPUMsPerMessage *float64          `json:"cpu_ms_per_message,omitempty"`
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func runSMTP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("smtp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.Addr, "addr", "", "server `HOST:PORT` (default: the submission port of -auth-file)")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a server address that is not loopback")
	fs.IntVar(&cfg.Messages, "n", 0, "messages to send (required)")
	fs.IntVar(&cfg.Connections, "c", 1, "concurrent connections")
	fs.IntVar(&cfg.Size, "size", 4096, "message size in `bytes`")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "start no message after this long")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "bound on setting up a connection and on each message")
	fs.BoolVar(&cfg.TLS, "tls", false, "STARTTLS (the certificate is not checked)")
	auth := fs.String("auth", "", "AUTH PLAIN as `USER:PASSWORD`")
	authFile := fs.String("auth-file", "", "take user, password, and default address and recipient from `dev.json`")
	fs.StringVar(&cfg.From, "from", "", "sender `ADDR` (default: the user of -auth-file, or mailbench@bench.test)")
	to := fs.String("to", "", "recipients, comma-separated, one per message in turn (default: the user of -auth-file)")
	fs.IntVar(&cfg.SenderDomains, "sender-domains", 1, "vary the sender's domain over `K` subdomains of -from's")
	fs.StringVar(&cfg.HeloName, "helo", "client.bench.test", "EHLO `name`")
	sourceIPs := fs.Int("source-ips", 0, "connect from `K` loopback addresses in turn, 127.0.0.1 to 127.0.0.K (IPv4 servers only)")
	pid := fs.Int("pid", 0, "report the CPU time process `P` used per message")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if cfg.Messages <= 0 {
		return usageError{"-n: the number of messages is required and must be positive"}
	}
	if *authFile != "" {
		if err := applyDevFile(&cfg, to, *authFile); err != nil {
			return err
		}
	}
	if *auth != "" {
		user, pass, ok := strings.Cut(*auth, ":")
		if !ok || user == "" {
			return usageError{"-auth: want USER:PASSWORD"}
		}
		cfg.User, cfg.Password = user, pass
	}
	if cfg.Addr == "" {
		return usageError{"-addr is required without -auth-file"}
	}
	for _, a := range strings.Split(*to, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.To = append(cfg.To, a)
		}
	}
	if len(cfg.To) == 0 {
		return usageError{"-to is required without -auth-file"}
	}
	if *sourceIPs > 0 {
		if *sourceIPs > 254 {
			return usageError{"-source-ips: at most 254"}
		}
		for k := 1; k <= *sourceIPs; k++ {
			cfg.SourceIPs = append(cfg.SourceIPs, net.IPv4(127, 0, 0, byte(k)))
		}
	}
	if *pid > 0 {
		p := *pid
		if _, err := ProcessCPU(p); err != nil {
			return err
		}
		cfg.CPU = func() (time.Duration, error) { return ProcessCPU(p) }
	}
	res, err := Run(ctx, cfg)
	if err != nil && res.Start.IsZero() {
		return err
	}
	printResult(stdout, cfg, res, *pid > 0 && err == nil, *asJSON)
	if err != nil {
		return err
	}
	if res.Sent == 0 {
		return errors.New("no message was accepted")
	}
	return nil
}

// applyDevFile takes credentials, and the address and recipient unless
// given, from a dev.json file.
func applyDevFile(cfg *Config, to *string, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var d devFile
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	cfg.User, cfg.Password = d.User, d.Password
	if cfg.Addr == "" && d.Host != "" && d.Ports["submission"] != 0 {
		cfg.Addr = net.JoinHostPort(d.Host, strconv.Itoa(d.Ports["submission"]))
	}
	if *to == "" {
		*to = d.User
	}
	if cfg.From == "" {
		cfg.From = d.User
	}
	return nil
}

func printResult(w io.Writer, cfg Config, res Result, withCPU, asJSON bool) {
	conns := min(max(cfg.Connections, 1), cfg.Messages)
	if asJSON {
		r := report{
			Addr: cfg.Addr, Connections: conns, Size: cfg.Size,
			Sent: res.Sent, Failed: res.Failed,
			ElapsedS:      round3(res.Elapsed.Seconds()),
			StartUnix:     round3(float64(res.Start.UnixNano()) / 1e9),
			MsgsPerSecond: round3(res.MsgsPerSecond()),
			P50ms:         ms(res.P50), P90ms: ms(res.P90), P99ms: ms(res.P99), MaxMs: ms(res.Max),
			Errors: res.Errors, ErrorSamples: res.ErrorSamples,
		}
		if withCPU {
			v := ms(res.CPUPerMessage())
			r.CPUMsPerMessage = &v
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(r)
		return
	}
	fmt.Fprintf(w, "%s: %d connections, %d-byte messages\n", cfg.Addr, conns, cfg.Size)
	fmt.Fprintf(w, "sent %d, failed %d in %.3f s: %.1f msgs/s\n", res.Sent, res.Failed, res.Elapsed.Seconds(), res.MsgsPerSecond())
	fmt.Fprintf(w, "latency MAIL to final reply: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		ms(res.P50), ms(res.P90), ms(res.P99), ms(res.Max))
	if withCPU {
		fmt.Fprintf(w, "server CPU: %.3f ms per message\n", ms(res.CPUPerMessage()))
	}
	for _, k := range slices.Sorted(maps.Keys(res.Errors)) {
		fmt.Fprintf(w, "errors %s: %d (first: %s)\n", k, res.Errors[k], res.ErrorSamples[k])
	}
}

func runCount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("count-maildir", flag.ContinueOnError)
	fs.SetOutput(stderr)
	until := fs.Int("until", 0, "wait until the Maildir holds at least `N` messages")
	timeout := fs.Duration("timeout", 120*time.Second, "give up waiting after this long")
	interval := fs.Duration("interval", 20*time.Millisecond, "poll every `interval` while waiting")
	asJSON := fs.Bool("json", false, "print the count and when it was reached as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"count-maildir: want one Maildir directory"}
	}
	dir := fs.Arg(0)
	if *until <= 0 {
		n, err := CountMaildir(dir)
		if err != nil {
			return err
		}
		return printCount(stdout, n, time.Now(), *asJSON)
	}
	if *interval <= 0 {
		return usageError{"-interval must be positive"}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	n, at, err := WaitMaildir(ctx, dir, *until, *interval)
	if perr := printCount(stdout, n, at, *asJSON); err == nil {
		err = perr
	}
	return err
}

func printCount(w io.Writer, n int, at time.Time, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintln(w, n)
		return err
	}
	return json.NewEncoder(w).Encode(struct {
		Count  int     `json:"count"`
		AtUnix float64 `json:"at_unix"`
	}{n, round3(float64(at.UnixNano()) / 1e9)})
}
