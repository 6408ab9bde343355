package dnsx

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Sentinel errors. Callers decide on these with errors.Is.
var (
	// ErrNotFound reports NXDOMAIN: the name does not exist (RFC 2308
	// section 2.1).
	ErrNotFound = errors.New("dnsx: name not found")
	// ErrTemporary reports that the answer could not be had: SERVFAIL or
	// another error code, a timeout, a network error or a reply that failed
	// the checks. Asking again later may succeed.
	ErrTemporary = errors.New("dnsx: temporary failure")
)

// Limits on what a reply may contain.
const (
	// MaxCNAMEChain is the longest CNAME chain followed from the asked name.
	MaxCNAMEChain = 8
	// MaxAnswers is the most answer records accepted in one reply.
	MaxAnswers = 256
)

// Result describes how an answer was obtained.
type Result struct {
	// Authentic is true only when the answer carried the AD bit from the
	// configured, trusted resolver (RFC 4035 section 3.2.3). It is also set
	// on authenticated negative answers, together with ErrNotFound or an
	// empty NODATA result.
	Authentic bool
}

// MX is one mail exchanger (RFC 1035 section 3.3.9).
type MX struct {
	// Host is the exchanger's name, fully qualified with a trailing dot
	// as in package net. "." with Pref 0 is a null MX (RFC 7505).
	Host string
	// Pref is the preference; lower is preferred.
	Pref uint16
}

// TLSA is one TLSA record (RFC 6698 section 2.1).
type TLSA struct {
	Usage        uint8
	Selector     uint8
	MatchingType uint8
	// Data is the certificate association data, decoded from hex.
	Data []byte
}

// SRV is one service record (RFC 2782).
type SRV struct {
	// Target is the host providing the service, fully qualified with a
	// trailing dot. "." means the service is decidedly not available at
	// this domain (RFC 2782, RFC 6186 section 3).
	Target   string
	Port     uint16
	Priority uint16
	Weight   uint16
}

// Resolver is what every Sealpost package that needs DNS takes from its
// caller. Names may be given with or without a trailing dot; returned names
// are fully qualified with a trailing dot. Implementations are safe for
// concurrent use.
//
// See the package documentation for how NXDOMAIN, NODATA and failures are
// told apart.
type Resolver interface {
	// LookupMX returns the MX records of name, sorted by preference
	// (stably, so equal preferences keep the server's order; callers
	// shuffle them if they need to, RFC 5321 section 5.1). The slice is
	// the caller's own, as are those of the other lookups below: queue
	// shuffles it in place.
	LookupMX(ctx context.Context, name string) ([]MX, Result, error)
	// LookupTXT returns the TXT records of name, the strings of each
	// record concatenated without separator (RFC 7208 section 3.3).
	//
	// The slice may be shared with the implementation's cache and with
	// other callers (Client and Stub return the cached answer's own, so
	// that a cache hit costs no allocation): callers must not change its
	// elements, and append only to a copy. Every caller in Sealpost only
	// reads it (spf, dmarc, dkim, mtasts, reports, account, cli).
	LookupTXT(ctx context.Context, name string) ([]string, Result, error)
	// LookupIP returns the A and AAAA addresses of name, IPv4 first.
	// The result is authentic only if both answers were. When one of the
	// two queries fails temporarily, the addresses from the other are
	// returned together with an error wrapping ErrTemporary: callers that
	// decide on absence (SPF) must treat that as a failure; callers that
	// only need some address (delivery) may use them. ErrNotFound is
	// returned only if no address was found and a query said NXDOMAIN.
	//
	// As with LookupTXT, the slice may be shared with a cache: callers
	// must not change it (spf, dmarc, queue, mtasts and reports only read
	// it).
	LookupIP(ctx context.Context, name string) ([]netip.Addr, Result, error)
	// LookupAddr returns the PTR names of addr (RFC 1035 section 3.5,
	// RFC 3596 section 2.5).
	LookupAddr(ctx context.Context, addr netip.Addr) ([]string, Result, error)
	// LookupTLSA returns the TLSA records at _port._proto.host
	// (RFC 6698 section 3), proto being e.g. "tcp".
	LookupTLSA(ctx context.Context, port int, proto, host string) ([]TLSA, Result, error)
	// LookupCNAME returns the canonical name of name: the end of the CNAME
	// chain starting at it, or name itself when it has no CNAME. The result
	// is authentic only if every step was.
	LookupCNAME(ctx context.Context, name string) (string, Result, error)
	// LookupSRV returns the SRV records of name, the whole owner name
	// such as "_submissions._tcp.example.com" (RFC 2782), sorted by
	// priority (stably; callers pick among equal priorities by weight).
	LookupSRV(ctx context.Context, name string) ([]SRV, Result, error)
}

// checkName validates name and returns it fully qualified.
func checkName(name string) (string, error) {
	if name == "" {
		return "", errors.New("dnsx: empty name")
	}
	fqdn := dns.Fqdn(name)
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return "", fmt.Errorf("dnsx: invalid name %q", name)
	}
	return fqdn, nil
}

// tlsaName builds the TLSA owner name of RFC 6698 section 3.
func tlsaName(port int, proto, host string) (string, error) {
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("dnsx: invalid port %d", port)
	}
	if proto == "" || strings.ContainsAny(proto, ". \\") {
		return "", fmt.Errorf("dnsx: invalid protocol %q", proto)
	}
	return checkName("_" + strconv.Itoa(port) + "._" + proto + "." + dns.Fqdn(host))
}

// reverseName returns the PTR owner name of addr.
func reverseName(addr netip.Addr) (string, error) {
	if !addr.IsValid() {
		return "", errors.New("dnsx: invalid address")
	}
	return dns.ReverseAddr(addr.Unmap().String())
}

func notFound(name string) error {
	return fmt.Errorf("%w: %s", ErrNotFound, name)
}

// The functions below turn answer records, already restricted to the asked
// type and owner, into the values the lookups return.

func mxFrom(rrs []dns.RR) []MX {
	out := make([]MX, 0, len(rrs))
	for _, rr := range rrs {
		// An empty name can only come from malformed data ("." is the
		// root, as in a null MX).
		if mx, ok := rr.(*dns.MX); ok && mx.Mx != "" {
			out = append(out, MX{Host: mx.Mx, Pref: mx.Preference})
		}
	}
	slices.SortStableFunc(out, func(a, b MX) int { return cmp.Compare(a.Pref, b.Pref) })
	return out
}

func txtFrom(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, joinTXT(txt.Txt))
		}
	}
	return out
}

func addrsFrom(rrs []dns.RR) []netip.Addr {
	out := make([]netip.Addr, 0, len(rrs))
	for _, rr := range rrs {
		var ip []byte
		switch rr := rr.(type) {
		case *dns.A:
			ip = rr.A.To4()
		case *dns.AAAA:
			ip = rr.AAAA.To16()
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a)
		}
	}
	return out
}

func ptrFrom(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if ptr, ok := rr.(*dns.PTR); ok && ptr.Ptr != "" {
			out = append(out, ptr.Ptr)
		}
	}
	return out
}

func srvFrom(rrs []dns.RR) []SRV {
	out := make([]SRV, 0, len(rrs))
	for _, rr := range rrs {
		if srv, ok := rr.(*dns.SRV); ok && srv.Target != "" {
			out = append(out, SRV{Target: srv.Target, Port: srv.Port, Priority: srv.Priority, Weight: srv.Weight})
		}
	}
	slices.SortStableFunc(out, func(a, b SRV) int { return cmp.Compare(a.Priority, b.Priority) })
	return out
}

func tlsaFrom(rrs []dns.RR) []TLSA {
	out := make([]TLSA, 0, len(rrs))
	for _, rr := range rrs {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue // cannot come from the wire; skip rather than guess
		}
		out = append(out, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out
}

// mergeIP combines the A and AAAA halves of LookupIP.
func mergeIP(v4, v6 []netip.Addr, r4, r6 Result, err4, err6 error) ([]netip.Addr, Result, error) {
	// v4 and v6 may be a cached answer's own: a new slice when both have
	// addresses, else the one with addresses as it is.
	var addrs []netip.Addr
	switch {
	case len(v6) == 0:
		addrs = v4
	case len(v4) == 0:
		addrs = v6
	default:
		addrs = slices.Concat(v4, v6)
	}
	res := Result{Authentic: r4.Authentic && r6.Authentic}
	for _, err := range []error{err4, err6} {
		if err != nil && !errors.Is(err, ErrNotFound) {
			return addrs, Result{}, err
		}
	}
	if len(addrs) > 0 {
		return addrs, res, nil
	}
	if err4 != nil {
		return nil, res, err4
	}
	return nil, res, err6
}
