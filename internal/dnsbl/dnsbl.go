package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"sealpost.dev/sealpost/internal/dnsx"
)

// DefaultTimeout bounds a check whose context has no deadline.
const DefaultTimeout = 5 * time.Second

// MaxReason is the longest TXT reason kept, in bytes.
const MaxReason = 256

// MaxZones is the most zones one check asks; more is a configuration error.
const MaxZones = 64

var (
	// ErrRefused reports that a list refused to answer (127.255.255.x).
	ErrRefused = errors.New("dnsbl: the list refused the query")
	// ErrHostile reports an answer outside 127.0.0.0/8.
	ErrHostile = errors.New("dnsbl: answer outside 127.0.0.0/8")
)

// Zone is one blocklist.
type Zone struct {
	// Name is the list's DNS zone, such as "zen.spamhaus.org".
	Name string
	// Score is the weight a listing adds; the caller decides what it means.
	Score float64
	// Codes are the answers that count as a listing; empty: any 127.0.0.x
	// but 127.0.0.1.
	Codes []netip.Addr
}

// Listing is one list's positive answer.
type Listing struct {
	Zone   string
	Answer netip.Addr
	// Reason is the TXT record of the listed name, "" if none.
	Reason string
	// Score is the Zone's Score, for the caller's convenience.
	Score float64
}

// ZoneError is one zone's failure.
type ZoneError struct {
	Zone string
	Err  error
}

func (e *ZoneError) Error() string { return "dnsbl: " + e.Zone + ": " + e.Err.Error() }
func (e *ZoneError) Unwrap() error { return e.Err }

// Check asks the IP lists in zones whether ip is listed. It returns the
// listings in the order of zones and, joined, the failures of the zones
// that could not say (see the package documentation).
func Check(ctx context.Context, r dnsx.Resolver, ip netip.Addr, zones []Zone) ([]Listing, error) {
	return check(ctx, r, nil, ip, zones)
}

// CheckDomain asks the domain lists in zones whether the registrable
// domain of domain is listed. An IP address or a name that cannot be a
// domain is an error, and nothing is asked.
func CheckDomain(ctx context.Context, r dnsx.Resolver, domain string, zones []Zone) ([]Listing, error) {
	return checkDomain(ctx, r, nil, domain, zones)
}

func check(ctx context.Context, r dnsx.Resolver, c *cache, ip netip.Addr, zones []Zone) ([]Listing, error) {
	prefix, err := ipPrefix(ip)
	if err != nil {
		return nil, err
	}
	return askAll(ctx, r, c, prefix, zones)
}

func checkDomain(ctx context.Context, r dnsx.Resolver, c *cache, domain string, zones []Zone) ([]Listing, error) {
	reg, err := RegistrableDomain(domain)
	if err != nil {
		return nil, err
	}
	return askAll(ctx, r, c, reg, zones)
}

// ipPrefix returns the reversed form of ip that precedes a zone's name.
func ipPrefix(ip netip.Addr) (string, error) {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return "", errors.New("dnsbl: invalid IP address")
	}
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0]), nil
	}
	const hex = "0123456789abcdef"
	b := ip.As16()
	var sb strings.Builder
	sb.Grow(63)
	for i := len(b) - 1; i >= 0; i-- {
		if i != len(b)-1 {
			sb.WriteByte('.')
		}
		sb.WriteByte(hex[b[i]&0xf])
		sb.WriteByte('.')
		sb.WriteByte(hex[b[i]>>4])
	}
	return sb.String(), nil
}

// RegistrableDomain returns what domain lists are asked about: the eTLD+1
// of domain (Public Suffix List, ICANN and private sections), lower-case
// A-labels without a trailing dot. A name that is itself a public suffix is
// returned whole.
func RegistrableDomain(domain string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if d == "" {
		return "", errors.New("dnsbl: empty domain")
	}
	if !utf8.ValidString(d) {
		return "", errors.New("dnsbl: domain is not UTF-8")
	}
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return "", fmt.Errorf("dnsbl: %q is an IP address, not a domain", domain)
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("dnsbl: invalid domain %q: %w", domain, err)
	}
	a = strings.ToLower(a)
	if !validName(a) {
		return "", fmt.Errorf("dnsbl: invalid domain %q", domain)
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(a)
	if err != nil {
		return a, nil // a public suffix itself, or a single label
	}
	return reg, nil
}

// validName reports whether a is a host name that can be asked: labels
// of 1 to 63 letters, digits, hyphens or underscores, 253 bytes at most.
func validName(a string) bool {
	if a == "" || len(a) > 253 {
		return false
	}
	for label := range strings.SplitSeq(a, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// askAll asks every zone about prefix at once.
func askAll(ctx context.Context, r dnsx.Resolver, c *cache, prefix string, zones []Zone) ([]Listing, error) {
	if len(zones) > MaxZones {
		return nil, fmt.Errorf("dnsbl: %d zones, at most %d", len(zones), MaxZones)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	type outcome struct {
		listing *Listing
		err     error
	}
	outs := make([]outcome, len(zones))
	var wg sync.WaitGroup
	for i, z := range zones {
		wg.Go(func() {
			l, err := askZone(ctx, r, c, prefix, z)
			outs[i] = outcome{l, err}
		})
	}
	wg.Wait()
	var listings []Listing
	var errs []error
	for i, o := range outs {
		if o.err != nil {
			errs = append(errs, &ZoneError{Zone: zones[i].Name, Err: o.err})
		}
		if o.listing != nil {
			listings = append(listings, *o.listing)
		}
	}
	return listings, errors.Join(errs...)
}

// askZone asks one zone; a nil Listing and nil error mean not listed.
func askZone(ctx context.Context, r dnsx.Resolver, c *cache, prefix string, z Zone) (*Listing, error) {
	zone := strings.TrimSuffix(strings.ToLower(z.Name), ".")
	if zone == "" {
		return nil, errors.New("empty zone name")
	}
	name := prefix + "." + zone
	key := cacheKey(name, z.Codes)
	if a, ok := c.get(key); ok {
		return a.listing(z), a.err
	}
	a := lookup(ctx, r, name, z.Codes)
	if a.cacheable {
		c.put(key, a)
	}
	return a.listing(z), a.err
}

// answer is the outcome of asking one name, as cached.
type answer struct {
	listed    bool
	addr      netip.Addr
	reason    string
	err       error
	cacheable bool
}

func (a answer) listing(z Zone) *Listing {
	if !a.listed {
		return nil
	}
	return &Listing{Zone: z.Name, Answer: a.addr, Reason: a.reason, Score: z.Score}
}

// lookup asks name's A records and, when listed, its TXT records.
func lookup(ctx context.Context, r dnsx.Resolver, name string, codes []netip.Addr) answer {
	addrs, _, err := dnsx.LookupA(ctx, r, name)
	if errors.Is(err, dnsx.ErrNotFound) {
		return answer{cacheable: true}
	}
	var v4 []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			v4 = append(v4, a)
		}
	}
	if err != nil && len(v4) == 0 {
		return answer{err: err}
	}
	a := judge(v4, codes)
	if !a.listed {
		return a
	}
	if txts, _, err := r.LookupTXT(ctx, name); err == nil && len(txts) > 0 {
		a.reason = cleanReason(txts[0])
	}
	return a
}

// judge decides which of the IPv4 answers count.
func judge(v4 []netip.Addr, codes []netip.Addr) answer {
	var refused, hostile bool
	for _, a := range v4 {
		switch {
		case !loopback.Contains(a):
			hostile = true
		case refusal.Contains(a):
			refused = true
		case counts(a, codes):
			return answer{listed: true, addr: a, cacheable: true}
		}
	}
	switch {
	case hostile:
		return answer{err: ErrHostile}
	case refused:
		return answer{err: ErrRefused}
	}
	return answer{cacheable: true}
}

var (
	loopback  = netip.MustParsePrefix("127.0.0.0/8")
	refusal   = netip.MustParsePrefix("127.255.255.0/24")
	listed    = netip.MustParsePrefix("127.0.0.0/24")
	notListed = netip.AddrFrom4([4]byte{127, 0, 0, 1})
)

func counts(a netip.Addr, codes []netip.Addr) bool {
	if len(codes) == 0 {
		return listed.Contains(a) && a != notListed
	}
	for _, c := range codes {
		if c.Unmap() == a {
			return true
		}
	}
	return false
}

// cleanReason keeps printable ASCII of s, at most MaxReason bytes: the TXT
// text ends up in logs and headers.
func cleanReason(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s) && sb.Len() < MaxReason; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = ' '
		}
		sb.WriteByte(c)
	}
	return strings.TrimSpace(sb.String())
}
