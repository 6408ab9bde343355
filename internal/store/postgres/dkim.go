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
	rows, err := s.pool.Query(ctx, `SELECT selector, algorithm, private_key, state, created, retire_at, published_since
		FROM dkim_keys WHERE domain_id = $1 ORDER BY created, selector`, id)
	if err != nil {
		return nil, mapErr(err, "DKIM keys of "+domain, nil)
	}
	defer rows.Close()
	var keys []store.DKIMKey
	for rows.Next() {
		var k store.DKIMKey
		var state string
		var retire, published *time.Time
		if err := rows.Scan(&k.Selector, &k.Algorithm, &k.PrivateKey, &state, &k.Created, &retire, &published); err != nil {
			return nil, mapErr(err, "DKIM keys of "+domain, nil)
		}
		k.State, k.Created = store.DKIMKeyState(state), k.Created.UTC()
		if retire != nil {
			k.RetireAt = retire.UTC()
		}
		if published != nil {
			k.PublishedSince = published.UTC()
		}
		keys = append(keys, k)
	}
	return keys, mapErr(rows.Err(), "DKIM keys of "+domain, nil)
}

// ActivateDKIMKeys makes the pending keys active and the active ones
// retiring.
func (s *Store) ActivateDKIMKeys(ctx context.Context, domain string, retireAt time.Time) error {
	return mapErr(s.activateDKIMKeys(ctx, domain, time.Time{}, retireAt), "activate DKIM keys of "+domain, nil)
}

// ActivatePublishedDKIMKeys activates the pending keys if every one was
// seen published by publishedBy.
func (s *Store) ActivatePublishedDKIMKeys(ctx context.Context, domain string, publishedBy, retireAt time.Time) error {
	if publishedBy.IsZero() {
		return fmt.Errorf("activate DKIM keys of %s: no publication time: %w", domain, store.ErrInvalid)
	}
	return mapErr(s.activateDKIMKeys(ctx, domain, publishedBy, retireAt), "activate published DKIM keys of "+domain, nil)
}

// activateDKIMKeys swaps the keys; a non-zero publishedBy requires every
// pending key to have been seen published by then.
func (s *Store) activateDKIMKeys(ctx context.Context, domain string, publishedBy, retireAt time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, "SELECT id FROM domains WHERE name = $1 FOR UPDATE", domain).Scan(&id); err != nil {
			return err
		}
		var pending, unseen bool
		err := tx.QueryRow(ctx, `SELECT EXISTS(SELECT 1 FROM dkim_keys WHERE domain_id = $1 AND state = 'pending'),
			EXISTS(SELECT 1 FROM dkim_keys WHERE domain_id = $1 AND state = 'pending'
				AND (published_since IS NULL OR published_since > $2))`, id, publishedBy).Scan(&pending, &unseen)
		if err != nil {
			return err
		}
		if !pending {
			return fmt.Errorf("no pending key: %w", store.ErrNotFound)
		}
		if unseen && !publishedBy.IsZero() {
			return fmt.Errorf("a pending key not seen published by %s: %w", publishedBy.UTC().Format(time.RFC3339), store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, "UPDATE dkim_keys SET state = 'retiring', retire_at = $1 WHERE domain_id = $2 AND state = 'active'",
			retireAt, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE dkim_keys SET state = 'active' WHERE domain_id = $1 AND state = 'pending'", id)
		return err
	})
}

// MarkDKIMKeyPublished sets or clears when a pending key was first seen
// published.
func (s *Store) MarkDKIMKeyPublished(ctx context.Context, domain, selector string, since time.Time) error {
	var at *time.Time
	if !since.IsZero() {
		at = &since
	}
	tag, err := s.pool.Exec(ctx, `UPDATE dkim_keys SET published_since = $1 WHERE selector = $2 AND state = 'pending'
		AND domain_id = (SELECT id FROM domains WHERE name = $3)`, at, selector, domain)
	if err != nil {
		return mapErr(err, "mark DKIM key of "+domain+" published", nil)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("mark DKIM key of %s published: no pending key %s: %w", domain, selector, store.ErrNotFound)
	}
	return nil
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
