package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

const forwardCols = "id, account_id, target, keep_copy, state, token_hash, token_expires, created, confirmed, reminders, last_reminder"

func scanForwardRule(sc interface{ Scan(...any) error }) (store.ForwardRule, error) {
	var r store.ForwardRule
	var state string
	var expires, confirmed, reminded *time.Time
	if err := sc.Scan(&r.ID, &r.AccountID, &r.Target, &r.KeepCopy, &state, &r.TokenHash, &expires,
		&r.Created, &confirmed, &r.Reminders, &reminded); err != nil {
		return store.ForwardRule{}, err
	}
	r.State = store.ForwardState(state)
	r.Created = r.Created.UTC()
	r.TokenExpires, r.Confirmed, r.LastReminder = optTime(expires), optTime(confirmed), optTime(reminded)
	return r, nil
}

// nullTime maps the zero time to SQL NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	d := dbTime(t)
	return &d
}

// AddForwardRule stores a new forwarding rule.
func (s *Store) AddForwardRule(ctx context.Context, r store.ForwardRule) (store.ForwardRule, error) {
	what := fmt.Sprintf("add forwarding rule of account %d", r.AccountID)
	if err := store.CheckForwardRule(r); err != nil {
		return store.ForwardRule{}, fmt.Errorf("%s: %w", what, err)
	}
	r.Reminders, r.LastReminder = 0, time.Time{}
	r.Created, r.TokenExpires, r.Confirmed = dbTime(r.Created), optTime(nullTime(r.TokenExpires)), optTime(nullTime(r.Confirmed))
	var hash []byte
	if len(r.TokenHash) > 0 {
		hash = r.TokenHash
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Locking the account row counts its rules against a concurrent
		// addition, and finds an unknown account.
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", r.AccountID).Scan(&one); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM forward_rules WHERE account_id = $1", r.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= store.MaxForwardRules {
			return store.ErrQuota
		}
		return tx.QueryRow(ctx, `INSERT INTO forward_rules (account_id, target, keep_copy, state, token_hash,
			token_expires, created, confirmed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			r.AccountID, r.Target, r.KeepCopy, string(r.State), hash, nullTime(r.TokenExpires),
			r.Created, nullTime(r.Confirmed)).Scan(&r.ID)
	})
	if err != nil {
		return store.ForwardRule{}, mapErr(err, what, store.ErrNotFound)
	}
	return r, nil
}

// ListForwardRules returns the account's forwarding rules.
func (s *Store) ListForwardRules(ctx context.Context, accountID int64) ([]store.ForwardRule, error) {
	return s.forwardRules(ctx, fmt.Sprintf("forwarding rules of account %d", accountID),
		"SELECT "+forwardCols+" FROM forward_rules WHERE account_id = $1 ORDER BY id", accountID)
}

// ActiveForwardRules returns every active forwarding rule.
func (s *Store) ActiveForwardRules(ctx context.Context) ([]store.ForwardRule, error) {
	return s.forwardRules(ctx, "active forwarding rules",
		"SELECT "+forwardCols+" FROM forward_rules WHERE state = $1 ORDER BY id", string(store.ForwardActive))
}

func (s *Store) forwardRules(ctx context.Context, what, query string, args ...any) ([]store.ForwardRule, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err, what, nil)
	}
	defer rows.Close()
	var rules []store.ForwardRule
	for rows.Next() {
		r, err := scanForwardRule(rows)
		if err != nil {
			return nil, mapErr(err, what, nil)
		}
		rules = append(rules, r)
	}
	return rules, mapErr(rows.Err(), what, nil)
}

// ConfirmForwardRule activates the pending rule with the token hash.
func (s *Store) ConfirmForwardRule(ctx context.Context, tokenHash []byte, now time.Time) (store.ForwardRule, error) {
	r, err := scanForwardRule(s.pool.QueryRow(ctx, `UPDATE forward_rules
		SET state = $1, token_hash = NULL, token_expires = NULL, confirmed = $2
		WHERE token_hash = $3 AND state = $4 AND token_expires > $2 RETURNING `+forwardCols,
		string(store.ForwardActive), dbTime(now), tokenHash, string(store.ForwardPending)))
	if err != nil {
		return store.ForwardRule{}, mapErr(err, "confirm forwarding rule", nil)
	}
	return r, nil
}

// DeleteForwardRule removes a forwarding rule of the account.
func (s *Store) DeleteForwardRule(ctx context.Context, accountID, id int64) (store.ForwardRule, error) {
	r, err := scanForwardRule(s.pool.QueryRow(ctx, "DELETE FROM forward_rules WHERE id = $1 AND account_id = $2 RETURNING "+forwardCols, id, accountID))
	if err != nil {
		return store.ForwardRule{}, mapErr(err, fmt.Sprintf("delete forwarding rule %d of account %d", id, accountID), nil)
	}
	return r, nil
}

// MarkForwardReminded records a reminder of an active rule, once.
func (s *Store) MarkForwardReminded(ctx context.Context, id int64, n int, at time.Time) error {
	tag, err := s.pool.Exec(ctx, "UPDATE forward_rules SET reminders = $1, last_reminder = $2 WHERE id = $3 AND state = $4 AND reminders = $5",
		n, dbTime(at), id, string(store.ForwardActive), n-1)
	what := fmt.Sprintf("reminder %d of forwarding rule %d", n, id)
	if err != nil {
		return mapErr(err, what, nil)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
