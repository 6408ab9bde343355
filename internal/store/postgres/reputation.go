package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// addReputation decays a row's counts from its last_seen to the new
// time, then adds; SET expressions read the row as it was.
const addReputation = `INSERT INTO reputation AS r (kind, name, ham, spam, phish, user_ham, user_spam, user_phish, first_seen, last_seen)
	VALUES ($1, $2, greatest(0, $3), greatest(0, $4), greatest(0, $5), greatest(0, $6), greatest(0, $7), greatest(0, $8), $9, $9)
	ON CONFLICT (kind, name) DO UPDATE SET
		ham = greatest(0, r.ham * power(0.5, greatest(0, extract(epoch FROM $9 - r.last_seen) * 1e6) / $10) + $3),
		spam = greatest(0, r.spam * power(0.5, greatest(0, extract(epoch FROM $9 - r.last_seen) * 1e6) / $10) + $4),
		phish = greatest(0, r.phish * power(0.5, greatest(0, extract(epoch FROM $9 - r.last_seen) * 1e6) / $10) + $5),
		user_ham = greatest(0, r.user_ham * power(0.5, greatest(0, extract(epoch FROM $9 - r.last_seen) * 1e6) / $10) + $6),
		user_spam = greatest(0, r.user_spam * power(0.5, greatest(0, extract(epoch FROM $9 - r.last_seen) * 1e6) / $10) + $7),
		user_phish = greatest(0, r.user_phish * power(0.5, greatest(0, extract(epoch FROM $9 - r.last_seen) * 1e6) / $10) + $8),
		first_seen = least(r.first_seen, $9),
		last_seen = greatest(r.last_seen, $9)`

// AddReputation applies the deltas in one transaction, in key order so
// that concurrent transactions lock rows in the same order.
func (s *Store) AddReputation(ctx context.Context, now time.Time, deltas []store.RepDelta) error {
	if err := store.CheckRepDeltas(deltas); err != nil {
		return fmt.Errorf("add reputation: %w", err)
	}
	if len(deltas) == 0 {
		return nil
	}
	sorted := slices.Clone(deltas)
	slices.SortStableFunc(sorted, func(a, b store.RepDelta) int {
		return cmp.Or(cmp.Compare(a.Key.Kind, b.Key.Kind), cmp.Compare(a.Key.Name, b.Key.Name))
	})
	t := dbTime(now)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, d := range sorted {
			b.Queue(addReputation, string(d.Key.Kind), d.Key.Name, d.Ham, d.Spam, d.Phish,
				d.UserHam, d.UserSpam, d.UserPhish, t, store.ReputationHalfLifeMicros)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return mapErr(err, "add reputation", nil)
}

// Reputations reads the keys asked for in one query.
func (s *Store) Reputations(ctx context.Context, now time.Time, keys []store.RepKey) (map[store.RepKey]store.RepEntry, error) {
	if err := store.CheckRepKeys(keys); err != nil {
		return nil, fmt.Errorf("read reputation: %w", err)
	}
	out := make(map[store.RepKey]store.RepEntry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	kinds, names := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		kinds[i], names[i] = string(k.Kind), k.Name
	}
	rows, err := s.pool.Query(ctx, `SELECT r.kind, r.name, ham, spam, phish, user_ham, user_spam, user_phish, first_seen, last_seen
		FROM reputation r JOIN unnest($1::text[], $2::text[]) AS q(kind, name) ON r.kind = q.kind AND r.name = q.name`,
		kinds, names)
	if err != nil {
		return nil, mapErr(err, "read reputation", nil)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.RepEntry, error) {
		var e store.RepEntry
		var kind string
		err := r.Scan(&kind, &e.Key.Name, &e.Ham, &e.Spam, &e.Phish, &e.UserHam, &e.UserSpam, &e.UserPhish, &e.FirstSeen, &e.LastSeen)
		e.Key.Kind = store.RepKind(kind)
		e.FirstSeen, e.LastSeen = e.FirstSeen.UTC(), e.LastSeen.UTC()
		e.RepCounts = e.RepCounts.Scale(store.RepDecay(e.LastSeen, now))
		return e, err
	})
	if err != nil {
		return nil, mapErr(err, "read reputation", nil)
	}
	for _, e := range entries {
		out[e.Key] = e
	}
	return out, nil
}

// PruneReputation removes the keys last seen before before.
func (s *Store) PruneReputation(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM reputation WHERE last_seen < $1", dbTime(before))
	if err != nil {
		return 0, mapErr(err, "prune reputation", nil)
	}
	return tag.RowsAffected(), nil
}

// Correspondents returns those of addresses among the account's
// correspondents.
func (s *Store) Correspondents(ctx context.Context, accountID int64, addresses []string) ([]store.Correspondent, error) {
	what := fmt.Sprintf("correspondents of account %d", accountID)
	if len(addresses) > store.MaxRepBatch {
		return nil, fmt.Errorf("%s: %d addresses: %w", what, len(addresses), store.ErrInvalid)
	}
	if len(addresses) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT address, last_seen, wrote FROM correspondents WHERE account_id = $1 AND address = ANY($2)",
		accountID, addresses)
	if err != nil {
		return nil, mapErr(err, what, nil)
	}
	out, err := pgx.CollectRows(rows, scanCorrespondent)
	return out, mapErr(err, what, nil)
}

// ListCorrespondents returns the correspondents the account wrote to,
// the most recently written first, at most limit of them. (Not part of
// store.Store: the spam filter asks for it when the store has it.)
func (s *Store) ListCorrespondents(ctx context.Context, accountID int64, limit int) ([]store.Correspondent, error) {
	what := fmt.Sprintf("correspondents of account %d", accountID)
	rows, err := s.pool.Query(ctx, "SELECT address, last_seen, wrote FROM correspondents WHERE account_id = $1 AND wrote IS NOT NULL ORDER BY wrote DESC LIMIT $2",
		accountID, max(limit, 0))
	if err != nil {
		return nil, mapErr(err, what, nil)
	}
	out, err := pgx.CollectRows(rows, scanCorrespondent)
	return out, mapErr(err, what, nil)
}

// scanCorrespondent reads a row of address, last_seen, wrote.
func scanCorrespondent(r pgx.CollectableRow) (store.Correspondent, error) {
	var c store.Correspondent
	var wrote *time.Time
	err := r.Scan(&c.Address, &c.LastSeen, &wrote)
	c.LastSeen, c.LastWrote = c.LastSeen.UTC(), optTime(wrote)
	return c, err
}
