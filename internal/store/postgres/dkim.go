package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// AddDKIMKeys adds keys to a domain in one transaction.
func (s *Store) AddDKIMKeys(ctx context.Context, domain string, keys []store.DKIMKey) error {
	for _, k := range keys {
		if err := store.CheckNewDKIMKey(k); err != nil {
			return err
		}
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, "SELECT id FROM domains WHERE name = $1", domain).Scan(&id); err != nil {
			return err
		}
		for _, k := range keys {
			_, err := tx.Exec(ctx, `INSERT INTO dkim_keys(domain_id, selector, algorithm, private_key, state, created)
				VALUES ($1, $2, $3, $4, $5, $6)`, id, k.Selector, k.Algorithm, k.PrivateKey, string(k.State), k.Created)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err, "add DKIM keys of "+domain, nil)
}

// ListDKIMKeys returns a domain's keys.
func (s *Store) ListDKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, "SELECT id FROM domains WHERE name = $1", domain).Scan(&id); err != nil {
		return nil, mapErr(err, "DKIM keys of "+domain, nil)
	}
	rows, err := s.pool.Query(ctx, `SELECT selector, algorithm, private_key, state, created, retire_at
		FROM dkim_keys WHERE domain_id = $1 ORDER BY created, selector`, id)
	if err != nil {
		return nil, mapErr(err, "DKIM keys of "+domain, nil)
	}
	defer rows.Close()
	var keys []store.DKIMKey
	for rows.Next() {
		var k store.DKIMKey
		var state string
		var retire *time.Time
		if err := rows.Scan(&k.Selector, &k.Algorithm, &k.PrivateKey, &state, &k.Created, &retire); err != nil {
			return nil, mapErr(err, "DKIM keys of "+domain, nil)
		}
		k.State, k.Created = store.DKIMKeyState(state), k.Created.UTC()
		if retire != nil {
			k.RetireAt = retire.UTC()
		}
		keys = append(keys, k)
	}
	return keys, mapErr(rows.Err(), "DKIM keys of "+domain, nil)
}

// ActivateDKIMKeys makes the pending keys active and the active ones
// retiring.
func (s *Store) ActivateDKIMKeys(ctx context.Context, domain string, retireAt time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, "SELECT id FROM domains WHERE name = $1 FOR UPDATE", domain).Scan(&id); err != nil {
			return err
		}
		var pending bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM dkim_keys WHERE domain_id = $1 AND state = 'pending')", id).Scan(&pending); err != nil {
			return err
		}
		if !pending {
			return fmt.Errorf("no pending key: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, "UPDATE dkim_keys SET state = 'retiring', retire_at = $1 WHERE domain_id = $2 AND state = 'active'",
			retireAt, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE dkim_keys SET state = 'active' WHERE domain_id = $1 AND state = 'pending'", id)
		return err
	})
	return mapErr(err, "activate DKIM keys of "+domain, nil)
}

// DeleteDKIMKeys removes the retiring keys whose time is up.
func (s *Store) DeleteDKIMKeys(ctx context.Context, domain string, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM dkim_keys WHERE state = 'retiring' AND retire_at < $1
		AND domain_id = (SELECT id FROM domains WHERE name = $2)`, now, domain)
	if err != nil {
		return 0, mapErr(err, "delete DKIM keys of "+domain, nil)
	}
	return int(tag.RowsAffected()), nil
}
