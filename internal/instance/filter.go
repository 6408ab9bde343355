package instance

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/clamd"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsbl"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/greylist"
	"sealpost.dev/sealpost/internal/store"
)

// FilterDeps are what the filter's checks use beside the store.
type FilterDeps struct {
	// Resolver asks the blocklists; required when zones are configured.
	Resolver dnsx.Resolver
	// Reputation is the sender reputation shared with training; nil
	// makes one over the store.
	Reputation *reputation.Reputation
	// Greylist, when set, is told of senders that proved themselves.
	Greylist *greylist.Greylist
	// Background runs what learns from verdicts (reputation, greylist
	// vouches) off the delivery path; nil learns nothing.
	Background *filter.Background
}

// VerdictQueue is the size of the queue of work that learns from
// verdicts: a burst of this many messages is learnt from, more are not.
const VerdictQueue = 1000

// Filter returns the spam and phishing filter of the [filter] section,
// with the checks Sealpost has built in and the adapters of the phishing
// heuristics, the attachment inspector, sender reputation, the content
// classifier, and, when configured, DNS blocklists and clamd; when
// filter.enabled is off it runs no check and only removes forged
// X-Sealpost- fields.
func Filter(cfg *config.Config, st store.Store, deps FilterDeps, log *slog.Logger) (*filter.Filter, error) {
	c := cfg.Filter
	f := &filter.Filter{Accounts: st, Logger: log}
	if !c.Enabled {
		return f, nil
	}
	f.Checks = append(filter.Builtin(), filter.Attachments{})
	f.AccountChecks = append(f.AccountChecks, classifier(cfg, st, log))
	f.RejectScore, f.JunkScore, f.WarnScore = c.RejectScore, c.JunkScore, c.WarnScore
	f.ExemptRecipients, f.ExemptSenders = c.ExemptRecipients, c.ExemptSenders
	f.Timeout = time.Duration(c.Timeout)
	if c.Banner {
		text := c.BannerText
		if text == "" {
			text = filter.DefaultBanner
		}
		b, err := filter.ParseBanner(text)
		if err != nil {
			return nil, fmt.Errorf("filter.banner_text: %w", err)
		}
		f.Banner = b
	}
	if len(c.Weights) > 0 {
		f.Weights = map[string]float64{}
		for _, w := range c.Weights {
			name, num, _ := strings.Cut(w, "=")
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil {
				return nil, fmt.Errorf("filter.weights: %q: %w", w, err)
			}
			f.Weights[strings.TrimSpace(name)] = v
		}
	}
	f.OnError = map[string]filter.OnError{}
	for _, n := range c.Tempfail {
		f.OnError[n] = filter.Tempfail
	}
	if st != nil {
		p := filter.NewPhish(st)
		f.Checks = append(f.Checks, p)
		f.AccountChecks = append(f.AccountChecks, p)
		rep := deps.Reputation
		if rep == nil {
			rep = Reputation(st)
		}
		f.AccountChecks = append(f.AccountChecks, filter.Reputation{Assessor: rep})
		if deps.Background != nil {
			learn := []func(context.Context, *filter.Input, string, filter.Result){
				filter.RecordVerdicts(rep, deps.Background, log)}
			if deps.Greylist != nil && cfg.Greylist.SpareAligned {
				learn = append(learn, filter.VouchVerdicts(deps.Greylist, deps.Background, log))
			}
			f.OnVerdict = filter.OnVerdicts(learn...)
		}
	}
	if err := addNetworkChecks(f, c, deps, log); err != nil {
		return nil, err
	}
	return f, nil
}

// addNetworkChecks adds the blocklists and clamd, when configured.
func addNetworkChecks(f *filter.Filter, c config.Filter, deps FilterDeps, log *slog.Logger) error {
	if len(c.DNSBLZones)+len(c.URIBLZones) > 0 {
		if deps.Resolver == nil {
			return fmt.Errorf("filter: blocklists need a DNS resolver")
		}
		check := &filter.DNSBL{Checker: &dnsbl.Checker{Resolver: deps.Resolver}, Logger: log}
		for _, z := range c.DNSBLZones {
			zone, err := filter.ParseZone(z)
			if err != nil {
				return fmt.Errorf("filter.dnsbl_zones: %w", err)
			}
			check.IPZones = append(check.IPZones, zone)
		}
		for _, z := range c.URIBLZones {
			zone, err := filter.ParseZone(z)
			if err != nil {
				return fmt.Errorf("filter.uribl_zones: %w", err)
			}
			check.DomainZones = append(check.DomainZones, zone)
		}
		f.Checks = append(f.Checks, check)
	}
	if c.Clamd != "" {
		client := &clamd.Client{Network: "tcp", Address: c.Clamd}
		if strings.HasPrefix(c.Clamd, "/") {
			client.Network = "unix"
		}
		f.Checks = append(f.Checks, &filter.Clamd{Client: client, Logger: log})
		switch c.ClamdOnError {
		case "pass":
			delete(f.OnError, "clamd")
		default:
			f.OnError["clamd"] = filter.Tempfail
		}
	}
	return nil
}
