package mtasts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// CacheNamespace is the store.KV namespace StoreCache keeps policies in,
// keyed by domain.
const CacheNamespace = "mta-sts"

// KV is the part of store.KV a StoreCache needs; every store.Store has
// it. GetValue must fail with an error matching store.ErrNotFound for a
// value that is absent or expired.
type KV interface {
	PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error
	GetValue(ctx context.Context, namespace, key string) ([]byte, error)
}

// StoreCache is a Cache kept in a store, so that policies outlive a
// restart (RFC 8461 section 5.1). Each policy is stored as JSON under
// CacheNamespace until it expires; the store drops it then, so Get never
// returns an expired policy. It is safe for concurrent use if kv is.
type StoreCache struct {
	kv KV
}

var _ Cache = (*StoreCache)(nil)

// NewStoreCache returns a Cache over kv.
func NewStoreCache(kv KV) *StoreCache { return &StoreCache{kv: kv} }

// storedPolicy is the stored form of a CachedPolicy. V tells formats
// apart, should it ever change.
type storedPolicy struct {
	V       int           `json:"v"`
	Mode    Mode          `json:"mode"`
	MX      []string      `json:"mx,omitempty"`
	MaxAge  time.Duration `json:"max_age_ns"`
	ID      string        `json:"id"`
	Fetched time.Time     `json:"fetched"`
}

const storedPolicyVersion = 1

// Get implements Cache. A stored value that does not decode to a policy
// (written by another version, or damaged) counts as no policy, so that
// the next fetch replaces it instead of delivery failing on it.
func (c *StoreCache) Get(ctx context.Context, domain string) (CachedPolicy, bool, error) {
	b, err := c.kv.GetValue(ctx, CacheNamespace, domain)
	if errors.Is(err, store.ErrNotFound) {
		return CachedPolicy{}, false, nil
	}
	if err != nil {
		return CachedPolicy{}, false, fmt.Errorf("mtasts: policy cache: %w", err)
	}
	var sp storedPolicy
	if err := json.Unmarshal(b, &sp); err != nil || sp.V != storedPolicyVersion || !validMode(sp.Mode) {
		return CachedPolicy{}, false, nil
	}
	return CachedPolicy{
		Policy:  Policy{Mode: sp.Mode, MX: sp.MX, MaxAge: sp.MaxAge},
		ID:      sp.ID,
		Fetched: sp.Fetched,
	}, true, nil
}

// Put implements Cache. The policy is kept until p.Expires().
func (c *StoreCache) Put(ctx context.Context, domain string, p CachedPolicy) error {
	b, err := json.Marshal(storedPolicy{
		V:       storedPolicyVersion,
		Mode:    p.Policy.Mode,
		MX:      p.Policy.MX,
		MaxAge:  p.Policy.MaxAge,
		ID:      p.ID,
		Fetched: p.Fetched,
	})
	if err != nil {
		return fmt.Errorf("mtasts: policy cache: %w", err)
	}
	if err := c.kv.PutValue(ctx, CacheNamespace, domain, b, p.Expires()); err != nil {
		return fmt.Errorf("mtasts: policy cache: %w", err)
	}
	return nil
}

func validMode(m Mode) bool {
	return m == ModeEnforce || m == ModeTesting || m == ModeNone
}
