// Package textcache keeps what was parsed from DNS record texts (DKIM keys,
// SPF and DMARC records), by the text itself. The DNS answers are cached by
// package dnsx, but parsing them again for every message was a visible
// part of checking a small one, and a few records cover most mail. Keyed
// by the whole text, an entry can never be stale: a changed record is a new
// key. The parsed values are shared and must never be changed.
package textcache

import "sync"

// Cache holds the results of Parse, at most Max of them; when full it is
// emptied, which is cheap and keeps no bookkeeping per entry. Errors are
// not kept. The zero value is not usable: use New.
type Cache[T any] struct {
	parse func(string) (T, error)
	max   int
	mu    sync.Mutex
	m     map[string]T
}

// New returns a cache of at most max entries of what parse returns.
func New[T any](max int, parse func(string) (T, error)) *Cache[T] {
	return &Cache[T]{parse: parse, max: max, m: make(map[string]T)}
}

// Parse returns the cached result for text, parsing it if needed.
func (c *Cache[T]) Parse(text string) (T, error) {
	c.mu.Lock()
	v, ok := c.m[text]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := c.parse(text)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[text] = v
	c.mu.Unlock()
	return v, nil
}

// Len returns the number of entries.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
