package cli

import (
	"context"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/instance"
)

// The accounts whose outgoing mail outbound abuse control holds (package
// sendlimit): `queue held` lists them, `queue release --account USER`
// releases one. Both work on the store directly, which every node of the
// instance shares; the running server needs no telling.

// heldRow is a held account as `queue held --json` prints it.
type heldRow struct {
	Account string    `json:"account"`
	Since   time.Time `json:"since"`
	Reason  string    `json:"reason"`
}

// releaseRow is what `queue release --account USER --json` prints.
type releaseRow struct {
	Account  string `json:"account"`
	Released int    `json:"released"`
}

// isAccountRelease reports whether a `queue release` names an account
// rather than a message.
func isAccountRelease(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "--account" || a == "-account" || len(a) > 10 && (a[:10] == "--account=" || a[:9] == "-account=")
	})
}

// runQueueReleaseAccount clears an account's hold and releases its held
// mail.
func runQueueReleaseAccount(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	fs := newFlagSet(env, "queue release", "queue release [-config FILE | --data DIR] [--json] --account USER")
	f.register(fs, true)
	user := fs.String("account", "", "release the held mail of the account `USER` and clear its flag")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *user == "" {
		fs.Usage()
		return usagef("queue release --account: expected an account and no message ID")
	}
	addr, err := account.ParseAddress(*user)
	if err != nil {
		return err
	}
	cfg, err := loadInstanceConfig(f)
	if err != nil {
		return err
	}
	st, err := instance.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, err := st.GetAccount(ctx, addr.String())
	if err != nil {
		return fmt.Errorf("account %s: %w", addr, err)
	}
	n, err := instance.SendLimiter(cfg, st, nil, nil).Release(ctx, acct)
	if err != nil {
		return fmt.Errorf("account %s: %w", acct.Address, err)
	}
	if f.json {
		return writeJSON(env.Stdout, releaseRow{Account: acct.Address, Released: n})
	}
	fmt.Fprintf(env.Stdout, "account %s: released, %d queued messages due now\n", acct.Address, n)
	return nil
}

// runQueueHeld lists the held accounts.
func runQueueHeld(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	fs := newFlagSet(env, "queue held", "queue held [-config FILE | --data DIR] [--json]")
	f.register(fs, true)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return usagef("queue held: no arguments expected")
	}
	st, done, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	holds, err := st.ListOutboundHolds(ctx)
	if err != nil {
		return err
	}
	rows := []heldRow{}
	for _, h := range holds {
		a, err := st.GetAccountByID(ctx, h.AccountID)
		if err != nil {
			return fmt.Errorf("held account %d: %w", h.AccountID, err)
		}
		rows = append(rows, heldRow{Account: a.Address, Since: h.Since.UTC(), Reason: h.Reason})
	}
	if f.json {
		return writeJSON(env.Stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(env.Stdout, "no account is held")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tSINCE\tREASON")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Account, r.Since.Format(time.RFC3339), r.Reason)
	}
	return tw.Flush()
}
