package account

import (
	"context"
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/store"
)

// SetRecoveryAddress is the owner's change of the account's recovery
// address, which takes a fresh step-up (see StepUp): "" removes it. The
// recovery address must be a valid address other than the account's own.
// It raises AlertRecoveryChanged, which goes to the new recovery address
// (through the Alerter) and to the one replaced (through Alert.AlsoTo), so
// that the owner hears of a thief's change at the address the owner set.
func (s *Service) SetRecoveryAddress(ctx context.Context, su StepUp, address, recovery string) error {
	acc, err := s.steppedUp(ctx, su, address)
	if err != nil {
		return fmt.Errorf("set recovery address: %w", err)
	}
	var normalized string
	if recovery != "" {
		r, err := ParseAddress(recovery)
		if err != nil {
			return fmt.Errorf("recovery address: %w", err)
		}
		if r.String() == acc.Address {
			return invalidf("recovery address %s: the account itself", r)
		}
		normalized = r.String()
	}
	previous, err := s.Store.SetRecoveryAddress(ctx, acc.ID, normalized)
	if err != nil {
		return fmt.Errorf("set recovery address of %s: %w", acc.Address, err)
	}
	if previous == normalized {
		return nil
	}
	a := Alert{AccountID: acc.ID, Kind: AlertRecoveryChanged}
	switch {
	case normalized == "":
		a.Detail = fmt.Sprintf("The recovery address %s was removed.", previous)
	case previous == "":
		a.Detail = fmt.Sprintf("The recovery address %s was added.", normalized)
	default:
		a.Detail = fmt.Sprintf("The recovery address was changed from %s to %s.", previous, normalized)
	}
	if previous != "" {
		a.AlsoTo = []string{previous}
	}
	s.alert(withOrigin(ctx, su), a)
	return nil
}

// RecoveryAddress returns the account's recovery address, "" for none.
func (s *Service) RecoveryAddress(ctx context.Context, address string) (string, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return "", err
	}
	r, err := s.Store.GetRecoveryAddress(ctx, acc.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("recovery address of %s: %w", acc.Address, err)
	}
	return r, nil
}
