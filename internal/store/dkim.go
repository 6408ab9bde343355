package store

import "fmt"

// CheckNewDKIMKey reports, with an error wrapping ErrInvalid, a key that
// AddDKIMKeys must refuse.
func CheckNewDKIMKey(k DKIMKey) error {
	switch {
	case k.Selector == "" || len(k.PrivateKey) == 0:
		return fmt.Errorf("DKIM key %q: no selector or no key: %w", k.Selector, ErrInvalid)
	case k.Algorithm != "ed25519" && k.Algorithm != "rsa":
		return fmt.Errorf("DKIM key %q: algorithm %q: %w", k.Selector, k.Algorithm, ErrInvalid)
	case k.State != DKIMPending && k.State != DKIMActive:
		return fmt.Errorf("DKIM key %q: a new key in state %q: %w", k.Selector, k.State, ErrInvalid)
	}
	return nil
}
