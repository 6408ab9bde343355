package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// addReputation decays a row's counts from its last_seen to the new
// time, then adds; SET expressions read the row as it was.
const addReputation = `INSERT INTO reputation(kind, name, ham, spam, phish, user_ham, user_spam, user_phish, first_seen, last_seen)
	VALUES (?1, ?2, max(0, ?3), max(0, ?4), max(0, ?5), max(0, ?6), max(0, ?7), max(0, ?8), ?9, ?9)
	ON CONFLICT(kind, name) DO UPDATE SET
		ham = max(0, ham * pow(0.5, max(0, ?9 - last_seen) / ?10) + ?3),
		spam = max(0, spam * pow(0.5, max(0, ?9 - last_seen) / ?10) + ?4),
		phish = max(0, phish * pow(0.5, max(0, ?9 - last_seen) / ?10) + ?5),
		user_ham = max(0, user_ham * pow(0.5, max(0, ?9 - last_seen) / ?10) + ?6),
		user_spam = max(0, user_spam * pow(0.5, max(0, ?9 - last_seen) / ?10) + ?7),
		user_phish = max(0, user_phish * pow(0.5, max(0, ?9 - last_seen) / ?10) + ?8),
		first_seen = min(first_seen, ?9),
		last_seen = max(last_seen, ?9)`

// AddReputation applies the deltas in one transaction.
func (s *Store) AddReputation(ctx context.Context, now time.Time, deltas []store.RepDelta) error {
	if err := store.CheckRepDeltas(deltas); err != nil {
		return wrap("add reputation", err)
	}
	if len(deltas) == 0 {
		return nil
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, addReputation)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, d := range deltas {
			if _, err := stmt.ExecContext(ctx, string(d.Key.Kind), d.Key.Name, d.Ham, d.Spam, d.Phish,
				d.UserHam, d.UserSpam, d.UserPhish, now.UnixMicro(), store.ReputationHalfLifeMicros); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("add reputation", err)
}

// Reputations reads the keys asked for in one query.
func (s *Store) Reputations(ctx context.Context, now time.Time, keys []store.RepKey) (map[store.RepKey]store.RepEntry, error) {
	if err := store.CheckRepKeys(keys); err != nil {
		return nil, wrap("read reputation", err)
	}
	out := make(map[store.RepKey]store.RepEntry, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, string(k.Kind), k.Name)
	}
	q := `SELECT kind, name, ham, spam, phish, user_ham, user_spam, user_phish, first_seen, last_seen
		FROM reputation WHERE (kind, name) IN (VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?), ", len(keys)), ", ") + ")"
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("read reputation", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e store.RepEntry
		var kind string
		var first, last int64
		if err := rows.Scan(&kind, &e.Key.Name, &e.Ham, &e.Spam, &e.Phish, &e.UserHam, &e.UserSpam, &e.UserPhish, &first, &last); err != nil {
			return nil, wrap("read reputation", err)
		}
		e.Key.Kind = store.RepKind(kind)
		e.FirstSeen, e.LastSeen = fromMicros(first), fromMicros(last)
		e.RepCounts = e.RepCounts.Scale(store.RepDecay(e.LastSeen, now))
		out[e.Key] = e
	}
	return out, wrap("read reputation", rows.Err())
}

// PruneReputation removes the keys last seen before before.
func (s *Store) PruneReputation(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM reputation WHERE last_seen < ?", before.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, wrap("prune reputation", err)
}

// Correspondents returns those of addresses among the account's
// correspondents.
func (s *Store) Correspondents(ctx context.Context, accountID int64, addresses []string) ([]store.Correspondent, error) {
	what := fmt.Sprintf("correspondents of account %d", accountID)
	if len(addresses) > store.MaxRepBatch {
		return nil, wrap(what, fmt.Errorf("%d addresses: %w", len(addresses), store.ErrInvalid))
	}
	if len(addresses) == 0 {
		return nil, nil
	}
	args := []any{accountID}
	for _, a := range addresses {
		args = append(args, a)
	}
	q := "SELECT address, last_seen, wrote FROM correspondents WHERE account_id = ? AND address IN (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(addresses)), ", ") + ")"
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap(what, err)
	}
	out, err := scanCorrespondents(rows)
	return out, wrap(what, err)
}

// ListCorrespondents returns the correspondents the account wrote to,
// the most recently written first, at most limit of them. (Not part of
// store.Store: the spam filter asks for it when the store has it.)
func (s *Store) ListCorrespondents(ctx context.Context, accountID int64, limit int) ([]store.Correspondent, error) {
	what := fmt.Sprintf("correspondents of account %d", accountID)
	rows, err := s.r.QueryContext(ctx, "SELECT address, last_seen, wrote FROM correspondents WHERE account_id = ? AND wrote > 0 ORDER BY wrote DESC LIMIT ?",
		accountID, max(limit, 0))
	if err != nil {
		return nil, wrap(what, err)
	}
	out, err := scanCorrespondents(rows)
	return out, wrap(what, err)
}

// scanCorrespondents reads rows of address, last_seen, wrote, and closes
// them.
func scanCorrespondents(rows *sql.Rows) ([]store.Correspondent, error) {
	defer rows.Close()
	var out []store.Correspondent
	for rows.Next() {
		var c store.Correspondent
		var seen, wrote int64
		if err := rows.Scan(&c.Address, &seen, &wrote); err != nil {
			return nil, err
		}
		c.LastSeen, c.LastWrote = fromMicros(seen), fromMicros(wrote)
		out = append(out, c)
	}
	return out, rows.Err()
}
