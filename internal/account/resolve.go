package account

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"sealpost.dev/sealpost/internal/srs"
	"sealpost.dev/sealpost/internal/store"
)

// errTooDeep marks an alias chain longer than MaxAliasDepth.
var errTooDeep = errors.New("alias chain too deep")

// Resolution is where mail for an address goes.
type Resolution struct {
	// Accounts are the addresses of local accounts, each once, in the order
	// found. Disabled accounts are included: disabling stops logins, not
	// delivery.
	Accounts []string
	// External are targets in domains Sealpost does not host, to be
	// forwarded through the queue.
	External []string
	// ForwardedBy names, for each External target that an account's
	// forwarding rule leads to, that account (the innermost one when
	// forwards lead through several). Targets that aliases alone lead
	// to are not in it. Mail an account's filter files into Junk does
	// not follow its forwarding rules (package delivery).
	ForwardedBy map[string]string
}

// Resolve finds where mail for a hosted address goes: to the account of
// that address, else through the alias of that address, else through the
// catch-all alias of its domain. An account with active forwarding rules
// sends its mail on to their targets too, or only, unless one of them
// keeps a copy (see AddForwarding). With SRS set, an SRS address (SRS0=...,
// SRS1=...) goes to the address it was made from instead, and one that is
// forged, expired or malformed fails with an *SRSError. Aliases may point to aliases; each address
// is expanded once, so loops end, and chains deeper than MaxAliasDepth are
// an error. Resolve fails with ErrNotHosted for a domain Sealpost does not
// host, and with store.ErrNotFound for an address that leads nowhere.
func (s *Service) Resolve(ctx context.Context, address string) (Resolution, error) {
	return s.resolve(ctx, address, false)
}

// ResolveLocal is Resolve without the accounts' forwarding rules: for mail
// Sealpost writes to an account about the account itself (security
// alerts), which must stay in its INBOX and never follow a forward that
// a thief may have set.
func (s *Service) ResolveLocal(ctx context.Context, address string) (Resolution, error) {
	return s.resolve(ctx, address, true)
}

func (s *Service) resolve(ctx context.Context, address string, local bool) (Resolution, error) {
	a, err := ParseAddress(address)
	if err != nil {
		return Resolution{}, err
	}
	r := s.newResolver()
	r.local = local
	hosted, err := r.isHosted(ctx, a.Domain)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %s: %w", a, err)
	}
	if !hosted {
		return Resolution{}, fmt.Errorf("resolve %s: %w", a, ErrNotHosted)
	}
	if s.SRS != nil && srs.IsSRS(a.String()) {
		return s.resolveSRS(ctx, a, 0)
	}
	found, err := r.expand(ctx, a, 0)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %s: %w", a, err)
	}
	if a.Local == "postmaster" && (!found || len(r.res.Accounts) == 0 && len(r.res.External) == 0) {
		return s.resolvePostmaster(ctx, a)
	}
	if !found {
		return Resolution{}, fmt.Errorf("resolve %s: no such account or alias: %w", a, store.ErrNotFound)
	}
	if len(r.res.Accounts) == 0 && len(r.res.External) == 0 {
		return Resolution{}, fmt.Errorf("resolve %s: aliases lead to no account: %w", a, store.ErrNotFound)
	}
	return r.res, nil
}

// SRSError is the failure of Resolve for an SRS address that Sealpost did
// not make or no longer honours. It matches store.ErrNotFound, so that the
// address is unknown to callers that ask no more, and wraps the srs error
// (srs.ErrBadHash, srs.ErrExpired, srs.ErrMalformed).
type SRSError struct {
	Address string
	Err     error
}

func (e *SRSError) Error() string {
	switch {
	case errors.Is(e.Err, srs.ErrBadHash):
		return "invalid SRS address " + e.Address + ": the hash does not match"
	case errors.Is(e.Err, srs.ErrExpired):
		return "expired SRS address " + e.Address
	}
	return "malformed SRS address " + e.Address
}

func (e *SRSError) Unwrap() error { return e.Err }

// Is makes an SRSError match store.ErrNotFound.
func (e *SRSError) Is(target error) bool { return target == store.ErrNotFound }

// maxSRSHops bounds the reversals of one resolution: an SRS1 address comes
// back as the SRS0 address of its first hop, which may be ours too.
const maxSRSHops = 2

// resolveSRS resolves the address an SRS address of a hosted domain was
// made from: an outside address is a target to forward to, a hosted one is
// resolved as any other.
func (s *Service) resolveSRS(ctx context.Context, a Address, hops int) (Resolution, error) {
	orig, err := s.SRS.Reverse(a.String())
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %s: %w", a, &SRSError{Address: a.String(), Err: err})
	}
	o, err := ParseAddress(orig)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %s: %w", a, &SRSError{Address: a.String(), Err: fmt.Errorf("%w: %v", srs.ErrMalformed, err)})
	}
	r := s.newResolver()
	hosted, err := r.isHosted(ctx, o.Domain)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %s: %w", a, err)
	}
	if hosted && srs.IsSRS(o.String()) && hops+1 < maxSRSHops {
		return s.resolveSRS(ctx, o, hops+1)
	}
	r.seen[a.String()] = true
	found, err := r.expand(ctx, o, 1)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %s through %s: %w", a, o, err)
	}
	if !found || len(r.res.Accounts) == 0 && len(r.res.External) == 0 {
		return Resolution{}, fmt.Errorf("resolve %s: its sender %s leads nowhere: %w", a, o, store.ErrNotFound)
	}
	return r.res, nil
}

// resolvePostmaster finds where postmaster@ of a hosted domain goes when
// the domain has no account or alias of that name, since RFC 5321 section
// 4.5.1 requires every domain to accept it: to Postmaster when set, else
// to the domain's oldest account.
func (s *Service) resolvePostmaster(ctx context.Context, a Address) (Resolution, error) {
	if s.Postmaster != "" {
		p, err := ParseAddress(s.Postmaster)
		if err != nil {
			return Resolution{}, fmt.Errorf("resolve %s: the postmaster setting: %w", a, err)
		}
		r := s.newResolver()
		r.seen[a.String()] = true // the setting may name this very address
		found, err := r.expand(ctx, p, 0)
		if err != nil {
			return Resolution{}, fmt.Errorf("resolve %s through %s: %w", a, p, err)
		}
		if found && (len(r.res.Accounts) > 0 || len(r.res.External) > 0) {
			return r.res, nil
		}
	}
	accounts, err := s.Store.ListAccounts(ctx, a.Domain)
	if err != nil {
		return Resolution{}, fmt.Errorf("resolve %s: %w", a, err)
	}
	if len(accounts) == 0 {
		return Resolution{}, fmt.Errorf("resolve %s: no account or alias, and the domain has no account: %w", a, store.ErrNotFound)
	}
	oldest := slices.MinFunc(accounts, func(x, y store.Account) int { return cmp.Compare(x.ID, y.ID) })
	return Resolution{Accounts: []string{oldest.Address}}, nil
}

// resolver holds the state of one resolution.
type resolver struct {
	s      *Service
	hosted map[string]bool // domain -> hosted, looked up once
	seen   map[string]bool // addresses already expanded
	res    Resolution
	// local leaves out the accounts' forwarding rules (ResolveLocal).
	local bool
}

// expandAccount adds an account reached at depth, and the targets of its
// active forwarding rules: the account itself only when it has none or
// one of them keeps a copy. Pending and disabled rules forward nothing.
func (r *resolver) expandAccount(ctx context.Context, acc store.Account, depth int) error {
	var rules []store.ForwardRule
	if !r.local {
		var err error
		if rules, err = r.s.Store.ListForwardRules(ctx, acc.ID); err != nil {
			return err
		}
	}
	keep, forwarding := true, false
	for _, f := range rules {
		if f.State != store.ForwardActive {
			continue
		}
		if !forwarding {
			keep, forwarding = false, true
		}
		keep = keep || f.KeepCopy
	}
	if keep {
		r.res.Accounts = append(r.res.Accounts, acc.Address)
	}
	if !forwarding {
		return nil
	}
	if depth >= MaxAliasDepth {
		return fmt.Errorf("%w: more than %d levels at %s", errTooDeep, MaxAliasDepth, acc.Address)
	}
	before := len(r.res.External)
	for _, f := range rules {
		if f.State != store.ForwardActive {
			continue
		}
		t, err := ParseAddress(f.Target)
		if err != nil {
			return fmt.Errorf("forwarding of %s: bad stored target: %v", acc.Address, err)
		}
		if _, err := r.expand(ctx, t, depth+1); err != nil {
			return err
		}
	}
	for _, t := range r.res.External[before:] {
		if r.res.ForwardedBy == nil {
			r.res.ForwardedBy = make(map[string]string)
		}
		if _, ok := r.res.ForwardedBy[t]; !ok {
			r.res.ForwardedBy[t] = acc.Address
		}
	}
	return nil
}

func (s *Service) newResolver() *resolver {
	return &resolver{s: s, hosted: make(map[string]bool), seen: make(map[string]bool)}
}

func (r *resolver) isHosted(ctx context.Context, d string) (bool, error) {
	if h, ok := r.hosted[d]; ok {
		return h, nil
	}
	_, err := r.s.Store.GetDomain(ctx, d)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	r.hosted[d] = err == nil
	return err == nil, nil
}

// expand adds the destinations of a, reached through depth aliases, to
// r.res. It reports whether a leads anywhere (an account, an alias, a
// catch-all, an outside address); an address seen before counts as found,
// its destinations being already in r.res.
func (r *resolver) expand(ctx context.Context, a Address, depth int) (bool, error) {
	key := a.String()
	if r.seen[key] {
		return true, nil
	}
	r.seen[key] = true
	if len(r.seen) > maxResolved {
		return false, fmt.Errorf("aliases reach more than %d addresses", maxResolved)
	}
	hosted, err := r.isHosted(ctx, a.Domain)
	if err != nil {
		return false, err
	}
	if !hosted {
		r.res.External = append(r.res.External, key)
		return true, nil
	}
	if !a.IsCatchAll() {
		acc, err := r.s.Store.GetAccount(ctx, key)
		if err == nil {
			return true, r.expandAccount(ctx, acc, depth)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	al, err := r.s.Store.GetAlias(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		if a.IsCatchAll() {
			return false, nil
		}
		// The catch-all stands in for the address: same depth.
		return r.expand(ctx, Address{Domain: a.Domain}, depth)
	}
	if err != nil {
		return false, err
	}
	if depth >= MaxAliasDepth {
		return false, fmt.Errorf("%w: more than %d levels at %s", errTooDeep, MaxAliasDepth, key)
	}
	for _, t := range al.Targets {
		ta, err := ParseAddress(t)
		if err != nil {
			// Stored data, not the caller's input: do not wrap ErrInvalid.
			return false, fmt.Errorf("alias %s: bad stored target: %v", key, err)
		}
		if _, err := r.expand(ctx, ta, depth+1); err != nil {
			return false, err
		}
	}
	return true, nil
}

// checkTarget checks a target of a new alias: if it is in a hosted domain,
// it must be an account or an alias whose chain is not too deep.
func (r *resolver) checkTarget(ctx context.Context, t Address) error {
	hosted, err := r.isHosted(ctx, t.Domain)
	if err != nil || !hosted {
		return err
	}
	key := t.String()
	_, err = r.s.Store.GetAccount(ctx, key)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err = r.s.Store.GetAlias(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no such account or alias: %w", store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	// The new alias is at depth 0, its targets at depth 1.
	clear(r.seen)
	_, err = r.expand(ctx, t, 1)
	return err
}
