package account

import (
	"context"
	"fmt"
	"net/netip"

	"sealpost.dev/sealpost/internal/store"
)

// reasonNetwork is the log's reason for refusing a login from outside the
// account's allow-list.
const reasonNetwork = "not allowed from this network"

// AllowNetworks adds networks to the allow-list of the account at address
// for protocol ("imap", "pop3", "smtp", "web"; "" for every protocol).
// Once an account has an entry for a protocol (or for every protocol),
// Login refuses its logins on that protocol from any address outside the
// networks listed for it.
func (s *Service) AllowNetworks(ctx context.Context, address, protocol string, networks []netip.Prefix) error {
	acc, err := s.account(ctx, address)
	if err != nil {
		return err
	}
	if err := s.Store.AllowNetworks(ctx, acc.ID, protocol, networks); err != nil {
		return fmt.Errorf("allow networks for %s: %w", acc.Address, err)
	}
	return nil
}

// AllowedNetworks returns the allow-list of the account at address.
func (s *Service) AllowedNetworks(ctx context.Context, address string) ([]store.AllowedNetwork, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.AllowedNetworks(ctx, acc.ID)
	if err != nil {
		return nil, fmt.Errorf("allowed networks of %s: %w", acc.Address, err)
	}
	return list, nil
}

// ClearAllowedNetworks empties the allow-list of the account at address,
// so it may log in from anywhere again, and returns how many entries went.
func (s *Service) ClearAllowedNetworks(ctx context.Context, address string) (int, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return 0, err
	}
	n, err := s.Store.ClearAllowedNetworks(ctx, acc.ID)
	if err != nil {
		return 0, fmt.Errorf("clear allowed networks of %s: %w", acc.Address, err)
	}
	return n, nil
}

// networkAllowed reports whether the account may log in on protocol from
// ip: yes when no entry of its allow-list applies to the protocol, else
// only from inside a network of an entry that does. An unknown ip is
// inside none. Account 0 (no account) reads an empty list, for the time a
// real account's read takes.
func (s *Service) networkAllowed(ctx context.Context, accountID int64, protocol string, ip netip.Addr) (bool, error) {
	list, err := s.Store.AllowedNetworks(ctx, accountID)
	if err != nil {
		return false, fmt.Errorf("login: %w", err)
	}
	ip = ip.Unmap().WithZone("")
	applies := false
	for _, n := range list {
		if n.Protocol != "" && n.Protocol != protocol {
			continue
		}
		applies = true
		if ip.IsValid() && n.Network.Contains(ip) {
			return true, nil
		}
	}
	return !applies, nil
}
