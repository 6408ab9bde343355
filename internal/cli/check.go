package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// recordCheck is what "sealpost check" found for one expected record.
type recordCheck struct {
	dnsRecord
	// Status is ok, missing, differs (published, but not as expected: a
	// warning, it may be deliberate) or error (wrong in a way that breaks
	// mail).
	Status string   `json:"status"`
	Found  []string `json:"found,omitempty"`
	Detail string   `json:"detail,omitempty"`
}

// runCheck compares what DNS publishes for a domain with what
// "sealpost dns" asks for.
func runCheck(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	fs := newFlagSet(env, "check", "check [-config FILE | --data DIR] [--resolver HOST:PORT] [--json] DOMAIN")
	f.register(fs, true)
	resolver := fs.String("resolver", "", "the DNS resolver to ask, as `HOST:PORT` (default: the config's dns.resolver)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("check: expected a DOMAIN")
	}
	if err := checkDomains(pos); err != nil {
		return err
	}
	cfg, recs, err := instanceRecords(ctx, f, pos[0])
	if err != nil {
		return err
	}
	if *resolver == "" {
		*resolver = cfg.DNS.Resolver
	}
	client, err := dnsx.NewClient(*resolver, dnsx.ClientConfig{})
	if err != nil {
		return usageError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	checks := checkRecords(ctx, client, recs)
	failed := 0
	for _, c := range checks {
		if c.Status == "missing" || c.Status == "error" {
			failed++
		}
	}
	if f.json {
		if err := writeJSON(env.Stdout, checks); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			fmt.Fprintf(env.Stdout, "%-9s %s %s", c.Status, c.Name, c.Type)
			if c.Detail != "" {
				fmt.Fprintf(env.Stdout, ": %s", c.Detail)
			}
			fmt.Fprintln(env.Stdout)
		}
	}
	if failed > 0 {
		return fmt.Errorf("check %s: %d record(s) missing or wrong", pos[0], failed)
	}
	return nil
}

// checkRecords looks each expected record up.
func checkRecords(ctx context.Context, r dnsx.Resolver, recs []dnsRecord) []recordCheck {
	out := make([]recordCheck, 0, len(recs))
	for _, rec := range recs {
		c := recordCheck{dnsRecord: rec}
		switch rec.Type {
		case "MX":
			checkMX(ctx, r, &c)
		case "TXT":
			checkTXT(ctx, r, &c)
		case "CNAME":
			checkCNAME(ctx, r, &c)
		case "SRV":
			checkSRV(ctx, r, &c)
		default:
			c.Status, c.Detail = "error", "Sealpost cannot look up "+rec.Type+" records"
		}
		out = append(out, c)
	}
	return out
}

func checkMX(ctx context.Context, r dnsx.Resolver, c *recordCheck) {
	mxs, _, err := r.LookupMX(ctx, c.Name)
	if lookupFailed(c, err) {
		return
	}
	_, want, _ := strings.Cut(c.Value, " ")
	for _, mx := range mxs {
		c.Found = append(c.Found, fmt.Sprintf("%d %s", mx.Pref, mx.Host))
		if strings.EqualFold(mx.Host, want) {
			c.Status = "ok"
		}
	}
	switch {
	case c.Status == "ok":
	case len(mxs) == 0:
		c.Status, c.Detail = "missing", "no MX record: mail goes to the domain's address records, if any"
	default:
		c.Status, c.Detail = "error", "no MX record names "+want+": mail goes elsewhere"
	}
}

// checkCNAME wants the name to lead to the expected host, by a CNAME
// or by being that host (address records of its own are not compared).
func checkCNAME(ctx context.Context, r dnsx.Resolver, c *recordCheck) {
	target, _, err := r.LookupCNAME(ctx, c.Name)
	if lookupFailed(c, err) {
		return
	}
	c.Found = []string{target}
	if strings.EqualFold(strings.TrimSuffix(target, "."), strings.TrimSuffix(c.Value, ".")) {
		c.Status = "ok"
		return
	}
	c.Status, c.Detail = "differs", "leads to "+target+", not to this server (fine if it has this server's addresses)"
}

// checkSRV wants a record naming this server and the listener's port
// (RFC 6186). Another priority or weight is fine; a record leading
// elsewhere, or "." (the service is not offered, RFC 2782), only differs:
// clients configure themselves wrongly, but mail still flows.
func checkSRV(ctx context.Context, r dnsx.Resolver, c *recordCheck) {
	srvs, _, err := r.LookupSRV(ctx, c.Name)
	if lookupFailed(c, err) {
		return
	}
	var prio, weight, port int
	var target string
	if _, err := fmt.Sscanf(c.Value, "%d %d %d %s", &prio, &weight, &port, &target); err != nil {
		c.Status, c.Detail = "error", "cannot read the expected record: "+err.Error()
		return
	}
	for _, s := range srvs {
		c.Found = append(c.Found, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target))
		if strings.EqualFold(s.Target, target) && int(s.Port) == port {
			c.Status = "ok"
		}
	}
	switch {
	case c.Status == "ok":
	case len(srvs) == 0:
		c.Status, c.Detail = "missing", "no SRV record: mail clients do not find the service"
	case len(srvs) == 1 && srvs[0].Target == ".":
		c.Status, c.Detail = "differs", "published as not offered here"
	default:
		c.Status, c.Detail = "differs", "leads to "+strings.Join(c.Found, ", ")+", not to port "+strconv.Itoa(port)+" of this server"
	}
}

// checkTXT compares the TXT records of one kind (SPF, DKIM, DMARC,
// TLS-RPT: the record's first tag says which) with the expected one.
func checkTXT(ctx context.Context, r dnsx.Resolver, c *recordCheck) {
	txts, _, err := r.LookupTXT(ctx, c.Name)
	if lookupFailed(c, err) {
		return
	}
	version, _, _ := strings.Cut(c.Value, ";")
	version, _, _ = strings.Cut(version, " ")
	var same []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(t), strings.ToLower(version)) {
			same = append(same, t)
		}
	}
	c.Found = same
	switch {
	case len(same) == 0:
		c.Status, c.Detail = "missing", "no "+version+" record"
	case len(same) > 1 && version != "v=DKIM1":
		// RFC 7208 section 4.5, RFC 7489 section 6.6.3: several records
		// make none count.
		c.Status, c.Detail = "error", fmt.Sprintf("%d %s records: receivers ignore them all", len(same), version)
	case version == "v=DKIM1":
		checkDKIMRecord(c, same)
	case normalizeTags(same[0]) == normalizeTags(c.Value):
		c.Status = "ok"
	case version == "v=DMARC1" && !strings.Contains(strings.ReplaceAll(strings.ToLower(same[0]), " ", ""), "p=none"):
		c.Status, c.Detail = "ok", "published with other tags: "+same[0]
	default:
		c.Status, c.Detail = "differs", "published as "+same[0]
	}
}

// checkDKIMRecord wants the key itself (p=) published; the other tags may
// differ.
func checkDKIMRecord(c *recordCheck, found []string) {
	want := tagValue(c.Value, "p")
	for _, f := range found {
		if tagValue(f, "p") == want {
			c.Status = "ok"
			return
		}
	}
	c.Status, c.Detail = "error", "the record holds another key"
	if strings.Contains(c.Why, "pending") {
		c.Detail += "; publish this one before the pending key signs"
	}
}

// tagValue returns the value of a tag in a tag=value; list, whitespace
// removed (RFC 6376 section 3.2).
func tagValue(rec, tag string) string {
	for _, part := range strings.Split(rec, ";") {
		name, value, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(name) == tag {
			return strings.Join(strings.Fields(value), "")
		}
	}
	return ""
}

func normalizeTags(rec string) string {
	return strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(rec, ";", "; ")), " "))
}

// lookupFailed records a failed lookup; NXDOMAIN is a missing record.
func lookupFailed(c *recordCheck, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, dnsx.ErrNotFound):
		c.Status, c.Detail = "missing", "no such name"
	default:
		c.Status, c.Detail = "error", "lookup failed: "+err.Error()
	}
	return true
}
