package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// AddDKIMKeys adds keys to a domain in one transaction.
func (s *Store) AddDKIMKeys(ctx context.Context, domain string, keys []store.DKIMKey) error {
	for _, k := range keys {
		if err := store.CheckNewDKIMKey(k); err != nil {
			return err
		}
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, "SELECT id FROM domains WHERE name = ?", domain).Scan(&id); err != nil {
			return err
		}
		for _, k := range keys {
			_, err := tx.ExecContext(ctx, `INSERT INTO dkim_keys(domain_id, selector, algorithm, private_key, state, created)
				VALUES (?, ?, ?, ?, ?, ?)`, id, k.Selector, k.Algorithm, k.PrivateKey, string(k.State), micros(k.Created))
			if err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("add DKIM keys of "+domain, err)
}

// ListDKIMKeys returns a domain's keys.
func (s *Store) ListDKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	var exists bool
	if err := s.r.QueryRowContext(ctx, "SELECT EXISTS(SELECT 1 FROM domains WHERE name = ?)", domain).Scan(&exists); err != nil {
		return nil, wrap("DKIM keys of "+domain, err)
	}
	if !exists {
		return nil, fmt.Errorf("DKIM keys of %s: %w", domain, store.ErrNotFound)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT k.selector, k.algorithm, k.private_key, k.state, k.created, k.retire_at
		FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = ? ORDER BY k.created, k.selector`, domain)
	if err != nil {
		return nil, wrap("DKIM keys of "+domain, err)
	}
	defer rows.Close()
	var keys []store.DKIMKey
	for rows.Next() {
		var k store.DKIMKey
		var state string
		var created, retire int64
		if err := rows.Scan(&k.Selector, &k.Algorithm, &k.PrivateKey, &state, &created, &retire); err != nil {
			return nil, wrap("DKIM keys of "+domain, err)
		}
		k.State, k.Created, k.RetireAt = store.DKIMKeyState(state), fromMicros(created), fromMicros(retire)
		keys = append(keys, k)
	}
	return keys, wrap("DKIM keys of "+domain, rows.Err())
}

// ActivateDKIMKeys makes the pending keys active and the active ones
// retiring.
func (s *Store) ActivateDKIMKeys(ctx context.Context, domain string, retireAt time.Time) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var id int64
		var pending bool
		err := tx.QueryRowContext(ctx, `SELECT id, EXISTS(SELECT 1 FROM dkim_keys WHERE domain_id = domains.id AND state = 'pending')
			FROM domains WHERE name = ?`, domain).Scan(&id, &pending)
		if err != nil {
			return err
		}
		if !pending {
			return fmt.Errorf("no pending key: %w", store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE dkim_keys SET state = 'retiring', retire_at = ? WHERE domain_id = ? AND state = 'active'",
			micros(retireAt), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE dkim_keys SET state = 'active' WHERE domain_id = ? AND state = 'pending'", id)
		return err
	})
	return wrap("activate DKIM keys of "+domain, err)
}

// DeleteDKIMKeys removes the retiring keys whose time is up.
func (s *Store) DeleteDKIMKeys(ctx context.Context, domain string, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dkim_keys WHERE state = 'retiring' AND retire_at < ?
			AND domain_id = (SELECT id FROM domains WHERE name = ?)`, micros(now), domain)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap("delete DKIM keys of "+domain, err)
}
