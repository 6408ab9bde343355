package account

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"sealpost.dev/sealpost/internal/store"
)

// Authenticate checks a password and returns the account. An unknown user,
// a disabled account and a wrong password all give an error wrapping
// ErrAuthFailed, and all cost one password hash: for an unknown user the
// password is checked against a hash that matches nothing, so the time
// taken does not tell whether the account exists. (It can differ when the
// account's hash was made with other parameters than the Service's Hasher;
// NeedsRehash finds such hashes.) Other errors, such as a store failure,
// are returned as they are, for the caller to answer with a temporary
// failure.
//
// At most MaxConcurrentChecks checks run at once, each using the Hasher's
// memory; others wait for a turn or for ctx to end.
func (s *Service) Authenticate(ctx context.Context, address, password string) (store.Account, error) {
	release, err := s.acquireCheck(ctx)
	if err != nil {
		return store.Account{}, fmt.Errorf("authenticate: %w", err)
	}
	defer release()
	h := s.hasher()
	a, err := ParseAddress(address)
	if err != nil {
		h.burn(password)
		return store.Account{}, fmt.Errorf("%w: invalid address", ErrAuthFailed)
	}
	acc, err := s.Store.GetAccount(ctx, a.String())
	if errors.Is(err, store.ErrNotFound) {
		h.burn(password)
		return store.Account{}, fmt.Errorf("%w: no account %s", ErrAuthFailed, a)
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("authenticate %s: %w", a, err)
	}
	ok, err := h.Verify(acc.PasswordHash, password)
	switch {
	case err != nil:
		// A malformed stored hash answers no faster than a real check.
		h.burn(password)
		return store.Account{}, fmt.Errorf("%w: account %s: stored %v", ErrAuthFailed, a, err)
	case !ok:
		return store.Account{}, fmt.Errorf("%w: account %s: wrong password", ErrAuthFailed, a)
	case acc.Disabled:
		return store.Account{}, fmt.Errorf("%w: account %s is disabled", ErrAuthFailed, a)
	}
	return acc, nil
}

// burn verifies pw against a hash with h's parameters, an all-zero salt and
// an all-zero key, which no password matches: it costs what checking a real
// password costs.
func (h Hasher) burn(pw string) {
	_, _ = h.Verify(h.encode(make([]byte, saltLen), make([]byte, keyLen)), pw)
}

// acquireCheck waits for a turn to run a password check.
func (s *Service) acquireCheck(ctx context.Context) (release func(), err error) {
	s.semOnce.Do(func() {
		n := s.MaxConcurrentChecks
		if n <= 0 {
			n = 2 * runtime.GOMAXPROCS(0)
		}
		s.sem = make(chan struct{}, n)
	})
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
