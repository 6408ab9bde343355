package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// SetRecoveryAddress sets or removes the account's recovery address.
func (s *Store) SetRecoveryAddress(ctx context.Context, accountID int64, address string) (string, error) {
	what := fmt.Sprintf("set recovery address of account %d", accountID)
	if err := store.CheckRecoveryAddress(address); err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	var previous string
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, "SELECT address FROM recovery_addresses WHERE account_id = ?", accountID).Scan(&previous)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if address == "" {
			_, err = tx.ExecContext(ctx, "DELETE FROM recovery_addresses WHERE account_id = ?", accountID)
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO recovery_addresses(account_id, address, updated) VALUES (?, ?, ?)
			ON CONFLICT(account_id) DO UPDATE SET address = excluded.address, updated = excluded.updated`,
			accountID, address, micros(time.Now()))
		return err
	})
	if err != nil {
		return "", wrap(what, err)
	}
	return previous, nil
}

// GetRecoveryAddress returns the account's recovery address.
func (s *Store) GetRecoveryAddress(ctx context.Context, accountID int64) (string, error) {
	var address string
	err := s.r.QueryRowContext(ctx, "SELECT address FROM recovery_addresses WHERE account_id = ?", accountID).Scan(&address)
	if err != nil {
		return "", wrap(fmt.Sprintf("recovery address of account %d", accountID), err)
	}
	return address, nil
}
