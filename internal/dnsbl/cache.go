package dnsbl

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// Checker asks blocklists like [Check] and [CheckDomain] and remembers
// each query name's answer for TTL, failures excepted. The zero value is
// not usable: Resolver is required. A Checker is safe for concurrent use.
type Checker struct {
	Resolver dnsx.Resolver
	// TTL is how long an answer is kept; default 5 minutes. The lists'
	// own TTLs are honoured by dnsx's cache below; this one saves the
	// work of asking at all.
	TTL time.Duration
	// MaxEntries bounds the cache; default 10,000.
	MaxEntries int
	// Now is the clock, time.Now when nil.
	Now func() time.Time

	once  sync.Once
	cache *cache
}

// Check is [Check] through the cache.
func (c *Checker) Check(ctx context.Context, ip netip.Addr, zones []Zone) ([]Listing, error) {
	return check(ctx, c.Resolver, c.getCache(), ip, zones)
}

// CheckDomain is [CheckDomain] through the cache.
func (c *Checker) CheckDomain(ctx context.Context, domain string, zones []Zone) ([]Listing, error) {
	return checkDomain(ctx, c.Resolver, c.getCache(), domain, zones)
}

func (c *Checker) getCache() *cache {
	c.once.Do(func() {
		ttl, max, now := c.TTL, c.MaxEntries, c.Now
		if ttl <= 0 {
			ttl = 5 * time.Minute
		}
		if max <= 0 {
			max = 10000
		}
		if now == nil {
			now = time.Now
		}
		c.cache = &cache{ttl: ttl, max: max, now: now, m: map[string]cached{}}
	})
	return c.cache
}

// cache maps a query name and the codes that count to its answer. A nil
// cache keeps nothing.
type cache struct {
	ttl time.Duration
	max int
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cached
}

type cached struct {
	a       answer
	expires time.Time
}

func cacheKey(name string, codes []netip.Addr) string {
	if len(codes) == 0 {
		return name
	}
	var sb strings.Builder
	sb.WriteString(name)
	for _, c := range codes {
		sb.WriteByte('|')
		sb.WriteString(c.String())
	}
	return sb.String()
}

func (c *cache) get(key string) (answer, bool) {
	if c == nil {
		return answer{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !c.now().Before(e.expires) {
		return answer{}, false
	}
	return e.a, true
}

func (c *cache) put(key string, a answer) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // all fresh: start again rather than track age
		}
	}
	c.m[key] = cached{a: a, expires: now.Add(c.ttl)}
}
