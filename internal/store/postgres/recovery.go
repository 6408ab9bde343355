package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// SetRecoveryAddress sets or removes the account's recovery address.
func (s *Store) SetRecoveryAddress(ctx context.Context, accountID int64, address string) (string, error) {
	what := fmt.Sprintf("set recovery address of account %d", accountID)
	if err := store.CheckRecoveryAddress(address); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var previous string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		previous = ""
		// Locking the account row orders this against a concurrent change
		// of the same account, and finds an unknown account.
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", accountID).Scan(&one); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, "SELECT address FROM recovery_addresses WHERE account_id = $1", accountID).Scan(&previous)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if address == "" {
			_, err = tx.Exec(ctx, "DELETE FROM recovery_addresses WHERE account_id = $1", accountID)
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO recovery_addresses (account_id, address, updated) VALUES ($1, $2, $3)
			ON CONFLICT (account_id) DO UPDATE SET address = excluded.address, updated = excluded.updated`,
			accountID, address, dbTime(time.Now()))
		return err
	})
	if err != nil {
		return "", mapErr(err, what, store.ErrNotFound)
	}
	return previous, nil
}

// GetRecoveryAddress returns the account's recovery address.
func (s *Store) GetRecoveryAddress(ctx context.Context, accountID int64) (string, error) {
	var address string
	err := s.pool.QueryRow(ctx, "SELECT address FROM recovery_addresses WHERE account_id = $1", accountID).Scan(&address)
	if err != nil {
		return "", mapErr(err, fmt.Sprintf("recovery address of account %d", accountID), nil)
	}
	return address, nil
}
