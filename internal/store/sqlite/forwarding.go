package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

const forwardCols = "id, account_id, target, keep_copy, state, token_hash, token_expires, created, confirmed, reminders, last_reminder"

func scanForwardRule(sc interface{ Scan(...any) error }) (store.ForwardRule, error) {
	var r store.ForwardRule
	var state string
	var expires, created, confirmed, reminded int64
	if err := sc.Scan(&r.ID, &r.AccountID, &r.Target, &r.KeepCopy, &state, &r.TokenHash, &expires,
		&created, &confirmed, &r.Reminders, &reminded); err != nil {
		return store.ForwardRule{}, err
	}
	r.State = store.ForwardState(state)
	r.TokenExpires, r.Created, r.Confirmed, r.LastReminder = fromMicros(expires), fromMicros(created), fromMicros(confirmed), fromMicros(reminded)
	return r, nil
}

// AddForwardRule stores a new forwarding rule.
func (s *Store) AddForwardRule(ctx context.Context, r store.ForwardRule) (store.ForwardRule, error) {
	what := fmt.Sprintf("add forwarding rule of account %d", r.AccountID)
	if err := store.CheckForwardRule(r); err != nil {
		return store.ForwardRule{}, fmt.Errorf("%s: %w", what, err)
	}
	r.Reminders, r.LastReminder = 0, time.Time{}
	r.Created, r.TokenExpires, r.Confirmed = fromMicros(micros(r.Created)), fromMicros(micros(r.TokenExpires)), fromMicros(micros(r.Confirmed))
	var hash any
	if len(r.TokenHash) > 0 {
		hash = r.TokenHash
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, r.AccountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM forward_rules WHERE account_id = ?", r.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= store.MaxForwardRules {
			return store.ErrQuota
		}
		return tx.QueryRowContext(ctx, `INSERT INTO forward_rules(account_id, target, keep_copy, state, token_hash,
			token_expires, created, confirmed) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.AccountID, r.Target, r.KeepCopy, string(r.State), hash, micros(r.TokenExpires),
			micros(r.Created), micros(r.Confirmed)).Scan(&r.ID)
	})
	if err != nil {
		return store.ForwardRule{}, wrap(what, err)
	}
	return r, nil
}

// ListForwardRules returns the account's forwarding rules.
func (s *Store) ListForwardRules(ctx context.Context, accountID int64) ([]store.ForwardRule, error) {
	return s.forwardRules(ctx, fmt.Sprintf("forwarding rules of account %d", accountID),
		"SELECT "+forwardCols+" FROM forward_rules WHERE account_id = ? ORDER BY id", accountID)
}

// ActiveForwardRules returns every active forwarding rule.
func (s *Store) ActiveForwardRules(ctx context.Context) ([]store.ForwardRule, error) {
	return s.forwardRules(ctx, "active forwarding rules",
		"SELECT "+forwardCols+" FROM forward_rules WHERE state = ? ORDER BY id", string(store.ForwardActive))
}

func (s *Store) forwardRules(ctx context.Context, what, query string, args ...any) ([]store.ForwardRule, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(what, err)
	}
	defer rows.Close()
	var rules []store.ForwardRule
	for rows.Next() {
		r, err := scanForwardRule(rows)
		if err != nil {
			return nil, wrap(what, err)
		}
		rules = append(rules, r)
	}
	return rules, wrap(what, rows.Err())
}

// ConfirmForwardRule activates the pending rule with the token hash.
func (s *Store) ConfirmForwardRule(ctx context.Context, tokenHash []byte, now time.Time) (store.ForwardRule, error) {
	var r store.ForwardRule
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var err error
		r, err = scanForwardRule(tx.QueryRowContext(ctx, `UPDATE forward_rules
			SET state = ?, token_hash = NULL, token_expires = 0, confirmed = ?
			WHERE token_hash = ? AND state = ? AND token_expires > ? RETURNING `+forwardCols,
			string(store.ForwardActive), micros(now), tokenHash, string(store.ForwardPending), micros(now)))
		return err
	})
	if err != nil {
		return store.ForwardRule{}, wrap("confirm forwarding rule", err)
	}
	return r, nil
}

// DeleteForwardRule removes a forwarding rule of the account.
func (s *Store) DeleteForwardRule(ctx context.Context, accountID, id int64) (store.ForwardRule, error) {
	var r store.ForwardRule
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var err error
		r, err = scanForwardRule(tx.QueryRowContext(ctx, "DELETE FROM forward_rules WHERE id = ? AND account_id = ? RETURNING "+forwardCols, id, accountID))
		return err
	})
	if err != nil {
		return store.ForwardRule{}, wrap(fmt.Sprintf("delete forwarding rule %d of account %d", id, accountID), err)
	}
	return r, nil
}

// MarkForwardReminded records a reminder of an active rule, once.
func (s *Store) MarkForwardReminded(ctx context.Context, id int64, n int, at time.Time) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE forward_rules SET reminders = ?, last_reminder = ? WHERE id = ? AND state = ? AND reminders = ?",
			n, micros(at), id, string(store.ForwardActive), n-1)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return cmpErr(err, store.ErrNotFound)
		}
		return nil
	})
	return wrap(fmt.Sprintf("reminder %d of forwarding rule %d", n, id), err)
}

// cmpErr returns err, or otherwise when err is nil.
func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}
