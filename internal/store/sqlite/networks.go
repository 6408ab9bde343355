package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"

	"sealpost.dev/sealpost/internal/store"
)

// AllowNetworks adds networks to an account's allow-list for protocol.
func (s *Store) AllowNetworks(ctx context.Context, accountID int64, protocol string, networks []netip.Prefix) error {
	networks, err := store.CheckAllowedNetworks(protocol, networks)
	if err != nil {
		return err
	}
	err = s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		for _, n := range networks {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO allowed_networks(account_id, protocol, network) VALUES (?, ?, ?)",
				accountID, protocol, n.String()); err != nil {
				return err
			}
		}
		var count int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM allowed_networks WHERE account_id = ?", accountID).Scan(&count); err != nil {
			return err
		}
		if count > store.MaxAllowedNetworks {
			return fmt.Errorf("more than %d networks: %w", store.MaxAllowedNetworks, store.ErrInvalid)
		}
		return nil
	})
	return wrap(fmt.Sprintf("allow networks for account %d", accountID), err)
}

// AllowedNetworks returns an account's allow-list.
func (s *Store) AllowedNetworks(ctx context.Context, accountID int64) ([]store.AllowedNetwork, error) {
	what := fmt.Sprintf("allowed networks of account %d", accountID)
	rows, err := s.r.QueryContext(ctx, "SELECT protocol, network FROM allowed_networks WHERE account_id = ?", accountID)
	if err != nil {
		return nil, wrap(what, err)
	}
	defer rows.Close()
	list := []store.AllowedNetwork{}
	for rows.Next() {
		var n store.AllowedNetwork
		var text string
		if err := rows.Scan(&n.Protocol, &text); err != nil {
			return nil, wrap(what, err)
		}
		if n.Network, err = netip.ParsePrefix(text); err != nil {
			return nil, fmt.Errorf("sqlite: %s: stored network %q: %w", what, text, err)
		}
		list = append(list, n)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(what, err)
	}
	store.SortAllowedNetworks(list)
	return list, nil
}

// ClearAllowedNetworks empties an account's allow-list.
func (s *Store) ClearAllowedNetworks(ctx context.Context, accountID int64) (int, error) {
	var n int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM allowed_networks WHERE account_id = ?", accountID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap(fmt.Sprintf("clear allowed networks of account %d", accountID), err)
}
