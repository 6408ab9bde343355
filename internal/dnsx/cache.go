package dnsx

import (
	"container/list"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

type cacheKey struct {
	name  string // from cacheName
	qtype uint16
}

// cacheName is the cache's name for a DNS name: lower case, without the
// final dot of a fully qualified name. Names that differ only in case or
// in that dot share it. Dropping the dot rather than adding one means that
// the names Sealpost asks for ("example.com") need no new string:
// strings.ToLower returns a string without capitals as it is.
func cacheName(name string) string {
	if dns.IsFqdn(name) {
		name = name[:len(name)-1]
	}
	return strings.ToLower(name)
}

type cacheEntry struct {
	key     cacheKey
	a       answer
	expires time.Time
}

// cache keeps answers until their TTL runs out, evicting the least recently
// used entry when full. It is safe for concurrent use.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used; values are *cacheEntry
	byKey map[cacheKey]*list.Element
}

func newCache(size int) *cache {
	return &cache{max: size, order: list.New(), byKey: make(map[cacheKey]*list.Element)}
}

// get returns the answer cached for k, shared with the cache: an entry is
// never changed once put (put replaces it whole), so it may be read after
// the lock is released, but not written.
func (c *cache) get(k cacheKey, now time.Time) (*answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, k)
		return nil, false
	}
	c.order.MoveToFront(el)
	return &e.a, true
}

func (c *cache) put(k cacheKey, a answer, now time.Time) {
	if a.ttl == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &cacheEntry{key: k, a: a, expires: now.Add(time.Duration(a.ttl) * time.Second)}
	if el, ok := c.byKey[k]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.max {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.byKey, oldest.Value.(*cacheEntry).key)
	}
	c.byKey[k] = c.order.PushFront(e)
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
