package mtasts

import (
	"context"
	"slices"
	"sync"
	"time"
)

// CachedPolicy is a policy as kept in a Cache.
type CachedPolicy struct {
	Policy Policy
	// ID is the TXT record id the policy was fetched under.
	ID string
	// Fetched is when the policy was fetched.
	Fetched time.Time
}

// Expires returns when the cached policy stops being valid: max_age after
// it was fetched (RFC 8461 section 5.1).
func (c CachedPolicy) Expires() time.Time { return c.Fetched.Add(c.Policy.MaxAge) }

// Cache stores policies by recipient domain (lower case, no trailing dot).
// Implementations must be safe for concurrent use. A persistent
// implementation, such as StoreCache, keeps policies across restarts, as
// RFC 8461 section 5.1 expects of senders.
type Cache interface {
	// Get returns the policy cached for domain; ok is false if there is
	// none. Expired entries may be returned: the caller checks.
	Get(ctx context.Context, domain string) (p CachedPolicy, ok bool, err error)
	// Put stores p for domain, replacing what was there.
	Put(ctx context.Context, domain string, p CachedPolicy) error
}

// DefaultCacheSize is the capacity NewMemoryCache uses for a size of 0.
const DefaultCacheSize = 10000

// MemoryCache is a Cache in memory, bounded in size.
type MemoryCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]CachedPolicy
}

var _ Cache = (*MemoryCache)(nil)

// NewMemoryCache returns an empty MemoryCache holding at most size
// policies (DefaultCacheSize if size <= 0). When full, storing a new domain
// first evicts the policy that expires soonest.
func NewMemoryCache(size int) *MemoryCache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &MemoryCache{max: size, entries: make(map[string]CachedPolicy)}
}

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, domain string) (CachedPolicy, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.entries[domain]
	p.Policy.MX = slices.Clone(p.Policy.MX)
	return p, ok, nil
}

// Put implements Cache.
func (c *MemoryCache) Put(_ context.Context, domain string, p CachedPolicy) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[domain]; !ok && len(c.entries) >= c.max {
		c.evictLocked()
	}
	p.Policy.MX = slices.Clone(p.Policy.MX) // callers may reuse theirs
	c.entries[domain] = p
	return nil
}

// evictLocked drops the entry that expires first. The scan is linear, but
// only runs when the cache is full.
func (c *MemoryCache) evictLocked() {
	var (
		victim string
		first  time.Time
	)
	for d, p := range c.entries {
		if exp := p.Expires(); victim == "" || exp.Before(first) {
			victim, first = d, exp
		}
	}
	delete(c.entries, victim)
}

// Len returns how many policies the cache holds.
func (c *MemoryCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
