package postgres

import (
	"context"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// PutValue stores value under namespace and key until expires.
func (s *Store) PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error {
	if err := store.CheckValue(namespace, key, value); err != nil {
		return fmt.Errorf("put value: %w", err)
	}
	if expires.IsZero() {
		return fmt.Errorf("put value: %w: zero expiry", store.ErrInvalid)
	}
	if value == nil {
		value = []byte{} // NOT NULL
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO kv (namespace, key, value, expires) VALUES ($1, $2, $3, $4)
		ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
		namespace, key, value, dbTime(expires))
	return mapErr(err, "put value", nil)
}

// AddValue stores value under namespace and key until expires when no
// live value is there, and reports whether it did. Two nodes adding at
// once: the second's ON CONFLICT waits for the first's row, then sees it
// live.
func (s *Store) AddValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) (bool, error) {
	if err := store.CheckValue(namespace, key, value); err != nil {
		return false, fmt.Errorf("add value: %w", err)
	}
	if expires.IsZero() {
		return false, fmt.Errorf("add value: %w: zero expiry", store.ErrInvalid)
	}
	if value == nil {
		value = []byte{} // NOT NULL
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO kv (namespace, key, value, expires) VALUES ($1, $2, $3, $4)
		ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires = excluded.expires
		WHERE kv.expires <= $5`,
		namespace, key, value, dbTime(expires), now())
	if err != nil {
		return false, mapErr(err, "add value", nil)
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
