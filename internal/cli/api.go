package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/api"
)

// runAPIToken is "api token add|list|revoke": the bearer tokens scripts
// use for the account API (package api).
func runAPIToken(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "add", "list", "revoke")
	if err != nil {
		return err
	}
	var f instanceFlags
	var days int
	fs := newFlagSet(env, "api token "+verb, "api token "+verb+" [-config FILE | --data DIR] [--json] "+map[string]string{
		"add": "ADDRESS NAME [--days N]", "list": "ADDRESS", "revoke": "ADDRESS ID|NAME"}[verb])
	f.register(fs, true)
	if verb == "add" {
		fs.IntVar(&days, "days", int(api.DefaultTokenLifetime/(24*time.Hour)), "how many `days` the token is valid")
	}
	pos, err := accountArgs(fs, args, map[string]int{"add": 2, "list": 1, "revoke": 2}[verb])
	if err != nil {
		return err
	}
	if verb == "add" && (days < 1 || days > 3660) {
		return usagef("api token add: --days must be from 1 to 3660")
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	addr, err := account.ParseAddress(pos[0])
	if err != nil {
		return err
	}
	acc, err := svc.Store.GetAccount(ctx, addr.String())
	if err != nil {
		return fmt.Errorf("account %s: %w", pos[0], err)
	}
	toks := &api.Tokens{Store: svc.Store}
	switch verb {
	case "add":
		tok, secret, err := toks.Add(ctx, acc, pos[1], time.Duration(days)*24*time.Hour)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, struct {
				api.Token
				Address string `json:"address"`
				Secret  string `json:"token"`
			}{tok, acc.Address, secret})
		}
		fmt.Fprintf(env.Stdout, "API token %q (ID %s) of %s, valid until %s:\n\n  %s\n\nIt is shown only now. Send it as \"Authorization: Bearer TOKEN\".\n",
			tok.Name, tok.ID, acc.Address, tok.Expires.UTC().Format(time.RFC3339), secret)
	case "list":
		list, err := toks.List(ctx, acc.ID)
		if err != nil {
			return err
		}
		return printTokens(env.Stdout, list, f.json)
	case "revoke":
		tok, err := toks.Revoke(ctx, acc.ID, pos[1])
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, map[string]any{"address": acc.Address, "revoked": tok})
		}
		fmt.Fprintf(env.Stdout, "API token %q (ID %s) of %s revoked\n", tok.Name, tok.ID, acc.Address)
	}
	return nil
}

func printTokens(w io.Writer, list []api.Token, asJSON bool) error {
	if asJSON {
		return writeJSON(w, list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no API tokens")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tFROM")
	for _, t := range list {
		used, from := "never", "-"
		if t.LastUsed != nil {
			used = t.LastUsed.UTC().Format(time.RFC3339)
		}
		if t.LastIP != "" {
			from = t.LastIP
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Created.UTC().Format(time.RFC3339),
			t.Expires.UTC().Format(time.RFC3339), used, from)
	}
	return tw.Flush()
}
