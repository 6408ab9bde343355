package store

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
)

// AllowedNetwork is one entry of an account's allow-list of networks: a
// login on Protocol ("imap", "pop3", "smtp", "web"; "" for every
// protocol) is accepted only from an address inside one of the networks
// listed for it.
type AllowedNetwork struct {
	Protocol string
	Network  netip.Prefix // masked, without zone
}

// The protocols an allow-list entry may name; "" means all of them.
var AllowListProtocols = []string{"imap", "pop3", "smtp", "web"}

// MaxAllowedNetworks bounds an account's allow-list.
const MaxAllowedNetworks = 256

// NetworkAllowLists keeps the per-account allow-lists of networks ("limit
// IP access"). An account with no entry for a protocol, and none for
// every protocol, may log in from anywhere on it. Entries go with their
// account.
type NetworkAllowLists interface {
	// AllowNetworks adds networks to the account's list for protocol;
	// those already there are left as they are. Networks are stored
	// masked ("192.0.2.7/24" as "192.0.2.0/24"). ErrNotFound when there
	// is no such account, ErrInvalid for a protocol not in
	// AllowListProtocols, an invalid prefix, or a list that would pass
	// MaxAllowedNetworks.
	AllowNetworks(ctx context.Context, accountID int64, protocol string, networks []netip.Prefix) error
	// AllowedNetworks returns the account's list ordered by protocol,
	// then network; empty when there is none.
	AllowedNetworks(ctx context.Context, accountID int64) ([]AllowedNetwork, error)
	// ClearAllowedNetworks empties the account's list and returns how
	// many entries it had.
	ClearAllowedNetworks(ctx context.Context, accountID int64) (int, error)
}

// CheckAllowedNetworks checks the arguments of AllowNetworks and returns
// the networks masked and without zones.
func CheckAllowedNetworks(protocol string, networks []netip.Prefix) ([]netip.Prefix, error) {
	if protocol != "" && !slices.Contains(AllowListProtocols, protocol) {
		return nil, fmt.Errorf("allow-list: unknown protocol %q: %w", protocol, ErrInvalid)
	}
	out := make([]netip.Prefix, 0, len(networks))
	for _, n := range networks {
		if !n.IsValid() {
			return nil, fmt.Errorf("allow-list: invalid network: %w", ErrInvalid)
		}
		out = append(out, netip.PrefixFrom(n.Addr().WithZone(""), n.Bits()).Masked())
	}
	return out, nil
}

// SortAllowedNetworks orders a list as AllowedNetworks returns it.
func SortAllowedNetworks(list []AllowedNetwork) {
	slices.SortFunc(list, func(a, b AllowedNetwork) int {
		if c := cmp.Compare(a.Protocol, b.Protocol); c != 0 {
			return c
		}
		if c := a.Network.Addr().Compare(b.Network.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Network.Bits(), b.Network.Bits())
	})
}
