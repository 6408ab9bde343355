package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// The admin audit log: every command that changes an instance's state
// leaves one entry in the event log (Kind "admin", Protocol "cli") saying
// who ran it (the OS user), what it was (the command, its arguments
// without the instance flags and without any secret) and how it ended.
// The command table marks those commands by wrapping them in audited, so
// no command records itself.

// maxAuditDetail bounds the Detail of an audit entry, in bytes.
const maxAuditDetail = 1000

// runFunc is a command's implementation.
type runFunc func(ctx context.Context, env *Env, args []string) error

// audited wraps a command so that each run that changes returns true for
// is recorded after it ends: outcome "ok", or "fail" with the error. A
// run refused for bad usage (exit 2: nothing was changed) or asking for
// help is not recorded. A failure to record is reported on stderr but
// does not change the command's outcome: the change is made.
func audited(name string, changes func(args []string) bool, run runFunc) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		err := run(ctx, env, args)
		if !changes(args) || errors.Is(err, flag.ErrHelp) || isUsage(err) {
			return err
		}
		if rerr := recordAdmin(ctx, args, auditEntry(name, args, err)); rerr != nil {
			fmt.Fprintf(env.Stderr, "sealpost: warning: the change was not recorded in the audit log: %v\n", rerr)
		}
		return err
	}
}

// verbs returns a test for audited: the command's first argument is one
// of vs.
func verbs(vs ...string) func([]string) bool {
	return func(args []string) bool { return len(args) > 0 && slices.Contains(vs, args[0]) }
}

// always is the test of audited for a command that always changes state.
func always([]string) bool { return true }

// auditEntry describes a command's run for the log.
func auditEntry(name string, args []string, err error) store.LogEntry {
	e := store.LogEntry{Kind: "admin", Protocol: "cli", Client: osUser(), Outcome: "ok"}
	e.Detail = strings.Join(append(strings.Fields(name), auditArgs(args)...), " ")
	if err != nil {
		e.Outcome = "fail"
		e.Detail += ": " + err.Error()
	}
	e.Detail = truncateDetail(e.Detail)
	return e
}

// recordAdmin appends e to the log of the instance the args name.
func recordAdmin(ctx context.Context, args []string, e store.LogEntry) error {
	st, done, err := openStore(context.WithoutCancel(ctx), instanceFlagsIn(args))
	if err != nil {
		return err
	}
	defer done()
	_, err = st.AppendLog(context.WithoutCancel(ctx), e)
	return err
}

// osUser is the name of the OS user running the command, "" if unknown.
func osUser() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Username
}

// instanceFlagsIn finds --config and --data among a command's arguments,
// in any of the forms package flag accepts (-x v, --x v, -x=v, --x=v).
func instanceFlagsIn(args []string) instanceFlags {
	var f instanceFlags
	for i := 0; i < len(args); i++ {
		name, value, hasValue := flagArg(args[i])
		if name != "config" && name != "data" {
			if args[i] == "--" {
				break
			}
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		if name == "config" {
			f.config = value
		} else {
			f.data = value
		}
	}
	return f
}

// flagArg splits "--name=value" or "-name"; name is "" for a positional
// argument.
func flagArg(arg string) (name, value string, hasValue bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", "", false
	}
	name = strings.TrimPrefix(arg[1:], "-")
	name, value, hasValue = strings.Cut(name, "=")
	return name, value, hasValue
}

// auditArgs is what the log keeps of a command's arguments: everything
// but the instance flags (where the instance is, not what was done) and
// --json, with the value of any flag whose name speaks of a secret
// replaced by "***". No command takes a secret as an argument (passwords
// come from the terminal or standard input); the rule keeps one that
// someday does out of the log.
func auditArgs(args []string) []string {
	var kept []string
	for i := 0; i < len(args); i++ {
		name, _, hasValue := flagArg(args[i])
		switch {
		case name == "":
			kept = append(kept, args[i])
		case name == "config" || name == "data":
			if !hasValue {
				i++
			}
		case name == "json":
		case secretFlag(name):
			kept = append(kept, "--"+name+"=***")
			if !hasValue && i+1 < len(args) {
				i++
			}
		default:
			kept = append(kept, args[i])
		}
	}
	return kept
}

// secretFlag reports whether a flag's value may be a secret. A boolean
// flag such as --password-stdin says where a secret comes from, and has
// no value.
func secretFlag(name string) bool {
	name = strings.ToLower(name)
	if strings.HasSuffix(name, "-stdin") {
		return false
	}
	for _, w := range []string{"password", "secret", "token", "code", "key"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func truncateDetail(s string) string {
	if len(s) <= maxAuditDetail {
		return s
	}
	s = s[:maxAuditDetail]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// runAudit lists the audit log: `sealpost audit`.
func runAudit(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	var w logWindow
	fs := newFlagSet(env, "audit", "audit [-config FILE | --data DIR] [--json] [--since DURATION] [--limit N]")
	f.register(fs, true)
	w.register(fs, "changes")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return usagef("audit: takes no arguments")
	}
	if err := w.check("audit"); err != nil {
		return err
	}
	st, done, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	es, err := st.QueryLog(ctx, store.LogQuery{Kind: "admin", Limit: w.limit, Since: w.from()})
	if err != nil {
		return err
	}
	return printAudit(env.Stdout, es, f.json)
}

func printAudit(w io.Writer, es []store.LogEntry, asJSON bool) error {
	if asJSON {
		type row struct {
			Time     time.Time `json:"time"`
			Protocol string    `json:"protocol"`
			User     string    `json:"user"`
			Outcome  string    `json:"outcome"`
			Detail   string    `json:"detail"`
		}
		rows := make([]row, 0, len(es))
		for _, e := range es {
			rows = append(rows, row{e.Time.UTC(), e.Protocol, e.Client, e.Outcome, e.Detail})
		}
		return writeJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tVIA\tUSER\tOUTCOME\tCHANGE")
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), e.Protocol,
			cmp.Or(e.Client, "-"), e.Outcome, e.Detail)
	}
	return tw.Flush()
}

// logWindow is the --since and --limit of the commands that list log
// entries, newest first.
type logWindow struct {
	since time.Duration
	limit int
}

func (w *logWindow) register(fs *flag.FlagSet, entries string) {
	fs.DurationVar(&w.since, "since", 0, "only the "+entries+" of the last `DURATION`, e.g. 72h (0: all kept)")
	fs.IntVar(&w.limit, "limit", 100, "at most `N` "+entries+", newest first")
}

func (w logWindow) check(command string) error {
	if w.since < 0 || w.limit <= 0 {
		return usagef("%s: --since must not be negative and --limit must be positive", command)
	}
	return nil
}

// from is the oldest time asked for; zero for all.
func (w logWindow) from() time.Time {
	if w.since > 0 {
		return time.Now().Add(-w.since)
	}
	return time.Time{}
}
