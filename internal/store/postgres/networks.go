package postgres

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// AllowNetworks adds networks to an account's allow-list for protocol.
func (s *Store) AllowNetworks(ctx context.Context, accountID int64, protocol string, networks []netip.Prefix) error {
	networks, err := store.CheckAllowedNetworks(protocol, networks)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("allow networks for account %d", accountID)
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM accounts WHERE id = $1", accountID).Scan(&one); err != nil {
			return err
		}
		for _, n := range networks {
			if _, err := tx.Exec(ctx, `INSERT INTO allowed_networks (account_id, protocol, network)
				VALUES ($1, $2, $3::cidr) ON CONFLICT DO NOTHING`, accountID, protocol, n.String()); err != nil {
				return err
			}
		}
		var count int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM allowed_networks WHERE account_id = $1", accountID).Scan(&count); err != nil {
			return err
		}
		if count > store.MaxAllowedNetworks {
			return fmt.Errorf("%s: more than %d networks: %w", what, store.MaxAllowedNetworks, store.ErrInvalid)
		}
		return nil
	})
	return mapErr(err, what, store.ErrNotFound)
}

// AllowedNetworks returns an account's allow-list.
func (s *Store) AllowedNetworks(ctx context.Context, accountID int64) ([]store.AllowedNetwork, error) {
	what := fmt.Sprintf("allowed networks of account %d", accountID)
	rows, err := s.pool.Query(ctx, "SELECT protocol, network::text FROM allowed_networks WHERE account_id = $1", accountID)
	if err != nil {
		return nil, mapErr(err, what, nil)
	}
	defer rows.Close()
	list := []store.AllowedNetwork{}
	for rows.Next() {
		var n store.AllowedNetwork
		var text string
		if err := rows.Scan(&n.Protocol, &text); err != nil {
			return nil, mapErr(err, what, nil)
		}
		if n.Network, err = netip.ParsePrefix(text); err != nil {
			return nil, fmt.Errorf("postgres: %s: stored network %q: %w", what, text, err)
		}
		list = append(list, n)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, what, nil)
	}
	store.SortAllowedNetworks(list)
	return list, nil
}

// ClearAllowedNetworks empties an account's allow-list.
func (s *Store) ClearAllowedNetworks(ctx context.Context, accountID int64) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM allowed_networks WHERE account_id = $1", accountID)
	if err != nil {
		return 0, mapErr(err, fmt.Sprintf("clear allowed networks of account %d", accountID), nil)
	}
	return int(tag.RowsAffected()), nil
}
