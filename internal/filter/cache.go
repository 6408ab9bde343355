package filter

import (
	"sync"
	"time"
)

// ttlCache keeps values for a while, at most max of them: what the
// adapters read from the store for every message (hosted domains, local
// people, an account's correspondents) changes rarely, and a stale value
// for a few minutes does no harm.
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[K]cached[V]
}

type cached[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, max int, now func() time.Time) *ttlCache[K, V] {
	if now == nil {
		now = time.Now
	}
	return &ttlCache[K, V]{ttl: ttl, max: max, now: now, m: map[K]cached[V]{}}
}

// get returns the value of k when it has not expired.
func (c *ttlCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put stores v under k. When the cache is full it first drops the
// expired entries, then, if none had, any one: which one matters little
// for a cache refreshed every few minutes.
func (c *ttlCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = cached[V]{v, now.Add(c.ttl)}
}
