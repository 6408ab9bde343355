package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/admin"
	"sealpost.dev/sealpost/internal/store"
)

// runTwoStep is "account 2fa enable|disable USER".
func runTwoStep(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "enable", "disable")
	if err != nil {
		return err
	}
	var f instanceFlags
	fs := newFlagSet(env, "account 2fa "+verb, "account 2fa "+verb+" [-config FILE | --data DIR] [--json] ADDRESS")
	f.register(fs, true)
	pos, err := accountArgs(fs, args, 1)
	if err != nil {
		return err
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	if verb == "disable" {
		if err := svc.DisableTwoStep(ctx, pos[0]); err != nil {
			return twoStepError(err)
		}
		if f.json {
			return writeJSON(env.Stdout, map[string]any{"address": pos[0], "two_step": false})
		}
		fmt.Fprintf(env.Stdout, "2-step verification is off for %s; its app passwords still work\n", pos[0])
		return nil
	}
	ts, err := svc.EnableTwoStep(ctx, pos[0])
	if err != nil {
		return twoStepError(err)
	}
	if f.json {
		return writeJSON(env.Stdout, map[string]any{"address": pos[0], "two_step": true,
			"otpauth_uri": ts.URI, "secret": ts.Secret, "recovery_codes": ts.RecoveryCodes})
	}
	w := env.Stdout
	fmt.Fprintf(w, "2-step verification is on for %s: IMAP, POP3 and SMTP now take app passwords only.\n\n", pos[0])
	fmt.Fprintf(w, "Authenticator app (scan as a QR code, or type the key):\n  %s\n  key: %s\n\n", ts.URI, ts.Secret)
	fmt.Fprintln(w, "Recovery codes, each usable once instead of a code (shown only now):")
	for _, c := range ts.RecoveryCodes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	return nil
}

// twoStepError makes enabling twice or disabling when off a usage error.
func twoStepError(err error) error {
	if errors.Is(err, account.ErrTwoStepOn) || errors.Is(err, account.ErrTwoStepOff) {
		return usageError{err}
	}
	return err
}

// runAppPassword is "account app-password add|list|revoke".
func runAppPassword(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "add", "list", "revoke")
	if err != nil {
		return err
	}
	var f instanceFlags
	var scopes string
	fs := newFlagSet(env, "account app-password "+verb, "account app-password "+verb+" [-config FILE | --data DIR] [--json] "+map[string]string{
		"add": "ADDRESS NAME --scope imap,pop3,smtp", "list": "ADDRESS", "revoke": "ADDRESS ID|NAME"}[verb])
	f.register(fs, true)
	if verb == "add" {
		fs.StringVar(&scopes, "scope", "", "the protocols it is for, comma-separated: any of imap, pop3, smtp")
	}
	pos, err := accountArgs(fs, args, map[string]int{"add": 2, "list": 1, "revoke": 2}[verb])
	if err != nil {
		return err
	}
	if verb == "add" && scopes == "" {
		fs.Usage()
		return usagef("account app-password add: --scope is required (imap, pop3, smtp)")
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	switch verb {
	case "add":
		p, password, err := svc.AddAppPassword(ctx, pos[0], pos[1], strings.Split(scopes, ","))
		if err != nil {
			return err
		}
		if f.json {
			row := appPasswordRow(p)
			row.Password = password
			return writeJSON(env.Stdout, row)
		}
		fmt.Fprintf(env.Stdout, "app password %q (ID %d) of %s, for %s:\n\n  %s\n\nIt is shown only now; spaces and hyphens may be left out.\n",
			p.Name, p.ID, pos[0], strings.Join(p.Scopes, ", "), password)
	case "list":
		ps, err := svc.ListAppPasswords(ctx, pos[0])
		if err != nil {
			return err
		}
		return printAppPasswords(env.Stdout, ps, f.json)
	case "revoke":
		p, err := svc.RevokeAppPassword(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		ended, running, err := endAppPasswordSessions(ctx, f, pos[0], p.ID)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, struct {
				appPasswordJSON
				SessionsEnded int  `json:"sessions_ended"`
				ServerRunning bool `json:"server_running"`
			}{appPasswordRow(p), ended, running})
		}
		fmt.Fprintf(env.Stdout, "app password %q (ID %d) of %s revoked", p.Name, p.ID, pos[0])
		if running {
			fmt.Fprintf(env.Stdout, "; %d live session(s) using it ended", ended)
		}
		fmt.Fprintln(env.Stdout)
	}
	return nil
}

// appPasswordJSON is an app password in --json output; never its hash.
type appPasswordJSON struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Scopes   []string   `json:"scopes"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"`
	LastIP   string     `json:"last_ip,omitempty"`
	Password string     `json:"password,omitempty"` // only when just made
}

func appPasswordRow(p store.AppPassword) appPasswordJSON {
	row := appPasswordJSON{ID: p.ID, Name: p.Name, Scopes: p.Scopes, Created: p.Created.UTC()}
	if !p.LastUsed.IsZero() {
		t := p.LastUsed.UTC()
		row.LastUsed = &t
	}
	if p.LastIP.IsValid() {
		row.LastIP = p.LastIP.String()
	}
	return row
}

func printAppPasswords(w io.Writer, ps []store.AppPassword, asJSON bool) error {
	if asJSON {
		return writeJSONRows(w, ps, appPasswordRow)
	}
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "no app passwords")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tFROM")
	for _, p := range ps {
		used, from := "never", "-"
		if !p.LastUsed.IsZero() {
			used = p.LastUsed.UTC().Format(time.RFC3339)
		}
		if p.LastIP.IsValid() {
			from = p.LastIP.String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, strings.Join(p.Scopes, ","),
			p.Created.UTC().Format(time.RFC3339), used, from)
	}
	return tw.Flush()
}

// runActivity is "account activity [USER]": the login log of an account,
// or of every account with the attempts on no account.
func runActivity(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	var w logWindow
	fs := newFlagSet(env, "account activity", "account activity [-config FILE | --data DIR] [--json] [--since DURATION] [--limit N] [ADDRESS]")
	f.register(fs, true)
	w.register(fs, "attempts")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		fs.Usage()
		return usagef("account activity: wrong number of arguments")
	}
	address := ""
	if len(pos) == 1 {
		if _, err := account.ParseAddress(pos[0]); err != nil {
			return err
		}
		address = pos[0]
	}
	if err := w.check("account activity"); err != nil {
		return err
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	es, err := svc.Activity(ctx, address, w.from(), w.limit)
	if err != nil {
		return err
	}
	var names map[int64]string
	if address == "" {
		if names, err = accountNames(ctx, svc); err != nil {
			return err
		}
	}
	return printActivity(env.Stdout, es, names, f.json)
}

// accountNames maps account IDs to addresses.
func accountNames(ctx context.Context, svc *account.Service) (map[int64]string, error) {
	as, err := svc.ListAccounts(ctx, "")
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(as))
	for _, a := range as {
		names[a.ID] = a.Address
	}
	return names, nil
}

// printActivity prints log entries; with names (the log of every account)
// each says whose it is: an address, "" for an attempt on no account, or
// "#ID" for an account deleted since.
func printActivity(w io.Writer, es []store.LogEntry, names map[int64]string, asJSON bool) error {
	ip := func(a netip.Addr) string {
		if a.IsValid() {
			return a.String()
		}
		return ""
	}
	whose := func(id int64) string {
		if name, ok := names[id]; ok || id == 0 {
			return name
		}
		return fmt.Sprintf("#%d", id)
	}
	if asJSON {
		type row struct {
			Time     time.Time `json:"time"`
			Account  *string   `json:"account,omitempty"`
			Protocol string    `json:"protocol"`
			RemoteIP string    `json:"remote_ip"`
			RDNS     string    `json:"reverse_dns,omitempty"`
			Client   string    `json:"client"`
			Method   string    `json:"method"`
			Outcome  string    `json:"outcome"`
			Detail   string    `json:"detail"`
		}
		rows := make([]row, 0, len(es))
		for _, e := range es {
			r := row{e.Time.UTC(), nil, e.Protocol, ip(e.RemoteIP), e.ReverseDNS, e.Client, e.Method, e.Outcome, e.Detail}
			if names != nil {
				a := whose(e.AccountID)
				r.Account = &a
			}
			rows = append(rows, r)
		}
		return writeJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	account := ""
	if names != nil {
		account = "ACCOUNT\t"
	}
	fmt.Fprintln(tw, "TIME\t"+account+"PROTOCOL\tFROM\tCLIENT\tMETHOD\tOUTCOME\tDETAIL")
	for _, e := range es {
		if names != nil {
			account = cmp.Or(whose(e.AccountID), "-") + "\t"
		}
		from := cmp.Or(ip(e.RemoteIP), "-")
		if e.ReverseDNS != "" {
			from += " (" + e.ReverseDNS + ")"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.RFC3339), account, e.Protocol,
			from, cmp.Or(e.Client, "-"), cmp.Or(e.Method, "-"), e.Outcome, e.Detail)
	}
	return tw.Flush()
}

// accountArgs parses the flags and n positional arguments, the first an
// address, checked before anything is opened.
func accountArgs(fs *flag.FlagSet, args []string, n int) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		fs.Usage()
		return nil, usagef("%s: wrong number of arguments", fs.Name())
	}
	if _, err := account.ParseAddress(pos[0]); err != nil {
		return nil, err
	}
	return pos, nil
}

// endAppPasswordSessions asks the running server to end the live sessions
// that logged in with a revoked app password: this process has none. With
// no server running none is live.
func endAppPasswordSessions(ctx context.Context, f instanceFlags, address string, id int64) (ended int, running bool, err error) {
	cfg, err := loadInstanceConfig(f)
	if err != nil {
		return 0, false, err
	}
	res, err := admin.NewClient(cfg.DataDir).EndAppPassword(ctx, address, id)
	if errors.Is(err, admin.ErrNoServer) {
		return 0, false, nil
	}
	if err != nil {
		return 0, true, fmt.Errorf("the app password is revoked, but its live sessions could not be ended: %w", adminError(err))
	}
	return res.Ended, true, nil
}
