package dnsx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// zoneTTL is the TTL given to zone records written without one.
const zoneTTL = 300

// Zone is an in-memory set of records for domains Sealpost answers for
// itself. A name at or below one of the zone's domains is answered from
// the zone alone; other names are not the zone's business. It is safe for
// concurrent use, and records may be added while it serves.
type Zone struct {
	mu      sync.RWMutex
	domains map[string]bool     // canonical names
	records map[string][]dns.RR // by canonical owner
}

// NewZone returns an empty zone with no domains.
func NewZone() *Zone {
	return &Zone{domains: make(map[string]bool), records: make(map[string][]dns.RR)}
}

// DevZone returns the zone `sealpost dev` starts with: domain's MX is host,
// and host has the loopback addresses 127.0.0.1 and ::1.
func DevZone(domain, host string) (*Zone, error) {
	z := NewZone()
	for _, d := range []string{domain, host} {
		if err := z.AddDomain(d); err != nil {
			return nil, err
		}
	}
	d, h := dns.Fqdn(domain), dns.Fqdn(host)
	err := z.Add(d + " MX 10 " + h + "\n" + h + " A 127.0.0.1\n" + h + " AAAA ::1\n")
	if err != nil {
		return nil, err
	}
	return z, nil
}

// AddDomain makes the zone answer for domain and every name below it.
func (z *Zone) AddDomain(domain string) error {
	fqdn, err := checkName(domain)
	if err != nil {
		return err
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	z.domains[dns.CanonicalName(fqdn)] = true
	return nil
}

// Add parses records in zone-file syntax (RFC 1035 section 5; names are
// relative to the root, the default TTL is 300 s, $INCLUDE is refused)
// and adds them. Every owner must be within one of the zone's domains.
// On error nothing is added.
func (z *Zone) Add(records string) error {
	zp := dns.NewZoneParser(strings.NewReader(records), ".", "zone")
	zp.SetDefaultTTL(zoneTTL)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("dnsx: zone: %w", err)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, rr := range rrs {
		if !z.owns(rr.Header().Name) {
			return fmt.Errorf("dnsx: zone: %s is outside the zone's domains", rr.Header().Name)
		}
	}
	for _, rr := range rrs {
		owner := dns.CanonicalName(rr.Header().Name)
		z.records[owner] = append(z.records[owner], rr)
	}
	return nil
}

// owns reports whether name is at or below one of the domains. z.mu is held.
func (z *Zone) owns(name string) bool {
	name = dns.CanonicalName(name)
	for {
		if z.domains[name] {
			return true
		}
		_, next, end := strings.Cut(name, ".")
		if !end || next == "" {
			return z.domains["."]
		}
		name = next
	}
}

// exists reports whether name owns records or has names below it (an
// empty non-terminal, RFC 8020). z.mu is held.
func (z *Zone) exists(name string) bool {
	name = dns.CanonicalName(name)
	if len(z.records[name]) > 0 {
		return true
	}
	for owner := range z.records {
		if strings.HasSuffix(owner, "."+name) {
			return true
		}
	}
	return false
}

// zoneAnswer is what the zone says about a name.
type zoneAnswer struct {
	// forward is set when the name, or the end of its CNAME chain inside
	// the zone, is outside the zone: target must be asked elsewhere.
	forward  bool
	target   string
	rrs      []dns.RR
	nxdomain bool
}

// resolve follows CNAMEs within the zone, like a recursive resolver would.
func (z *Zone) resolve(name string, qtype uint16) (zoneAnswer, error) {
	z.mu.RLock()
	defer z.mu.RUnlock()
	target := name
	for hops := 0; hops <= MaxCNAMEChain; hops++ {
		if !z.owns(target) {
			return zoneAnswer{forward: true, target: target}, nil
		}
		rrs, cname, err := collect(z.records[dns.CanonicalName(target)], target, qtype)
		if err != nil {
			return zoneAnswer{}, err
		}
		if len(rrs) > 0 || qtype == dns.TypeCNAME || cname == nil {
			return zoneAnswer{target: target, rrs: rrs, nxdomain: len(rrs) == 0 && !z.exists(target)}, nil
		}
		target = cname.Target
	}
	return zoneAnswer{}, fmt.Errorf("%w: CNAME chain from %s longer than %d", errMalformed, name, MaxCNAMEChain)
}

// Stub is the Resolver of `sealpost dev`: it answers from a Zone, forwards
// names outside the zone to an optional upstream Resolver, and says NXDOMAIN
// for everything else, so that nothing is ever asked of the system resolver.
// Answers from the zone are not authentic; forwarded ones carry the
// upstream's Result.
type Stub struct {
	zone     *Zone
	upstream Resolver
}

var _ Resolver = (*Stub)(nil)

// NewStub returns a Stub answering from zone (nil for an empty one) and
// forwarding to upstream (nil for none).
func NewStub(zone *Zone, upstream Resolver) *Stub {
	if zone == nil {
		zone = NewZone()
	}
	return &Stub{zone: zone, upstream: upstream}
}

// Zone returns the zone s answers from, for adding records.
func (s *Stub) Zone() *Zone { return s.zone }

// lookup answers (name, qtype) from the zone. When the answer lies outside
// it, forward is set and target is the name to ask upstream.
func (s *Stub) lookup(name string, qtype uint16) (rrs []dns.RR, target string, forward bool, err error) {
	fqdn, err := checkName(name)
	if err != nil {
		return nil, "", false, err
	}
	za, err := s.zone.resolve(fqdn, qtype)
	if err != nil {
		return nil, "", false, fmt.Errorf("%w: %w", ErrTemporary, err)
	}
	if za.forward {
		return nil, za.target, true, nil
	}
	if za.nxdomain {
		return nil, "", false, notFound(za.target)
	}
	return za.rrs, za.target, false, nil
}

// noUpstream is the answer for names outside the zone when there is no
// upstream.
func noUpstream(name string) error { return notFound(name) }

// LookupMX implements Resolver.
func (s *Stub) LookupMX(ctx context.Context, name string) ([]MX, Result, error) {
	rrs, target, forward, err := s.lookup(name, dns.TypeMX)
	if forward {
		if s.upstream == nil {
			return nil, Result{}, noUpstream(target)
		}
		return s.upstream.LookupMX(ctx, target)
	}
	return mxFrom(rrs), Result{}, err
}

// LookupTXT implements Resolver.
func (s *Stub) LookupTXT(ctx context.Context, name string) ([]string, Result, error) {
	rrs, target, forward, err := s.lookup(name, dns.TypeTXT)
	if forward {
		if s.upstream == nil {
			return nil, Result{}, noUpstream(target)
		}
		return s.upstream.LookupTXT(ctx, target)
	}
	return txtFrom(rrs), Result{}, err
}

// LookupSRV implements Resolver.
func (s *Stub) LookupSRV(ctx context.Context, name string) ([]SRV, Result, error) {
	rrs, target, forward, err := s.lookup(name, dns.TypeSRV)
	if forward {
		if s.upstream == nil {
			return nil, Result{}, noUpstream(target)
		}
		return s.upstream.LookupSRV(ctx, target)
	}
	return srvFrom(rrs), Result{}, err
}

// LookupIP implements Resolver.
func (s *Stub) LookupIP(ctx context.Context, name string) ([]netip.Addr, Result, error) {
	rrs4, target, forward, err4 := s.lookup(name, dns.TypeA)
	if forward {
		if s.upstream == nil {
			return nil, Result{}, noUpstream(target)
		}
		return s.upstream.LookupIP(ctx, target)
	}
	if err4 != nil && !errors.Is(err4, ErrNotFound) {
		return nil, Result{}, err4
	}
	rrs6, _, _, err6 := s.lookup(name, dns.TypeAAAA)
	return mergeIP(addrsFrom(rrs4), addrsFrom(rrs6), Result{}, Result{}, err4, err6)
}

// LookupAddr implements Resolver.
func (s *Stub) LookupAddr(ctx context.Context, addr netip.Addr) ([]string, Result, error) {
	name, err := reverseName(addr)
	if err != nil {
		return nil, Result{}, err
	}
	rrs, _, forward, err := s.lookup(name, dns.TypePTR)
	if forward {
		if s.upstream == nil {
			return nil, Result{}, noUpstream(name)
		}
		return s.upstream.LookupAddr(ctx, addr)
	}
	return ptrFrom(rrs), Result{}, err
}

// LookupTLSA implements Resolver.
func (s *Stub) LookupTLSA(ctx context.Context, port int, proto, host string) ([]TLSA, Result, error) {
	name, err := tlsaName(port, proto, host)
	if err != nil {
		return nil, Result{}, err
	}
	rrs, target, forward, err := s.lookup(name, dns.TypeTLSA)
	if forward {
		if s.upstream == nil {
			return nil, Result{}, noUpstream(target)
		}
		if target == name {
			return s.upstream.LookupTLSA(ctx, port, proto, host)
		}
		// A CNAME left the zone: the TLSA name is no longer built from
		// port, proto and host. Only the Client can ask for it directly.
		return nil, Result{}, fmt.Errorf("%w: TLSA name %s is a CNAME to %s outside the zone", ErrTemporary, name, target)
	}
	return tlsaFrom(rrs), Result{}, err
}

// LookupCNAME implements Resolver.
func (s *Stub) LookupCNAME(ctx context.Context, name string) (string, Result, error) {
	target := name
	for hops := 0; hops <= MaxCNAMEChain; hops++ {
		rrs, t, forward, err := s.lookup(target, dns.TypeCNAME)
		if forward {
			if s.upstream == nil {
				return "", Result{}, noUpstream(t)
			}
			return s.upstream.LookupCNAME(ctx, t)
		}
		if err != nil {
			return "", Result{}, err
		}
		if len(rrs) == 0 {
			return dns.Fqdn(target), Result{}, nil
		}
		target = rrs[0].(*dns.CNAME).Target
	}
	return "", Result{}, fmt.Errorf("%w: CNAME chain from %s longer than %d", ErrTemporary, name, MaxCNAMEChain)
}
