package account

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// reverseDNSTimeout bounds the reverse DNS look-up of a login's address,
// which the login waits for.
const reverseDNSTimeout = 500 * time.Millisecond

// reverseDNS returns the name the reverse DNS gives ip, when that name
// also resolves to ip (forward-confirmed reverse DNS: anyone can publish
// any PTR name for their own addresses), else "". Without a Resolver, for
// no address, and when DNS does not answer in time, it is "".
func (s *Service) reverseDNS(ctx context.Context, ip netip.Addr) string {
	if s.Resolver == nil || !ip.IsValid() {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reverseDNSTimeout)
	defer cancel()
	ip = ip.Unmap().WithZone("")
	names, _, err := s.Resolver.LookupAddr(ctx, ip)
	if err != nil {
		return ""
	}
	for i, name := range names {
		if i == 3 { // a few names at most: each costs a forward look-up
			break
		}
		addrs, _, err := s.Resolver.LookupIP(ctx, name)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				return strings.TrimSuffix(strings.ToLower(name), ".")
			}
		}
	}
	return ""
}
