// Package connlimit bounds the simultaneous connections from one network
// source across every listener that shares a Limiter. IPv4 addresses count
// one by one; IPv6 addresses count per /64, since one host commonly holds a
// whole /64.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Limiter counts open connections per source.
type Limiter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Prefix]int
}

// New returns a Limiter allowing max connections per source; max <= 0
// means no limit.
func New(max int) *Limiter {
	return &Limiter{max: max, n: map[netip.Prefix]int{}}
}

// Source returns the prefix connections from addr are counted under.
func Source(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}

// Acquire counts a new connection from addr. It returns false, counting
// nothing, when the source is at its limit; otherwise the caller must call
// release once when the connection ends.
func (l *Limiter) Acquire(addr netip.Addr) (release func(), ok bool) {
	src := Source(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.n[src] >= l.max {
		return nil, false
	}
	l.n[src]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.n[src]--; l.n[src] <= 0 {
				delete(l.n, src)
			}
		})
	}, true
}

// Count returns the open connections counted for addr's source.
func (l *Limiter) Count(addr netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[Source(addr)]
}

// RemoteAddr returns the IP address of a connection's peer, or the zero
// Addr if it has none (a pipe in tests).
func RemoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
