package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"text/template"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/atomicfile"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/server"
	"sealpost.dev/sealpost/internal/store"
)

// The dev instance's fixed names.
const (
	devDomain   = "example.test"
	devHostname = "mail.example.test"
	devUser     = "demo@example.test"
	devHost     = "127.0.0.1"
)

// devPort is one protocol's place in the dev port layout: port-base plus
// the protocol's standard port.
type devPort struct {
	key      string // key in dev.json and name of the listener
	label    string
	offset   int
	security string
}

var devPorts = []devPort{
	{"smtp", "SMTP (MX)", 25, "STARTTLS"},
	{"submission", "Submission", 587, "STARTTLS"},
	{"submissions", "Submission", 465, "TLS"},
	{"imap", "IMAP", 143, "STARTTLS"},
	{"imaps", "IMAP", 993, "TLS"},
	{"pop3", "POP3", 110, "STARTTLS"},
	{"pop3s", "POP3", 995, "TLS"},
	{"https", "HTTPS", 443, "TLS"},
}

// devAdminOffset puts the admin listener (metrics, health) above the mail
// ports.
const devAdminOffset = 8080

// DevSettings is what dev.json holds: how a client connects to the dev
// instance.
type DevSettings struct {
	Domain   string         `json:"domain"`
	User     string         `json:"user"`
	Password string         `json:"password"`
	Host     string         `json:"host"`
	Hostname string         `json:"hostname"`
	Ports    map[string]int `json:"ports"`
	Admin    int            `json:"admin"`
}

func runDev(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "dev", "dev [--data DIR] [--port-base N] [--resolver HOST:PORT]")
	dataDir := fs.String("data", "sealpost-data", "data `DIR`, created if missing")
	portBase := fs.Int("port-base", 10000, "listen on port `N` plus each protocol's standard port")
	resolver := fs.String("resolver", "", "a DNS server `HOST:PORT` to ask about names Sealpost does not host (default: none, NXDOMAIN)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return usagef("dev: unexpected arguments %q", pos)
	}
	if *portBase < 1 || *portBase+devAdminOffset > 65535 {
		return usagef("--port-base %d: must be between 1 and %d", *portBase, 65535-devAdminOffset)
	}
	dns, err := devResolver(*resolver)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// Signals are caught from here on: dev.json appears before the server
	// runs, and a SIGTERM right after it must still shut down cleanly.
	ctx, reload, stop := env.notify(ctx)
	defer stop()
	cfgPath := filepath.Join(dir, instance.ConfigName)
	if err := writeDevConfig(cfgPath, dir, *portBase); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	log := instance.Logger(cfg, env.Stderr)
	srv, err := server.New(ctx, server.Options{
		Config:   cfg,
		Resolver: dns,
		Logger:   log,
	})
	if err != nil {
		return err
	}
	settings, err := devSetUp(ctx, srv.Accounts(), dir, *portBase)
	if err != nil {
		// Run with an already-cancelled context closes what New opened.
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		srv.Run(cancelled)
		return err
	}
	printDevSettings(env.Stdout, settings, srv, dir)
	return runUntilSignal(ctx, env, srv, reload)
}

// devResolver answers for the dev names from memory, asks upstream (if
// given) about the rest, and says NXDOMAIN otherwise: the dev instance never
// uses the system resolver.
func devResolver(upstream string) (dnsx.Resolver, error) {
	zone, err := dnsx.DevZone(devDomain, devHostname)
	if err != nil {
		return nil, err
	}
	var up dnsx.Resolver
	if upstream != "" {
		c, err := dnsx.NewClient(upstream, dnsx.ClientConfig{})
		if err != nil {
			return nil, usagef("--resolver: %v", err)
		}
		up = c
	}
	return dnsx.NewStub(zone, up), nil
}

// devSetUp makes sure the demo account exists with a known password and
// writes dev.json. A restart keeps the password of the last run.
func devSetUp(ctx context.Context, accounts *account.Service, dir string, portBase int) (DevSettings, error) {
	s := DevSettings{
		Domain:   devDomain,
		User:     devUser,
		Host:     devHost,
		Hostname: devHostname,
		Ports:    make(map[string]int, len(devPorts)),
		Admin:    portBase + devAdminOffset,
	}
	for _, p := range devPorts {
		s.Ports[p.key] = portBase + p.offset
	}
	jsonPath := filepath.Join(dir, "dev.json")
	var old DevSettings
	if data, err := os.ReadFile(jsonPath); err == nil && json.Unmarshal(data, &old) == nil && old.Password != "" {
		if _, err := accounts.Authenticate(ctx, devUser, old.Password); err == nil {
			s.Password = old.Password
		}
	}
	if s.Password == "" {
		s.Password = randomPassword()
		_, err := accounts.AddAccount(ctx, devUser, s.Password, 0)
		if errors.Is(err, store.ErrExists) {
			err = accounts.SetPassword(ctx, devUser, s.Password)
		}
		if err != nil {
			return s, fmt.Errorf("demo account: %w", err)
		}
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, err
	}
	return s, atomicfile.Write(jsonPath, append(data, '\n'), 0o600)
}

// randomPassword returns 20 characters from an alphabet without look-alikes
// (about 100 bits).
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ2345679"
	b := make([]byte, 20)
	for i := range b {
		var n [1]byte
		for {
			rand.Read(n[:])
			// Reject the top of the byte range so every letter is equally likely.
			if int(n[0]) < 256-256%len(alphabet) {
				break
			}
		}
		b[i] = alphabet[int(n[0])%len(alphabet)]
	}
	return string(b)
}

func printDevSettings(w io.Writer, s DevSettings, srv *server.Server, dir string) {
	running := srv.Addrs()
	fmt.Fprintf(w, "\nSealpost is running on %s (dev instance, data in %s).\n\n", s.Host, dir)
	fmt.Fprintf(w, "  Server:    %s  (certificate: self-signed for %s)\n", s.Host, s.Hostname)
	fmt.Fprintf(w, "  User:      %s\n", s.User)
	fmt.Fprintf(w, "  Password:  %s\n\n", s.Password)
	fmt.Fprintf(w, "  %-12s %-6s %-9s %s\n", "PROTOCOL", "PORT", "SECURITY", "STATUS")
	for _, p := range devPorts {
		status := "not built yet"
		if _, ok := running[p.key]; ok {
			status = "listening"
		}
		fmt.Fprintf(w, "  %-12s %-6d %-9s %s\n", p.label, s.Ports[p.key], p.security, status)
	}
	fmt.Fprintf(w, "\n  Web:       https://%s/\n", net.JoinHostPort(s.Host, strconv.Itoa(s.Ports["https"])))
	fmt.Fprintf(w, "  Metrics:   http://%s/metrics  (admin listener)\n", net.JoinHostPort(s.Host, strconv.Itoa(s.Admin)))
	fmt.Fprintf(w, "  Settings:  %s\n\n", filepath.Join(dir, "dev.json"))
	fmt.Fprintln(w, "  DNS comes from a built-in stub; mail for outside domains stays in the queue.")
	fmt.Fprintln(w, "  Press Ctrl-C to stop.")
}

var devConfigTemplate = template.Must(template.New("dev").Parse(`# Written by 'sealpost dev' at every start; edits are overwritten.
hostname = {{.Hostname}}
data_dir = {{.Dir}}
domains = [{{.Domain}}]

[log]
level = "info"
format = "text"

[storage]
backend = "sqlite"

[tls]
mode = "self-signed"

[listeners]
{{- range .Listeners}}
{{.Key}} = {{.Addr}}
{{- end}}
admin = {{.Admin}}

[dns]
# Unused: dev answers DNS from a built-in stub (see --resolver).
resolver = "127.0.0.1:53"

[queue]
# Mail for outside domains stays in the queue.
deliver = false

[passwords]
min_length = 10
`))

// writeDevConfig writes the dev instance's config file.
func writeDevConfig(path, dir string, portBase int) error {
	type listener struct{ Key, Addr string }
	data := struct {
		Hostname, Dir, Domain, Admin string
		Listeners                    []listener
	}{
		Hostname: config.QuoteString(devHostname), Dir: config.QuoteString(dir), Domain: config.QuoteString(devDomain),
		Admin: config.QuoteString(net.JoinHostPort(devHost, strconv.Itoa(portBase+devAdminOffset))),
	}
	for _, p := range devPorts {
		data.Listeners = append(data.Listeners, listener{p.key, config.QuoteString(net.JoinHostPort(devHost, strconv.Itoa(portBase+p.offset)))})
	}
	var b bytes.Buffer
	if err := devConfigTemplate.Execute(&b, data); err != nil {
		return err
	}
	return atomicfile.Write(path, b.Bytes(), 0o600)
}
