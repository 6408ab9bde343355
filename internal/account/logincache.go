package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"
)

// Defaults of the login cache.
const (
	DefaultLoginCacheTTL  = 15 * time.Minute
	DefaultLoginCacheSize = 10000
)

// loginCache remembers successful password checks for a bounded time, so
// that a client that logs in again and again (mail clients open several
// IMAP connections and reconnect often) does not cost an argon2id
// verification each time.
//
// An entry is keyed by HMAC-SHA-256, under a key drawn at random when the
// process starts, of the address and the password: the password itself is
// never kept, and the key never leaves memory. The entry holds the
// account's stored password hash as it was when the password was checked.
// A hit still requires the account as read from the store now to carry
// that same hash, so a password change made anywhere (another process, the
// CLI, another node on the same database) ends every entry for the old
// password at once. Forget drops an address's entries for the changes the
// stored hash does not show, such as signing out. Failed checks are never
// remembered.
type loginCache struct {
	key  [32]byte
	ttl  time.Duration
	size int
	now  func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]loginEntry
}

type loginEntry struct {
	address      string
	passwordHash string
	expires      time.Time
}

// newLoginCache returns a cache of at most size entries kept for ttl, or
// nil, which remembers nothing, if either is zero or less.
func newLoginCache(ttl time.Duration, size int) *loginCache {
	if ttl <= 0 || size <= 0 {
		return nil
	}
	c := &loginCache{ttl: ttl, size: size, now: time.Now,
		entries: make(map[[sha256.Size]byte]loginEntry)}
	if _, err := rand.Read(c.key[:]); err != nil {
		// crypto/rand does not fail on supported systems; without a key
		// the cache must not be used.
		return nil
	}
	return c
}

func (c *loginCache) mac(address, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(address))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

// valid reports whether address logged in with password within the TTL
// while its stored hash was storedHash.
func (c *loginCache) valid(address, password, storedHash string) bool {
	if c == nil {
		return false
	}
	k := c.mac(address, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return false
	}
	if !c.now().Before(e.expires) || subtle.ConstantTimeCompare([]byte(e.passwordHash), []byte(storedHash)) != 1 {
		delete(c.entries, k)
		return false
	}
	return true
}

// remember records a successful check. When the cache is full it first
// drops expired entries and then, if still full, arbitrary ones: a dropped
// entry only costs one more full check.
func (c *loginCache) remember(address, password, storedHash string) {
	if c == nil {
		return
	}
	k := c.mac(address, password)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.size {
		c.evict(now)
	}
	c.entries[k] = loginEntry{address: address, passwordHash: storedHash, expires: now.Add(c.ttl)}
}

func (c *loginCache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.size {
			break
		}
		delete(c.entries, k)
	}
}

// forget drops every entry of address.
func (c *loginCache) forget(address string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.address == address {
			delete(c.entries, k)
		}
	}
}

func (c *loginCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
