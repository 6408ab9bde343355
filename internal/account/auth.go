package account

import (
	"context"
	"errors"
	"fmt"

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
func (s *Service) Authenticate(ctx context.Context, address, password string) (store.Account, error) {
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
