package postgres

import (
	"context"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// PutValue stores value under namespace and key until expires.
func (s *Store) PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error {
	_, err := s.storeValue(ctx, "put value", namespace, key, value, expires, false)
	return err
}

// AddValue stores value under namespace and key until expires when no
// live value is there, and reports whether it did. Two nodes adding at
// once: the second's ON CONFLICT waits for the first's row, then sees it
// live.
func (s *Store) AddValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) (bool, error) {
	return s.storeValue(ctx, "add value", namespace, key, value, expires, true)
}

// storeValue is PutValue, and with overExpired AddValue: a value already
// there is replaced only when it has expired, and the result tells
// whether the value was stored.
func (s *Store) storeValue(ctx context.Context, op, namespace, key string, value []byte, expires time.Time, overExpired bool) (bool, error) {
	if err := store.CheckValue(namespace, key, value); err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	if expires.IsZero() {
		return false, fmt.Errorf("%s: %w: zero expiry", op, store.ErrInvalid)
	}
	if value == nil {
		value = []byte{} // NOT NULL
	}
	query := `INSERT INTO kv (namespace, key, value, expires) VALUES ($1, $2, $3, $4)
		ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`
	args := []any{namespace, key, value, dbTime(expires)}
	if overExpired {
		query += " WHERE kv.expires <= $5"
		args = append(args, now())
	}
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return false, mapErr(err, op, nil)
	}
	return tag.RowsAffected() > 0, nil
}

// GetValue returns the live value under namespace and key.
func (s *Store) GetValue(ctx context.Context, namespace, key string) ([]byte, error) {
	if err := store.CheckValue(namespace, key, nil); err != nil {
		return nil, fmt.Errorf("get value: %w", err)
	}
	var v []byte
	err := s.pool.QueryRow(ctx, "SELECT value FROM kv WHERE namespace = $1 AND key = $2 AND expires > $3",
		namespace, key, now()).Scan(&v)
	if err != nil {
		return nil, mapErr(err, "get value", nil)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// DeleteValue removes the value under namespace and key, if any.
func (s *Store) DeleteValue(ctx context.Context, namespace, key string) error {
	if err := store.CheckValue(namespace, key, nil); err != nil {
		return fmt.Errorf("delete value: %w", err)
	}
	_, err := s.pool.Exec(ctx, "DELETE FROM kv WHERE namespace = $1 AND key = $2", namespace, key)
	return mapErr(err, "delete value", nil)
}

// PruneValues removes the values expired by at.
func (s *Store) PruneValues(ctx context.Context, at time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM kv WHERE expires <= $1", dbTime(at))
	if err != nil {
		return 0, mapErr(err, "prune values", nil)
	}
	return tag.RowsAffected(), nil
}
