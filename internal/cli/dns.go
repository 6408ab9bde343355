package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/mtasts"
	"sealpost.dev/sealpost/internal/store"
)

// dnsRecord is one record "sealpost dns" asks the administrator to
// publish.
type dnsRecord struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
	// Why says what the record is for.
	Why string `json:"why"`
}

// instanceRecords opens the instance the flags name and returns its
// config and the records domain needs.
func instanceRecords(ctx context.Context, f instanceFlags, domain string) (*config.Config, []dnsRecord, error) {
	cfg, svc, closeStore, err := openInstance(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	defer closeStore()
	keys, err := svc.DKIMKeys(ctx, domain)
	if err != nil {
		return nil, nil, err
	}
	recs, err := domainRecords(cfg, domain, keys)
	return cfg, recs, err
}

// runDNS prints the DNS records a hosted domain needs.
func runDNS(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	fs := newFlagSet(env, "dns", "dns [-config FILE | --data DIR] [--json] DOMAIN")
	f.register(fs, true)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("dns: expected a DOMAIN")
	}
	if err := checkDomains(pos); err != nil {
		return err
	}
	_, recs, err := instanceRecords(ctx, f, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(env.Stdout, recs)
	}
	for _, r := range recs {
		value := r.Value
		if r.Type == "TXT" {
			value = dnsx.ZoneTXT(value)
		}
		fmt.Fprintf(env.Stdout, "; %s\n%s 3600 IN %s %s\n", r.Why, r.Name, r.Type, value)
	}
	return nil
}

// pendingHint says when a published pending key starts signing.
func pendingHint(cfg *config.Config) string {
	if cfg.DKIM.AutoActivate {
		return "it signs once DNS has shown it, and the other pending key, for " + cfg.DKIM.PublishHold.String()
	}
	return "it signs once activated (sealpost dkim activate)"
}

// domainRecords lists what domain needs in DNS for mail to reach Sealpost
// and for Sealpost's mail to be trusted: MX, SPF for the domain and for
// the host's HELO name, every published DKIM key, DMARC, TLS-RPT, MTA-STS,
// the names of the policy and autoconfig hosts, and the service records
// clients use to find the server (RFC 6186, RFC 8314).
func domainRecords(cfg *config.Config, domain string, keys []store.DKIMKey) ([]dnsRecord, error) {
	if cfg.Hostname == "" {
		return nil, usagef("the instance's config names no hostname: give -config FILE")
	}
	host := cfg.Hostname + "."
	d := domain + "."
	recs := []dnsRecord{
		{d, "MX", "10 " + host, "mail for " + domain + " goes to this server"},
		{d, "TXT", "v=spf1 mx -all", "SPF: only the domain's MX hosts send its mail (RFC 7208)"},
		{host, "TXT", "v=spf1 a -all", "SPF for the server's HELO name (RFC 7208 section 2.3)"},
	}
	views, err := dkimKeyViews(domain, keys)
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		why := "DKIM key " + v.Selector + " (" + v.Algorithm + ", " + v.State + ")"
		switch v.State {
		case string(store.DKIMPending):
			why += ": publish it now; " + pendingHint(cfg)
		case string(store.DKIMRetiring):
			why += ": remove it after " + v.RetireAt.Format("2006-01-02 15:04 MST")
		}
		recs = append(recs, dnsRecord{v.Name, "TXT", v.Record, why})
	}
	recs = append(recs,
		dnsRecord{"_dmarc." + d, "TXT", "v=DMARC1; p=reject; rua=mailto:postmaster@" + domain,
			"DMARC: receivers reject mail that fails SPF and DKIM alignment, and report to postmaster@" + domain + " (RFC 7489)"},
		dnsRecord{"_smtp._tls." + d, "TXT", "v=TLSRPTv1; rua=mailto:postmaster@" + domain,
			"TLS-RPT: senders report TLS failures to postmaster@" + domain + " (RFC 8460)"},
		dnsRecord{"_mta-sts." + d, "TXT", "v=STSv1; id=" + mtasts.PolicyID(instance.MTASTSPolicy(cfg).String()),
			"MTA-STS: senders must use TLS to this server (RFC 8461); the id changes with the policy"},
		dnsRecord{"mta-sts." + d, "CNAME", host, "where senders fetch the MTA-STS policy, served over HTTPS"},
		dnsRecord{"autoconfig." + d, "CNAME", host, "where mail clients fetch their settings (autoconfig)"},
		dnsRecord{"autodiscover." + d, "CNAME", host, "where Outlook fetches its settings (Autodiscover)"},
	)
	for _, srv := range []struct {
		name, addr string
		prio       int
	}{
		{"_submissions._tcp.", cfg.Listeners.Submissions, 0},
		{"_submission._tcp.", cfg.Listeners.Submission, 10},
		{"_imaps._tcp.", cfg.Listeners.IMAPS, 0},
		{"_imap._tcp.", cfg.Listeners.IMAP, 10},
		{"_pop3s._tcp.", cfg.Listeners.POP3S, 0},
		{"_pop3._tcp.", cfg.Listeners.POP3, 10},
	} {
		if srv.addr == "" {
			continue
		}
		_, port, err := net.SplitHostPort(srv.addr)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", srv.addr, err)
		}
		if _, err := strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("listener %s: port %q", srv.addr, port)
		}
		recs = append(recs, dnsRecord{srv.name + d, "SRV", fmt.Sprintf("%d 1 %s %s", srv.prio, port, host),
			"where mail clients find the service (RFC 6186; implicit TLS first, RFC 8314)"})
	}
	if _, port, err := net.SplitHostPort(cfg.Listeners.HTTPS); err == nil && port != "0" {
		recs = append(recs, dnsRecord{"_autodiscover._tcp." + d, "SRV", fmt.Sprintf("0 1 %s %s", port, host),
			"where Outlook finds Autodiscover when the names above fail"})
	}
	return recs, nil
}
