package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/admin"
	"sealpost.dev/sealpost/internal/alert"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
)

// openAccounts opens the instance the flags name and returns its account
// service and a function that closes the store.
func openAccounts(ctx context.Context, f instanceFlags) (*account.Service, func(), error) {
	_, svc, closeStore, err := openInstance(ctx, f)
	return svc, closeStore, err
}

// openInstance is openAccounts for commands that need the config too.
func openInstance(ctx context.Context, f instanceFlags) (*config.Config, *account.Service, func(), error) {
	cfg, err := loadInstanceConfig(f)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := instance.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	svc := instance.Accounts(cfg, st)
	// Alerts go into the store, which needs no running server: the INBOX
	// copy is stored at once, outside copies wait in the queue for it.
	svc.Alerts = alert.New(&delivery.Pipeline{Store: st, Accounts: svc}, svc, nil, nil)
	svc.EndSessions = func(accountID int64) { endSessions(cfg.DataDir, st, accountID) }
	return cfg, svc, func() { st.Close() }, nil
}

// endSessions asks the running server, if there is one, to end every live
// session of an account.
func endSessions(dataDir string, st store.Store, accountID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	acc, err := st.GetAccountByID(ctx, accountID)
	if err != nil {
		return
	}
	if _, err := admin.NewClient(dataDir).SignOut(ctx, acc.Address, 0); err != nil && !errors.Is(err, admin.ErrNoServer) {
		slog.Warn("ending the account's live sessions", "account", acc.Address, "err", err)
	}
}

// loadInstanceConfig loads the config of the instance the flags name.
func loadInstanceConfig(f instanceFlags) (*config.Config, error) {
	cfg, err := instance.LoadConfig(f.config, f.data)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, usageError{err}
	}
	return cfg, nil
}

func runDomain(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "add", "list", "del")
	if err != nil {
		return err
	}
	var f instanceFlags
	fs := newFlagSet(env, "domain "+verb, "domain "+verb+" [-config FILE | --data DIR] "+map[string]string{
		"add": "DOMAIN", "del": "DOMAIN", "list": "[--json]"}[verb])
	f.register(fs, verb == "list")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	want := 1
	if verb == "list" {
		want = 0
	}
	if len(pos) != want {
		fs.Usage()
		return usagef("domain %s: expected %d argument(s), got %d", verb, want, len(pos))
	}
	// Check the input before opening the store, so bad input touches nothing.
	if err := checkDomains(pos); err != nil {
		return err
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	switch verb {
	case "add":
		d, err := svc.AddDomain(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "domain %s added\n", d.Name)
	case "del":
		if err := svc.DeleteDomain(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "domain %s deleted\n", pos[0])
	case "list":
		ds, err := svc.ListDomains(ctx)
		if err != nil {
			return err
		}
		if f.json {
			type row struct {
				Name    string    `json:"name"`
				Created time.Time `json:"created"`
			}
			rows := make([]row, 0, len(ds))
			for _, d := range ds {
				rows = append(rows, row{d.Name, d.Created.UTC()})
			}
			return writeJSON(env.Stdout, rows)
		}
		for _, d := range ds {
			fmt.Fprintln(env.Stdout, d.Name)
		}
	}
	return nil
}

func runAccount(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "add", "passwd", "list", "del")
	if err != nil {
		return err
	}
	var f instanceFlags
	var passwordStdin bool
	var quota config.Size
	fs := newFlagSet(env, "account "+verb, "account "+verb+" [-config FILE | --data DIR] "+map[string]string{
		"add": "[--quota SIZE] [--password-stdin] ADDRESS", "passwd": "[--password-stdin] ADDRESS",
		"del": "ADDRESS", "list": "[--json] [DOMAIN]"}[verb])
	f.register(fs, verb == "list")
	if verb == "add" || verb == "passwd" {
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	}
	if verb == "add" {
		fs.TextVar(&quota, "quota", config.Size(0), "storage quota, e.g. 2GiB (0: unlimited)")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if verb == "list" && len(pos) > 1 || verb != "list" && len(pos) != 1 {
		fs.Usage()
		return usagef("account %s: wrong number of arguments", verb)
	}
	// Check the input before prompting for a password or opening the store.
	if verb == "list" {
		if err := checkDomains(pos); err != nil {
			return err
		}
	} else if _, err := account.ParseAddress(pos[0]); err != nil {
		return err
	}
	var password string
	if verb == "add" || verb == "passwd" {
		if password, err = readPassword(env, passwordStdin); err != nil {
			return err
		}
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	switch verb {
	case "add":
		a, err := svc.AddAccount(ctx, pos[0], password, int64(quota))
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "account %s added\n", a.Address)
	case "passwd":
		if err := svc.SetPassword(ctx, pos[0], password); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "password of %s changed\n", pos[0])
	case "del":
		if err := svc.DeleteAccount(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "account %s deleted\n", pos[0])
	case "list":
		domain := ""
		if len(pos) == 1 {
			domain = pos[0]
		}
		as, err := svc.ListAccounts(ctx, domain)
		if err != nil {
			return err
		}
		return printAccounts(env.Stdout, as, f.json)
	}
	return nil
}

func printAccounts(w io.Writer, as []store.Account, asJSON bool) error {
	if asJSON {
		type row struct {
			Address    string    `json:"address"`
			QuotaBytes int64     `json:"quota_bytes"`
			UsedBytes  int64     `json:"used_bytes"`
			Disabled   bool      `json:"disabled"`
			Created    time.Time `json:"created"`
		}
		rows := make([]row, 0, len(as))
		for _, a := range as {
			rows = append(rows, row{a.Address, a.QuotaBytes, a.UsedBytes, a.Disabled, a.Created.UTC()})
		}
		return writeJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tUSED\tQUOTA\tSTATUS")
	for _, a := range as {
		quota, status := "unlimited", "active"
		if a.QuotaBytes > 0 {
			quota = config.Size(a.QuotaBytes).String()
		}
		if a.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Address, config.Size(a.UsedBytes), quota, status)
	}
	return tw.Flush()
}

func runAlias(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "add", "list", "del")
	if err != nil {
		return err
	}
	var f instanceFlags
	fs := newFlagSet(env, "alias "+verb, "alias "+verb+" [-config FILE | --data DIR] "+map[string]string{
		"add": "ADDRESS|@DOMAIN TARGET...", "del": "ADDRESS|@DOMAIN", "list": "[--json] [DOMAIN]"}[verb])
	f.register(fs, verb == "list")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case verb == "add" && len(pos) < 2, verb == "del" && len(pos) != 1, verb == "list" && len(pos) > 1:
		fs.Usage()
		return usagef("alias %s: wrong number of arguments", verb)
	}
	if err := checkAliasArgs(verb, pos); err != nil {
		return err
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	switch verb {
	case "add":
		a, err := svc.AddAlias(ctx, pos[0], pos[1:])
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "alias %s -> %s added\n", a.Address, strings.Join(a.Targets, ", "))
	case "del":
		if err := svc.DeleteAlias(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "alias %s deleted\n", pos[0])
	case "list":
		domain := ""
		if len(pos) == 1 {
			domain = pos[0]
		}
		as, err := svc.ListAliases(ctx, domain)
		if err != nil {
			return err
		}
		if f.json {
			type row struct {
				Address string   `json:"address"`
				Targets []string `json:"targets"`
			}
			rows := make([]row, 0, len(as))
			for _, a := range as {
				rows = append(rows, row{a.Address, a.Targets})
			}
			return writeJSON(env.Stdout, rows)
		}
		for _, a := range as {
			fmt.Fprintf(env.Stdout, "%s -> %s\n", a.Address, strings.Join(a.Targets, ", "))
		}
	}
	return nil
}

// checkDomains checks domain arguments before the store is opened.
func checkDomains(domains []string) error {
	for _, d := range domains {
		if _, err := account.NormalizeDomain(d); err != nil {
			return err
		}
	}
	return nil
}

// checkAliasArgs checks alias arguments before the store is opened.
func checkAliasArgs(verb string, pos []string) error {
	if verb == "list" {
		return checkDomains(pos)
	}
	if strings.HasPrefix(pos[0], "@") {
		if _, err := account.ParseCatchAll(pos[0]); err != nil {
			return err
		}
	} else if _, err := account.ParseAddress(pos[0]); err != nil {
		return err
	}
	for _, target := range pos[1:] {
		if _, err := account.ParseAddress(target); err != nil {
			return err
		}
	}
	return nil
}

// readPassword reads a new password from standard input (--password-stdin)
// or from the terminal, asked twice. Passwords are never taken from argv,
// where other users of the machine could read them.
func readPassword(env *Env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", usagef("--password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if !env.StdinIsTerminal || env.ReadPassword == nil {
		return "", usagef("standard input is not a terminal: use --password-stdin")
	}
	fmt.Fprint(env.Stderr, "New password: ")
	first, err := env.ReadPassword()
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(env.Stderr, "Repeat password: ")
	second, err := env.ReadPassword()
	fmt.Fprintln(env.Stderr)
	if err != nil {
		return "", err
	}
	if first != second {
		return "", usagef("the passwords differ")
	}
	return first, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONRows writes items as a JSON array of their rows: [] when there
// are none, never null.
func writeJSONRows[T, R any](w io.Writer, items []T, row func(T) R) error {
	rows := make([]R, 0, len(items))
	for _, it := range items {
		rows = append(rows, row(it))
	}
	return writeJSON(w, rows)
}
