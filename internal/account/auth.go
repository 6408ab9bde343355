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
// A successful check is remembered for LoginCacheTTL, as a keyed hash of
// address and password together with the account's stored hash: the same
// password for the same account, while the stored hash is unchanged and
// the account enabled, is then accepted without hashing it again. Only a
// right password can be answered sooner, so the time taken still tells an
// attacker nothing a failure does not. A changed password, or
// ForgetLogins, ends it at once.
//
// At most MaxConcurrentChecks checks run at once, each using the Hasher's
// memory; others wait for a turn or for ctx to end.
func (s *Service) Authenticate(ctx context.Context, address, password string) (store.Account, error) {
	h := s.hasher()
	a, err := ParseAddress(address)
	if err != nil {
		return store.Account{}, s.failSlowly(ctx, h, password, fmt.Errorf("%w: invalid address", ErrAuthFailed))
	}
	acc, err := s.Store.GetAccount(ctx, a.String())
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, s.failSlowly(ctx, h, password, fmt.Errorf("%w: no account %s", ErrAuthFailed, a))
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("authenticate %s: %w", a, err)
	}
	if err := s.verifyPassword(ctx, h, acc, password); err != nil {
		var fail *loginFailure
		if errors.As(err, &fail) {
			return store.Account{}, fmt.Errorf("%w: account %s: %s", ErrAuthFailed, a, fail.reason)
		}
		return store.Account{}, err
	}
	return acc, nil
}

// verifyPassword checks the main password of an account, through the
// login cache, and returns nil, a *loginFailure or another error.
func (s *Service) verifyPassword(ctx context.Context, h Hasher, acc store.Account, password string) error {
	cache := s.loginCache()
	if !acc.Disabled && cache.valid(acc.Address, password, acc.PasswordHash) {
		return nil
	}
	release, err := s.acquireCheck(ctx)
	if err != nil {
		return fmt.Errorf("authenticate: %w", err)
	}
	defer release()
	ok, err := h.Verify(acc.PasswordHash, password)
	switch {
	case err != nil:
		// A malformed stored hash answers no faster than a real check.
		h.burn(password)
		return &loginFailure{acc.ID, fmt.Sprintf("stored %v", err)}
	case !ok:
		return &loginFailure{acc.ID, "wrong password"}
	case acc.Disabled:
		return &loginFailure{acc.ID, "account is disabled"}
	}
	cache.remember(acc.Address, password, acc.PasswordHash)
	return nil
}

// ForgetLogins drops the remembered logins of an address, so that its next
// login checks the password in full. Changes that do not alter the stored
// password hash but must end cached logins (signing out, revoking a
// credential) call it; SetPassword and DeleteAccount do so themselves.
func (s *Service) ForgetLogins(address string) {
	s.loginCache().forget(address)
}

func (s *Service) loginCache() *loginCache {
	s.cacheOnce.Do(func() {
		ttl, size := s.LoginCacheTTL, s.LoginCacheSize
		if ttl == 0 {
			ttl = DefaultLoginCacheTTL
		}
		if size == 0 {
			size = DefaultLoginCacheSize
		}
		s.cache = newLoginCache(ttl, size)
	})
	return s.cache
}

// failSlowly returns err after the cost of one password check, so that a
// failure for an unknown or malformed address takes as long as one for a
// wrong password.
func (s *Service) failSlowly(ctx context.Context, h Hasher, password string, err error) error {
	release, aerr := s.acquireCheck(ctx)
	if aerr != nil {
		return fmt.Errorf("authenticate: %w", aerr)
	}
	defer release()
	h.burn(password)
	return err
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
