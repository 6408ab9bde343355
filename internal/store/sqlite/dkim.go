package sqlite

import (
	"cmp"
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
	rows, err := s.r.QueryContext(ctx, `SELECT k.selector, k.algorithm, k.private_key, k.state, k.created, k.retire_at, k.published_since
		FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = ? ORDER BY k.created, k.selector`, domain)
	if err != nil {
		return nil, wrap("DKIM keys of "+domain, err)
	}
	defer rows.Close()
	var keys []store.DKIMKey
	for rows.Next() {
		var k store.DKIMKey
		var state string
		var created, retire, published int64
		if err := rows.Scan(&k.Selector, &k.Algorithm, &k.PrivateKey, &state, &created, &retire, &published); err != nil {
			return nil, wrap("DKIM keys of "+domain, err)
		}
		k.State, k.Created, k.RetireAt = store.DKIMKeyState(state), fromMicros(created), fromMicros(retire)
		k.PublishedSince = fromMicros(published)
		keys = append(keys, k)
	}
	return keys, wrap("DKIM keys of "+domain, rows.Err())
}

// ActivateDKIMKeys makes the pending keys active and the active ones
// retiring.
func (s *Store) ActivateDKIMKeys(ctx context.Context, domain string, retireAt time.Time) error {
	return wrap("activate DKIM keys of "+domain, s.activateDKIMKeys(ctx, domain, time.Time{}, retireAt))
}

// ActivatePublishedDKIMKeys activates the pending keys if every one was
// seen published by publishedBy.
func (s *Store) ActivatePublishedDKIMKeys(ctx context.Context, domain string, publishedBy, retireAt time.Time) error {
	if publishedBy.IsZero() {
		return fmt.Errorf("activate DKIM keys of %s: no publication time: %w", domain, store.ErrInvalid)
	}
	return wrap("activate published DKIM keys of "+domain, s.activateDKIMKeys(ctx, domain, publishedBy, retireAt))
}

// activateDKIMKeys swaps the keys; a non-zero publishedBy requires every
// pending key to have been seen published by then.
func (s *Store) activateDKIMKeys(ctx context.Context, domain string, publishedBy, retireAt time.Time) error {
	return s.write(ctx, false, func(tx *sql.Tx) error {
		var id int64
		var pending, unseen bool
		err := tx.QueryRowContext(ctx, `SELECT id,
				EXISTS(SELECT 1 FROM dkim_keys WHERE domain_id = domains.id AND state = 'pending'),
				EXISTS(SELECT 1 FROM dkim_keys WHERE domain_id = domains.id AND state = 'pending'
					AND (published_since = 0 OR published_since > ?))
			FROM domains WHERE name = ?`, micros(publishedBy), domain).Scan(&id, &pending, &unseen)
		if err != nil {
			return err
		}
		if !pending {
			return fmt.Errorf("no pending key: %w", store.ErrNotFound)
		}
		if unseen && !publishedBy.IsZero() {
			return fmt.Errorf("a pending key not seen published by %s: %w", publishedBy.UTC().Format(time.RFC3339), store.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE dkim_keys SET state = 'retiring', retire_at = ? WHERE domain_id = ? AND state = 'active'",
			micros(retireAt), id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE dkim_keys SET state = 'active' WHERE domain_id = ? AND state = 'pending'", id)
		return err
	})
}

// MarkDKIMKeyPublished sets or clears when a pending key was first seen
// published.
func (s *Store) MarkDKIMKeyPublished(ctx context.Context, domain, selector string, since time.Time) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE dkim_keys SET published_since = ? WHERE selector = ? AND state = 'pending'
			AND domain_id = (SELECT id FROM domains WHERE name = ?)`, micros(since), selector, domain)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, fmt.Errorf("no pending key %s: %w", selector, store.ErrNotFound))
		}
		return nil
	})
	return wrap("mark DKIM key of "+domain+" published", err)
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
