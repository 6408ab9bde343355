package mtasts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// ErrNoPolicy reports that no MTA-STS policy applies to a domain: it
// publishes none, or none could be discovered or fetched and no valid
// policy was cached. RFC 8461 section 5 says to deliver as if the domain
// had not implemented MTA-STS. The error also wraps the cause, for TLS
// reporting.
var ErrNoPolicy = errors.New("mtasts: no policy")

// Client finds the policy that applies to a recipient domain, following
// RFC 8461 section 5. Its fields must be set before use and not changed
// afterwards; it is then safe for concurrent use.
type Client struct {
	// Resolver looks up the _mta-sts TXT records. Required.
	Resolver dnsx.Resolver
	// Fetcher fetches policies over HTTPS. Required.
	Fetcher *Fetcher
	// Cache keeps fetched policies. Required.
	Cache Cache
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Get returns the policy that applies to domain. The policy may have mode
// none, which the caller treats like no policy.
//
// When Get returns an error wrapping ErrNoPolicy, the domain has no usable
// policy and mail is delivered as before MTA-STS. Any other error (a
// cancelled context, a failing Cache) means the answer is unknown: the
// caller should defer delivery rather than risk skipping an enforced
// policy.
//
// The steps of section 5 and 5.1:
//   - a cached policy whose max_age has not passed and whose TXT id is
//     unchanged is used without fetching;
//   - otherwise (no cached policy, expired, or the id changed) the policy
//     is fetched and cached;
//   - if the TXT lookup or the fetch fails, a cached policy that has not
//     expired is used still. In particular a TXT record that disappears
//     does not remove a cached policy: only a policy of mode none or its
//     expiry does.
func (c *Client) Get(ctx context.Context, domain string) (Policy, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return Policy{}, fmt.Errorf("%w: %w", ErrNoPolicy, err)
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	cached, ok, err := c.Cache.Get(ctx, d)
	if err != nil {
		return Policy{}, fmt.Errorf("mtasts: reading policy cache for %s: %w", d, err)
	}
	valid := ok && now.Before(cached.Expires())

	rec, err := LookupRecord(ctx, c.Resolver, d)
	if err != nil {
		if valid {
			return cached.Policy, nil
		}
		return Policy{}, c.noPolicy(ctx, err)
	}
	if valid && cached.ID == rec.ID {
		return cached.Policy, nil
	}
	p, err := c.Fetcher.Fetch(ctx, d)
	if err != nil {
		if valid {
			return cached.Policy, nil
		}
		return Policy{}, c.noPolicy(ctx, err)
	}
	// A failed write only costs a refetch next time; the policy is good.
	_ = c.Cache.Put(ctx, d, CachedPolicy{Policy: p, ID: rec.ID, Fetched: now})
	return p, nil
}

// noPolicy wraps cause in ErrNoPolicy, unless the caller's context ended:
// then the answer is unknown rather than negative.
func (c *Client) noPolicy(ctx context.Context, cause error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("mtasts: %w", context.Cause(ctx))
	}
	return fmt.Errorf("%w: %w", ErrNoPolicy, cause)
}
