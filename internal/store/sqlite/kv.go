package sqlite

import (
	"context"
	"database/sql"
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
// live value is there, and reports whether it did.
func (s *Store) AddValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) (bool, error) {
	return s.storeValue(ctx, "add value", namespace, key, value, expires, true)
}

// storeValue is PutValue, and with overExpired AddValue: a value already
// there is replaced only when it has expired, and the result tells
// whether the value was stored.
func (s *Store) storeValue(ctx context.Context, op, namespace, key string, value []byte, expires time.Time, overExpired bool) (bool, error) {
	if err := store.CheckValue(namespace, key, value); err != nil {
		return false, wrap(op, err)
	}
	if expires.IsZero() {
		return false, wrap(op, fmt.Errorf("%w: zero expiry", store.ErrInvalid))
	}
	if value == nil {
		value = []byte{} // NOT NULL
	}
	query := `INSERT INTO kv(namespace, key, value, expires) VALUES (?, ?, ?, ?)
			ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`
	args := []any{namespace, key, value, expires.UnixMicro()}
	if overExpired {
		query += " WHERE kv.expires <= ?"
		args = append(args, time.Now().UnixMicro())
	}
	var stored bool
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		stored = n > 0
		return err
	})
	return stored, wrap(op, err)
}

// GetValue returns the live value under namespace and key.
func (s *Store) GetValue(ctx context.Context, namespace, key string) ([]byte, error) {
	if err := store.CheckValue(namespace, key, nil); err != nil {
		return nil, wrap("get value", err)
	}
	var v []byte
	err := s.r.QueryRowContext(ctx, "SELECT value FROM kv WHERE namespace = ? AND key = ? AND expires > ?",
		namespace, key, time.Now().UnixMicro()).Scan(&v)
	if err != nil {
		return nil, wrap("get value", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// DeleteValue removes the value under namespace and key, if any.
func (s *Store) DeleteValue(ctx context.Context, namespace, key string) error {
	if err := store.CheckValue(namespace, key, nil); err != nil {
		return wrap("delete value", err)
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM kv WHERE namespace = ? AND key = ?", namespace, key)
		return err
	})
	return wrap("delete value", err)
}

// PruneValues removes the values expired by now.
func (s *Store) PruneValues(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM kv WHERE expires <= ?", now.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, wrap("prune values", err)
}
