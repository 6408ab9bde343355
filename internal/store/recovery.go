package store

import "context"

// MaxRecoveryAddress bounds a recovery address, in bytes (RFC 5321
// section 4.5.3.1.3).
const MaxRecoveryAddress = 254

// Recovery keeps each account's recovery address: an address outside the
// account where its security alerts go too, so that the owner hears of a
// change even when a thief holds the mailbox. It goes with its account.
// The store does not parse the address (package account does); it only
// refuses one that is longer than MaxRecoveryAddress or not printable.
type Recovery interface {
	// SetRecoveryAddress sets the account's recovery address, or removes
	// it when address is "", and returns the one it replaced ("" for
	// none), in one transaction. It fails with ErrNotFound for an unknown
	// account and ErrInvalid for an address it cannot keep.
	SetRecoveryAddress(ctx context.Context, accountID int64, address string) (previous string, err error)
	// GetRecoveryAddress returns the account's recovery address, or
	// ErrNotFound when it has none (or the account is unknown).
	GetRecoveryAddress(ctx context.Context, accountID int64) (string, error)
}

// CheckRecoveryAddress checks what both backends require of a recovery
// address being set.
func CheckRecoveryAddress(address string) error {
	if len(address) > MaxRecoveryAddress || !printable(address) {
		return ErrInvalid
	}
	return nil
}
