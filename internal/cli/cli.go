// Package cli implements the sealpost command line: parsing, dispatch and
// exit codes. cmd/sealpost only calls Main.
//
// Exit codes: 0 success; 1 a failure while doing the work; 2 bad usage or
// bad input (an invalid address, a duplicate, an unknown domain, a bad
// config), in which case nothing was changed.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/store"
)

// Env is the process environment a command runs in, so tests can run
// commands in-process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// StdinIsTerminal reports whether Stdin is an interactive terminal, for
	// password prompts.
	StdinIsTerminal bool
	// ReadPassword reads a password from the terminal without echo.
	ReadPassword func() (string, error)
	// Notify, for the long-running commands (serve, dev), returns a context
	// cancelled by SIGINT or SIGTERM and a channel of SIGHUPs (reload), and
	// a function that stops catching them. Other commands keep the default
	// signal handling, so Ctrl-C ends them at once. Nil means no signals.
	Notify func(ctx context.Context) (context.Context, <-chan os.Signal, context.CancelFunc)
}

// notify applies env.Notify. After the first interrupt, catching stops, so
// a second Ctrl-C ends a shutdown that hangs.
func (env *Env) notify(ctx context.Context) (context.Context, <-chan os.Signal, context.CancelFunc) {
	if env.Notify == nil {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, nil, cancel
	}
	ctx, reload, stop := env.Notify(ctx)
	context.AfterFunc(ctx, stop)
	return ctx, reload, stop
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks an error caused by the caller's input; it exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

type command struct {
	name    string
	summary string
	run     runFunc
}

func commands() []command {
	return []command{
		{"dev", "run a local instance on loopback with demo data", runDev},
		{"serve", "run Sealpost from a config file", runServe},
		{"config", "check a config file: config check FILE", runConfig},
		{"domain", "manage domains: add|list|del", audited("domain", verbs("add", "del"), runDomain)},
		{"account", "manage accounts: add|passwd|list|del", audited("account", verbs("add", "passwd", "del"), runAccount)},
		{"account sessions", "list an account's live sessions: account sessions USER", runAccountSessions},
		{"account signout", "end an account's live sessions: account signout [--keep ID] [--revoke-app-passwords] USER", audited("account signout", always, runAccountSignOut)},
		{"account 2fa", "2-step verification of an account: enable|disable ADDRESS", audited("account 2fa", verbs("enable", "disable"), runTwoStep)},
		{"account app-password", "app passwords of an account: add|list|revoke", audited("account app-password", verbs("add", "revoke"), runAppPassword)},
		{"account allow", "limit an account's logins to networks: allow USER [--protocol P] NETWORK... | --list | --clear", audited("account allow", allowChanges, runAccountAllow)},
		{"account activity", "sign-in attempts of an account, or of all: activity [ADDRESS]", runActivity},
		{"account forward", "forwarding rules of an account: add|list|del|log USER [TARGET|ID] [--keep-copy]", audited("account forward", verbs("add", "del"), runForward)},
		{"alias", "manage aliases: add|list|del", audited("alias", verbs("add", "del"), runAlias)},
		{"api token", "bearer tokens for the account API: add|list|revoke ADDRESS", audited("api token", verbs("add", "revoke"), runAPIToken)},
		{"dmarc", "evaluate DMARC for a From domain: dmarc check", runDMARC},
		{"queue", "inspect and steer the outbound queue: list|show|retry|hold|release|drop, held accounts: held|release --account USER", audited("queue", verbs("retry", "hold", "release", "drop"), runQueue)},
		{"dkim", "DKIM: verify|sign < message; keys|rotate|activate DOMAIN", audited("dkim", verbs("rotate", "activate"), runDKIM)},
		{"dns", "print the DNS records a domain needs: dns DOMAIN", runDNS},
		{"check", "compare a domain's DNS records with what it needs: check DOMAIN", runCheck},
		{"spf", "check a client's SPF authorization: spf check IP MAILFROM [HELO] --resolver HOST:PORT", runSPF},
		{"report", "show received DMARC and TLS reports, import one: report dmarc|tls|import", audited("report", verbs("import"), runReport)},
		{"arc", "check an ARC chain: arc verify < message", runARC},
		{"filter", "train, measure or show the content classifier: filter train|eval --ham PATH... --spam PATH... [--phish PATH...], filter train --mailboxes, filter status", runFilter},
		{"audit", "list administrative changes: audit [--since DURATION] [--limit N]", runAudit},
		{"version", "print the version", runVersion},
	}
}

// Main runs the command named by args and returns the process exit code.
func Main(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.Stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if c, rest, ok := findCommand(args); ok {
		return exitCode(env, c.run(ctx, env, rest))
	}
	fmt.Fprintf(env.Stderr, "sealpost: unknown command %q\n", args[0])
	printUsage(env.Stderr)
	return exitUsage
}

// findCommand finds the command args name and returns the arguments after
// its name. A two-word name ("account sessions") is preferred to the
// one-word one it extends.
func findCommand(args []string) (command, []string, bool) {
	var found command
	n := 0
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(words) > n && len(words) <= len(args) && slices.Equal(words, args[:len(words)]) {
			found, n = c, len(words)
		}
	}
	return found, args[n:], n > 0
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: sealpost COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'sealpost COMMAND -h' for a command's flags.")
}

// exitCode prints err and maps it to an exit code.
func exitCode(env *Env, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(env.Stderr, "sealpost: %v\n", err)
	if isUsage(err) {
		return exitUsage
	}
	return exitFailure
}

// isUsage reports whether err was caused by the caller's input.
func isUsage(err error) bool {
	var ue usageError
	var ce *config.Error
	return errors.As(err, &ue) || errors.As(err, &ce) ||
		errors.Is(err, account.ErrInvalid) ||
		errors.Is(err, store.ErrExists) ||
		errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrNotEmpty)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: sealpost %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// instanceFlags are the flags every command that acts on an instance takes.
type instanceFlags struct {
	config string
	data   string
	json   bool
}

func (f *instanceFlags) register(fs *flag.FlagSet, withJSON bool) {
	fs.StringVar(&f.config, "config", "", "the instance's config `FILE`")
	fs.StringVar(&f.data, "data", "", "the instance's data `DIR` (as made by sealpost dev)")
	if withJSON {
		fs.BoolVar(&f.json, "json", false, "print JSON")
	}
}

// subcommand splits "domain add x" into the verb and its arguments.
func subcommand(args []string, verbs ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("missing subcommand: one of %s", strings.Join(verbs, ", "))
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	sorted := append([]string(nil), verbs...)
	sort.Strings(sorted)
	return "", nil, usagef("unknown subcommand %q: one of %s", args[0], strings.Join(sorted, ", "))
}
