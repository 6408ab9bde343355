package dnsx

import (
	"context"
	"net/netip"

	"github.com/miekg/dns"
)

// ALookuper is a Resolver that can ask for A records alone. DNS
// blocklists answer with A records; asking AAAA too, as LookupIP does,
// would double the queries and, with a Client, the wait.
type ALookuper interface {
	LookupA(ctx context.Context, name string) ([]netip.Addr, Result, error)
}

// LookupA returns the IPv4 addresses of name: with r's LookupA when it has
// one (Client, Stub), else the IPv4 part of LookupIP. Errors are those of
// LookupIP (NXDOMAIN wraps ErrNotFound, NODATA is empty with no error).
// The slice may be shared with r's cache: callers only read it.
func LookupA(ctx context.Context, r Resolver, name string) ([]netip.Addr, Result, error) {
	if a, ok := r.(ALookuper); ok {
		return a.LookupA(ctx, name)
	}
	addrs, res, err := r.LookupIP(ctx, name)
	var v4 []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			v4 = append(v4, a)
		}
	}
	return v4, res, err
}

// LookupA implements ALookuper: one A query.
func (c *Client) LookupA(ctx context.Context, name string) ([]netip.Addr, Result, error) {
	a, res, err := c.lookup(ctx, name, dns.TypeA)
	return a.addresses(), res, err
}

// LookupA implements ALookuper.
func (s *Stub) LookupA(ctx context.Context, name string) ([]netip.Addr, Result, error) {
	return fromZone(s, name, dns.TypeA, func(za *zoneAnswer) []netip.Addr { return za.addrs },
		func(target string) ([]netip.Addr, Result, error) { return LookupA(ctx, s.upstream, target) })
}
