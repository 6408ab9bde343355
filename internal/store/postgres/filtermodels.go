package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// GetFilterModel returns the stored filter model of an account (0: the
// global one).
func (s *Store) GetFilterModel(ctx context.Context, accountID int64) ([]byte, time.Time, error) {
	var data []byte
	var updated time.Time
	err := s.pool.QueryRow(ctx, "SELECT data, updated FROM filter_models WHERE account_id = $1", accountID).Scan(&data, &updated)
	if err != nil {
		return nil, time.Time{}, mapErr(err, fmt.Sprintf("filter model of account %d", accountID), nil)
	}
	return data, updated.UTC(), nil
}

// PutFilterModel stores the filter model of an account (0: the global
// one), replacing the one before.
func (s *Store) PutFilterModel(ctx context.Context, accountID int64, data []byte) error {
	what := fmt.Sprintf("put filter model of account %d", accountID)
	if len(data) == 0 || len(data) > store.MaxFilterModel || accountID < 0 {
		return fmt.Errorf("%s: %w", what, store.ErrInvalid)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if accountID != 0 {
			var one int
			// FOR KEY SHARE: the account cannot go while its model is written.
			err := tx.QueryRow(ctx, "SELECT 1 FROM accounts WHERE id = $1 FOR KEY SHARE", accountID).Scan(&one)
			if err != nil {
				return mapErr(err, what, nil)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO filter_models (account_id, data, updated) VALUES ($1, $2, $3)
			ON CONFLICT (account_id) DO UPDATE SET data = excluded.data, updated = excluded.updated`,
			accountID, data, now())
		return mapErr(err, what, nil)
	})
}
