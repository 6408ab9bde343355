package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
)

// allowChanges is the audit test of `account allow`: all but --list.
func allowChanges(args []string) bool {
	for _, a := range args {
		if name, _, _ := flagArg(a); name == "list" {
			return false
		}
		if a == "--" {
			break
		}
	}
	return true
}

// runAccountAllow manages an account's allow-list of networks:
// `account allow USER [--protocol P] NETWORK...`, `--list USER`,
// `--clear USER`.
func runAccountAllow(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	var protocol string
	var list, clear bool
	fs := newFlagSet(env, "account allow", "account allow [-config FILE | --data DIR] [--json] [--protocol P] USER NETWORK...\n"+
		"       sealpost account allow --list|--clear USER")
	f.register(fs, true)
	fs.StringVar(&protocol, "protocol", "", "the protocol the networks are for: imap, pop3, smtp or web (default: every protocol)")
	fs.BoolVar(&list, "list", false, "print the account's allow-list")
	fs.BoolVar(&clear, "clear", false, "empty the account's allow-list: it may log in from anywhere again")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	networks, err := allowArgs(pos, protocol, list, clear)
	if err != nil {
		fs.Usage()
		return err
	}
	addr, err := account.ParseAddress(pos[0])
	if err != nil {
		return err
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	address := addr.String()
	switch {
	case clear:
		n, err := svc.ClearAllowedNetworks(ctx, address)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, map[string]any{"address": address, "removed": n})
		}
		fmt.Fprintf(env.Stdout, "allow-list of %s cleared (%d removed): it may log in from anywhere\n", address, n)
		return nil
	case !list:
		if err := svc.AllowNetworks(ctx, address, protocol, networks); err != nil {
			return err
		}
	}
	entries, err := svc.AllowedNetworks(ctx, address)
	if err != nil {
		return err
	}
	return printAllowList(env.Stdout, address, entries, f.json)
}

// allowArgs checks the arguments of `account allow` and parses the
// networks: a prefix, or an address alone for just that address.
func allowArgs(pos []string, protocol string, list, clear bool) ([]netip.Prefix, error) {
	switch {
	case list && clear:
		return nil, usagef("account allow: --list and --clear do not go together")
	case len(pos) == 0:
		return nil, usagef("account allow: no account given")
	case (list || clear) && len(pos) != 1:
		return nil, usagef("account allow: --list and --clear take the account alone")
	case (list || clear) && protocol != "":
		return nil, usagef("account allow: --protocol is for adding networks")
	case !list && !clear && len(pos) < 2:
		return nil, usagef("account allow: no network given (or --list, --clear)")
	case protocol != "" && !slices.Contains(store.AllowListProtocols, protocol):
		return nil, usagef("account allow: unknown protocol %q: one of %s", protocol, strings.Join(store.AllowListProtocols, ", "))
	}
	var networks []netip.Prefix
	for _, s := range pos[1:] {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, usagef("account allow: %q is not a network (192.0.2.0/24, 2001:db8::/32) or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		networks = append(networks, p.Masked())
	}
	return networks, nil
}

func printAllowList(w io.Writer, address string, entries []store.AllowedNetwork, asJSON bool) error {
	protocolName := func(p string) string { return cmp.Or(p, "all") }
	if asJSON {
		type row struct {
			Protocol string `json:"protocol"`
			Network  string `json:"network"`
		}
		rows := make([]row, 0, len(entries))
		for _, e := range entries {
			rows = append(rows, row{protocolName(e.Protocol), e.Network.String()})
		}
		return writeJSON(w, map[string]any{"address": address, "networks": rows})
	}
	if len(entries) == 0 {
		fmt.Fprintf(w, "%s has no allow-list: it may log in from anywhere\n", address)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROTOCOL\tNETWORK")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\n", protocolName(e.Protocol), e.Network)
	}
	return tw.Flush()
}
