package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// runDKIMKeys runs the key subcommands of "sealpost dkim": keys, rotate
// and activate.
func runDKIMKeys(ctx context.Context, env *Env, verb string, args []string) error {
	var f instanceFlags
	usage := map[string]string{
		"keys":     "dkim keys [-config FILE | --data DIR] [--json] DOMAIN",
		"rotate":   "dkim rotate [-config FILE | --data DIR] [--json] DOMAIN",
		"activate": "dkim activate [-config FILE | --data DIR] [--overlap DURATION] DOMAIN",
	}[verb]
	fs := newFlagSet(env, "dkim "+verb, usage)
	f.register(fs, verb != "activate")
	overlap := fs.Duration("overlap", 0, "with activate: how long the replaced keys stay published (default: the config's dkim.overlap)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("dkim %s: expected a DOMAIN", verb)
	}
	if err := checkDomains(pos); err != nil {
		return err
	}
	cfg, svc, closeStore, err := openInstance(ctx, f)
	if err != nil {
		return err
	}
	defer closeStore()
	domain := pos[0]
	switch verb {
	case "keys":
		keys, err := svc.DKIMKeys(ctx, domain)
		if err != nil {
			return err
		}
		return printDKIMKeys(env.Stdout, domain, keys, f.json)
	case "rotate":
		keys, err := svc.RotateDKIM(ctx, domain)
		if err != nil {
			return err
		}
		if !f.json && keys[0].State == store.DKIMPending {
			fmt.Fprintf(env.Stdout, "new keys for %s, pending: publish these records; %s\n", domain, activationHint(cfg, domain))
		}
		return printDKIMKeys(env.Stdout, domain, keys, f.json)
	default: // activate
		if *overlap <= 0 {
			*overlap = time.Duration(cfg.DKIM.Overlap)
		}
		if err := svc.ActivateDKIM(ctx, domain, *overlap); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "the pending keys of %s sign from now on; the keys they replace stay published for %s\n", domain, *overlap)
		return nil
	}
}

// activationHint says how pending keys come to sign.
func activationHint(cfg *config.Config, domain string) string {
	if cfg.DKIM.AutoActivate {
		return fmt.Sprintf("the running server activates them once DNS has shown both for %s (or run 'sealpost dkim activate %s')",
			cfg.DKIM.PublishHold, domain)
	}
	return fmt.Sprintf("then run 'sealpost dkim activate %s'", domain)
}

// dkimKeyView is what the CLI shows of a key: never the private key.
type dkimKeyView struct {
	Selector  string     `json:"selector"`
	Algorithm string     `json:"algorithm"`
	State     string     `json:"state"`
	Created   time.Time  `json:"created"`
	RetireAt  *time.Time `json:"retire_at,omitempty"`
	// PublishedSince, for a pending key, is when the server first saw
	// its record in DNS.
	PublishedSince *time.Time `json:"published_since,omitempty"`
	Name           string     `json:"name"`
	Record         string     `json:"record"`
}

func dkimKeyViews(domain string, keys []store.DKIMKey) ([]dkimKeyView, error) {
	views := make([]dkimKeyView, 0, len(keys))
	for _, k := range keys {
		rec, err := account.DKIMRecord(k)
		if err != nil {
			return nil, err
		}
		v := dkimKeyView{Selector: k.Selector, Algorithm: k.Algorithm, State: string(k.State), Created: k.Created.UTC(),
			Name: k.Selector + "._domainkey." + domain + ".", Record: rec}
		if !k.RetireAt.IsZero() {
			t := k.RetireAt.UTC()
			v.RetireAt = &t
		}
		if k.State == store.DKIMPending && !k.PublishedSince.IsZero() {
			t := k.PublishedSince.UTC()
			v.PublishedSince = &t
		}
		views = append(views, v)
	}
	return views, nil
}

func printDKIMKeys(w io.Writer, domain string, keys []store.DKIMKey, asJSON bool) error {
	views, err := dkimKeyViews(domain, keys)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(w, views)
	}
	for _, v := range views {
		state := v.State
		switch {
		case v.RetireAt != nil:
			state += " until " + v.RetireAt.Format(time.RFC3339)
		case v.PublishedSince != nil:
			state += ", seen published since " + v.PublishedSince.Format(time.RFC3339)
		case v.State == string(store.DKIMPending):
			state += ", not seen published yet"
		}
		fmt.Fprintf(w, "%s %s (%s, created %s)\n  %s TXT %s\n", v.Selector, v.Algorithm, state, v.Created.Format(time.RFC3339),
			v.Name, dnsx.ZoneTXT(v.Record))
	}
	return nil
}
