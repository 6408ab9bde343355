package dnsx

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// zoneTTL is the TTL given to zone records written without one.
const zoneTTL = 300

// maxMemo bounds the answers a Zone remembers.
const maxMemo = 1024

// Zone is an in-memory set of records for domains Sealpost answers for
// itself. A name at or below one of the zone's domains is answered from
// the zone alone; other names are not the zone's business. It is safe for
// concurrent use, and records may be added while it serves.
type Zone struct {
	mu      sync.RWMutex
	domains map[string]bool     // canonical names
	records map[string][]dns.RR // by canonical owner

	// memo keeps the answers given, by the name exactly as asked (the
	// answer's target and error keep its spelling) and the type: the
	// checks of every message ask for the same few names, and a memoized
	// answer costs no allocation. It is emptied when the zone changes,
	// under mu, and when full. Its lock is taken after mu, never before.
	memoMu sync.Mutex
	memo   map[cacheKey]*zoneAnswer
}

// NewZone returns an empty zone with no domains.
func NewZone() *Zone {
	return &Zone{domains: make(map[string]bool), records: make(map[string][]dns.RR), memo: make(map[cacheKey]*zoneAnswer)}
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
	z.forget()
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
	z.forget()
	return nil
}

// forget empties the memo after a change. z.mu is held for writing, so no
// answer computed before the change can be stored after it.
func (z *Zone) forget() {
	z.memoMu.Lock()
	clear(z.memo)
	z.memoMu.Unlock()
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

	// Set by prepare, once per memoized answer, and shared by every
	// lookup that finds it (clipped, so that appending copies).
	txt   []string     // TXT
	addrs []netip.Addr // A or AAAA
	err   error        // the NXDOMAIN error naming target
}

// prepare fills in what the lookups of qtype return.
func (za *zoneAnswer) prepare(qtype uint16) {
	switch qtype {
	case dns.TypeTXT:
		za.txt = slices.Clip(txtFrom(za.rrs))
	case dns.TypeA, dns.TypeAAAA:
		za.addrs = slices.Clip(addrsFrom(za.rrs))
	}
	if za.nxdomain {
		za.err = notFound(za.target)
	}
}

// answer is what the zone says about (name, qtype), from the memo when it
// was asked before. The error is about the name or the zone (an invalid
// name, a CNAME chain too long); NXDOMAIN is za.err. The answer is shared
// by every lookup that finds it in the memo, and must not be changed: it
// is a pointer so that a lookup copies none of its hundred bytes.
func (z *Zone) answer(name string, qtype uint16) (*zoneAnswer, error) {
	key := cacheKey{name: name, qtype: qtype}
	z.memoMu.Lock()
	za := z.memo[key]
	z.memoMu.Unlock()
	if za != nil {
		return za, nil
	}
	fqdn, err := checkName(name)
	if err != nil {
		return nil, err
	}
	z.mu.RLock()
	defer z.mu.RUnlock()
	resolved, err := z.resolve(fqdn, qtype)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemporary, err)
	}
	za = &resolved
	za.prepare(qtype)
	z.memoMu.Lock()
	if len(z.memo) >= maxMemo {
		clear(z.memo)
	}
	z.memo[key] = za
	z.memoMu.Unlock()
	return za, nil
}

// resolve follows CNAMEs within the zone, like a recursive resolver would.
// z.mu is held.
func (z *Zone) resolve(name string, qtype uint16) (zoneAnswer, error) {
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

// noUpstream is the answer for names outside the zone when there is no
// upstream.
func noUpstream(name string) error { return notFound(name) }

// fromZone answers name for qtype with what convert makes of the zone's
// answer or, for a name the zone forwards, with what ask gets upstream.
func fromZone[T any](s *Stub, name string, qtype uint16, convert func(*zoneAnswer) T, ask func(target string) (T, Result, error)) (T, Result, error) {
	var none T
	za, err := s.zone.answer(name, qtype)
	switch {
	case err != nil:
		return none, Result{}, err
	case za.forward && s.upstream == nil:
		return none, Result{}, noUpstream(za.target)
	case za.forward:
		return ask(za.target)
	}
	return convert(za), Result{}, za.err
}

// LookupMX implements Resolver.
func (s *Stub) LookupMX(ctx context.Context, name string) ([]MX, Result, error) {
	return fromZone(s, name, dns.TypeMX, func(za *zoneAnswer) []MX { return mxFrom(za.rrs) },
		func(target string) ([]MX, Result, error) { return s.upstream.LookupMX(ctx, target) })
}

// LookupTXT implements Resolver. The slice of an answer from the zone is
// shared by every lookup of the same name.
func (s *Stub) LookupTXT(ctx context.Context, name string) ([]string, Result, error) {
	return fromZone(s, name, dns.TypeTXT, func(za *zoneAnswer) []string { return za.txt },
		func(target string) ([]string, Result, error) { return s.upstream.LookupTXT(ctx, target) })
}

// LookupSRV implements Resolver.
func (s *Stub) LookupSRV(ctx context.Context, name string) ([]SRV, Result, error) {
	return fromZone(s, name, dns.TypeSRV, func(za *zoneAnswer) []SRV { return srvFrom(za.rrs) },
		func(target string) ([]SRV, Result, error) { return s.upstream.LookupSRV(ctx, target) })
}

// LookupIP implements Resolver.
func (s *Stub) LookupIP(ctx context.Context, name string) ([]netip.Addr, Result, error) {
	za4, err := s.zone.answer(name, dns.TypeA)
	switch {
	case err != nil:
		return nil, Result{}, err
	case za4.forward && s.upstream == nil:
		return nil, Result{}, noUpstream(za4.target)
	case za4.forward:
		return s.upstream.LookupIP(ctx, za4.target)
	}
	za6, err6 := s.zone.answer(name, dns.TypeAAAA)
	if err6 == nil {
		err6 = za6.err
	}
	return mergeIP(za4.addrs, za6.addrs, Result{}, Result{}, za4.err, err6)
}

// LookupAddr implements Resolver.
func (s *Stub) LookupAddr(ctx context.Context, addr netip.Addr) ([]string, Result, error) {
	name, err := reverseName(addr)
	if err != nil {
		return nil, Result{}, err
	}
	za, err := s.zone.answer(name, dns.TypePTR)
	switch {
	case err != nil:
		return nil, Result{}, err
	case za.forward && s.upstream == nil:
		return nil, Result{}, noUpstream(name)
	case za.forward:
		return s.upstream.LookupAddr(ctx, addr)
	}
	return ptrFrom(za.rrs), Result{}, za.err
}

// LookupTLSA implements Resolver.
func (s *Stub) LookupTLSA(ctx context.Context, port int, proto, host string) ([]TLSA, Result, error) {
	name, err := tlsaName(port, proto, host)
	if err != nil {
		return nil, Result{}, err
	}
	za, err := s.zone.answer(name, dns.TypeTLSA)
	switch {
	case err != nil:
		return nil, Result{}, err
	case za.forward && s.upstream == nil:
		return nil, Result{}, noUpstream(za.target)
	case za.forward && za.target == name:
		return s.upstream.LookupTLSA(ctx, port, proto, host)
	case za.forward:
		// A CNAME left the zone: the TLSA name is no longer built from
		// port, proto and host. Only the Client can ask for it directly.
		return nil, Result{}, fmt.Errorf("%w: TLSA name %s is a CNAME to %s outside the zone", ErrTemporary, name, za.target)
	}
	return tlsaFrom(za.rrs), Result{}, za.err
}

// LookupCNAME implements Resolver.
func (s *Stub) LookupCNAME(ctx context.Context, name string) (string, Result, error) {
	target := name
	for hops := 0; hops <= MaxCNAMEChain; hops++ {
		za, err := s.zone.answer(target, dns.TypeCNAME)
		switch {
		case err != nil:
			return "", Result{}, err
		case za.forward && s.upstream == nil:
			return "", Result{}, noUpstream(za.target)
		case za.forward:
			return s.upstream.LookupCNAME(ctx, za.target)
		case za.err != nil:
			return "", Result{}, za.err
		case len(za.rrs) == 0:
			return dns.Fqdn(target), Result{}, nil
		}
		target = za.rrs[0].(*dns.CNAME).Target
	}
	return "", Result{}, fmt.Errorf("%w: CNAME chain from %s longer than %d", ErrTemporary, name, MaxCNAMEChain)
}
