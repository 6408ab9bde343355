package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/admin"
)

// runAccountSessions lists an account's live sessions, asking the running
// server through its admin socket. With no server running there are none.
func runAccountSessions(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	fs := newFlagSet(env, "account sessions", "account sessions [-config FILE | --data DIR] [--json] USER")
	f.register(fs, true)
	addr, err := accountArg(fs, args, "account sessions")
	if err != nil {
		return err
	}
	cfg, err := loadInstanceConfig(f)
	if err != nil {
		return err
	}
	list, err := admin.NewClient(cfg.DataDir).Sessions(ctx, addr)
	running := !errors.Is(err, admin.ErrNoServer)
	if !running {
		if err := accountExists(ctx, f, addr); err != nil {
			return err
		}
		list, err = admin.SessionList{Account: addr, Sessions: []admin.Session{}}, nil
	}
	if err != nil {
		return adminError(err)
	}
	if f.json {
		return writeJSON(env.Stdout, struct {
			admin.SessionList
			ServerRunning bool `json:"server_running"`
		}{list, running})
	}
	return printSessions(env.Stdout, list, running)
}

func printSessions(w io.Writer, list admin.SessionList, running bool) error {
	switch {
	case !running:
		_, err := fmt.Fprintf(w, "no live sessions of %s: no server is running\n", list.Account)
		return err
	case len(list.Sessions) == 0:
		_, err := fmt.Fprintf(w, "no live sessions of %s\n", list.Account)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROTOCOL\tREMOTE IP\tCLIENT\tPASSWORD\tSTARTED")
	for _, s := range list.Sessions {
		password, client := "main", s.Client
		if s.AppPassword != 0 {
			password = fmt.Sprintf("app %d", s.AppPassword)
		}
		if client == "" {
			client = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Protocol, s.RemoteIP, client, password,
			s.Started.UTC().Format("2006-01-02 15:04:05Z"))
	}
	return tw.Flush()
}

// runAccountSignOut ends an account's live sessions, but the one --keep
// names, through the running server's admin socket, which also forgets the
// account's remembered logins. With no server running no session is live:
// the remembered logins are forgotten here and that is said.
func runAccountSignOut(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	var keep uint64
	var revoke bool
	fs := newFlagSet(env, "account signout", "account signout [-config FILE | --data DIR] [--json] [--keep ID] [--revoke-app-passwords] USER")
	f.register(fs, true)
	fs.Uint64Var(&keep, "keep", 0, "the `ID` of a live session to leave open (see account sessions)")
	fs.BoolVar(&revoke, "revoke-app-passwords", false, "revoke every app password of the account as well")
	addr, err := accountArg(fs, args, "account signout")
	if err != nil {
		return err
	}
	cfg, err := loadInstanceConfig(f)
	if err != nil {
		return err
	}
	type result struct {
		admin.SignOutResult
		ServerRunning       bool `json:"server_running"`
		AppPasswordsRevoked int  `json:"app_passwords_revoked,omitempty"`
	}
	revoked := 0
	if revoke {
		// Before the sign-out, so that no client logs in again with one.
		if revoked, err = revokeAppPasswords(ctx, f, addr); err != nil {
			return err
		}
	}
	res, err := admin.NewClient(cfg.DataDir).SignOut(ctx, addr, keep)
	out := result{res, true, revoked}
	if errors.Is(err, admin.ErrNoServer) {
		if keep != 0 {
			return usagef("session %d is not live: no server is running; nothing was done", keep)
		}
		if err := forgetLogins(ctx, f, addr); err != nil {
			return err
		}
		out, err = result{admin.SignOutResult{Account: addr}, false, revoked}, nil
	}
	if err != nil {
		return adminError(err)
	}
	if f.json {
		return writeJSON(env.Stdout, out)
	}
	if revoke {
		fmt.Fprintf(env.Stdout, "%d app password(s) of %s revoked\n", revoked, addr)
	}
	switch {
	case !out.ServerRunning:
		fmt.Fprintf(env.Stdout, "no server is running, so no session of %s was live; its remembered logins are forgotten\n", addr)
	case keep != 0:
		fmt.Fprintf(env.Stdout, "%s signed out: %d session(s) ended, session %d kept\n", out.Account, out.Ended, keep)
	default:
		fmt.Fprintf(env.Stdout, "%s signed out: %d session(s) ended\n", out.Account, out.Ended)
	}
	return nil
}

// accountArg parses the flags and the one USER argument, and returns the
// account's address in its normal form.
func accountArg(fs *flag.FlagSet, args []string, name string) (string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", usagef("%s: expected one account address, got %d arguments", name, len(pos))
	}
	a, err := account.ParseAddress(pos[0])
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

// accountExists checks, in the store, that an account exists.
func accountExists(ctx context.Context, f instanceFlags, addr string) error {
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	if _, err := svc.Store.GetAccount(ctx, addr); err != nil {
		return fmt.Errorf("account %s: %w", addr, err)
	}
	return nil
}

// forgetLogins drops the remembered logins of an existing account.
func forgetLogins(ctx context.Context, f instanceFlags, addr string) error {
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	if _, err := svc.Store.GetAccount(ctx, addr); err != nil {
		return fmt.Errorf("account %s: %w", addr, err)
	}
	svc.ForgetLogins(addr)
	return nil
}

// adminError maps the server's refusals (4xx) to bad usage.
func adminError(err error) error {
	var e *admin.Error
	if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 {
		return usageError{e}
	}
	return err
}

// revokeAppPasswords revokes every app password of an account and says
// how many there were.
func revokeAppPasswords(ctx context.Context, f instanceFlags, address string) (int, error) {
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return 0, err
	}
	defer done()
	ps, err := svc.ListAppPasswords(ctx, address)
	if err != nil {
		return 0, err
	}
	for i, p := range ps {
		if _, err := svc.RevokeAppPassword(ctx, address, fmt.Sprint(p.ID)); err != nil {
			return i, err
		}
	}
	return len(ps), nil
}
