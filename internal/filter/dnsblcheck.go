package filter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"sealpost.dev/sealpost/internal/dnsbl"
)

// MaxDNSBLDomains bounds the domains of one message asked of the domain
// lists: the From domain and the first link domains.
const MaxDNSBLDomains = 20

// DNSBL asks DNS blocklists (package dnsbl) about the client's address
// and about the registrable domains of the From address and of the
// links. Each zone that lists something adds its score once, named after
// the zone ("dnsbl.zen.spamhaus.org"). Loopback, private and other
// non-public client addresses are not asked. A zone that fails is logged;
// the check fails (OnError applies) only when nothing was found and a
// zone failed.
type DNSBL struct {
	Checker *dnsbl.Checker
	// IPZones list client addresses, DomainZones domains (URIBL, SURBL,
	// DBL).
	IPZones, DomainZones []dnsbl.Zone
	Logger               *slog.Logger
}

// Name implements Check.
func (*DNSBL) Name() string { return "dnsbl" }

// Network implements NetworkCheck.
func (*DNSBL) Network() bool { return true }

// Check implements Check.
func (d *DNSBL) Check(ctx context.Context, in *Input) ([]Score, error) {
	var (
		mu       sync.Mutex
		listings []listed
		errs     []error
		wg       sync.WaitGroup
	)
	add := func(what string, ls []dnsbl.Listing, err error) {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range ls {
			listings = append(listings, listed{what, l})
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if ip := in.Env.RemoteIP.Unmap(); len(d.IPZones) > 0 && publicAddr(ip) {
		wg.Go(func() {
			ls, err := d.Checker.Check(ctx, ip, d.IPZones)
			add("the sending address "+ip.String(), ls, err)
		})
	}
	if len(d.DomainZones) > 0 {
		for _, dom := range messageDomains(in) {
			wg.Go(func() {
				ls, err := d.Checker.CheckDomain(ctx, dom, d.DomainZones)
				add("the domain "+dom, ls, err)
			})
		}
	}
	wg.Wait()
	err := errors.Join(errs...)
	if len(listings) == 0 {
		return nil, err
	}
	if err != nil && d.Logger != nil {
		d.Logger.Warn("dnsbl: some lists failed", "id", in.Env.ID, "err", err)
	}
	return zoneScores(listings), nil
}

// listed is a listing with what it lists.
type listed struct {
	what string
	dnsbl.Listing
}

// zoneScores makes one score per zone, in the order found: a zone that
// lists ten link domains weighs as much as one listing one.
func zoneScores(ls []listed) []Score {
	var out []Score
	at := map[string]int{}
	for _, l := range ls {
		if i, ok := at[l.Zone]; ok {
			out[i].Reason += "; also " + l.what
			continue
		}
		reason := fmt.Sprintf("%s is listed by %s", l.what, l.Zone)
		if l.Reason != "" {
			reason += ": " + l.Reason
		}
		at[l.Zone] = len(out)
		out = append(out, Score{Name: l.Zone, Weight: l.Score, Reason: reason})
	}
	return out
}

// messageDomains are the registrable domains of the From address and of
// the links, each once, at most MaxDNSBLDomains.
func messageDomains(in *Input) []string {
	return in.Once("dnsbl.domains", func() any {
		var out []string
		seen := map[string]bool{}
		add := func(host string) {
			if host == "" || len(out) >= MaxDNSBLDomains {
				return
			}
			if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
				return // an address literal is no domain
			}
			d, err := dnsbl.RegistrableDomain(host)
			if err != nil || seen[d] {
				return
			}
			seen[d] = true
			out = append(out, d)
		}
		add(fromDomain(in))
		for _, l := range in.Message.Links {
			add(l.Host)
		}
		return out
	}).([]string)
}

// publicAddr reports whether ip is worth asking a blocklist about: not
// loopback, private (RFC 1918, RFC 4193), shared (RFC 6598), link-local
// or unspecified.
func publicAddr(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() &&
		!ip.IsUnspecified() && !ip.IsMulticast() && !sharedSpace.Contains(ip)
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// ParseZone reads a zone as configured: "name=score", optionally followed
// by the answers that count, separated by spaces
// ("dbl.spamhaus.org=4 127.0.1.2 127.0.1.4").
func ParseZone(s string) (dnsbl.Zone, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return dnsbl.Zone{}, errors.New("empty zone")
	}
	name, num, _ := strings.Cut(fields[0], "=")
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return dnsbl.Zone{}, fmt.Errorf("zone %q: write name=score", s)
	}
	score, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(score) || math.IsInf(score, 0) {
		return dnsbl.Zone{}, fmt.Errorf("zone %q: the score is no number", s)
	}
	z := dnsbl.Zone{Name: name, Score: score}
	for _, f := range fields[1:] {
		a, err := netip.ParseAddr(f)
		if err != nil || !a.Is4() {
			return dnsbl.Zone{}, fmt.Errorf("zone %q: answer %q is no IPv4 address", s, f)
		}
		z.Codes = append(z.Codes, a)
	}
	return z, nil
}
