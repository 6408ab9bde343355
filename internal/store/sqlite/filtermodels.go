package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// GetFilterModel returns the stored filter model of an account (0: the
// global one).
func (s *Store) GetFilterModel(ctx context.Context, accountID int64) ([]byte, time.Time, error) {
	var data []byte
	var updated int64
	err := s.r.QueryRowContext(ctx, "SELECT data, updated FROM filter_models WHERE account_id = ?", accountID).Scan(&data, &updated)
	if err != nil {
		return nil, time.Time{}, wrap(fmt.Sprintf("filter model of account %d", accountID), err)
	}
	return data, fromMicros(updated), nil
}

// PutFilterModel stores the filter model of an account (0: the global
// one), replacing the one before.
func (s *Store) PutFilterModel(ctx context.Context, accountID int64, data []byte) error {
	what := fmt.Sprintf("put filter model of account %d", accountID)
	if len(data) == 0 || len(data) > store.MaxFilterModel || accountID < 0 {
		return fmt.Errorf("%s: %w", what, store.ErrInvalid)
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if accountID != 0 {
			if err := accountExists(ctx, tx, accountID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO filter_models(account_id, data, updated) VALUES (?, ?, ?)
			ON CONFLICT(account_id) DO UPDATE SET data = excluded.data, updated = excluded.updated`,
			accountID, data, time.Now().UnixMicro())
		return err
	})
	return wrap(what, err)
}
