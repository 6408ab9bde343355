package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// RecordSend records a submitted message and returns the account's
// counts. The account's outbound_accounts row is locked for the
// transaction, so that the nodes sharing the database count one account's
// messages one at a time.
func (s *Store) RecordSend(ctx context.Context, accountID int64, now time.Time, recipients []string, keep int) (store.SendCounts, error) {
	var c store.SendCounts
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c = store.SendCounts{}
		var since, released *time.Time
		var reason string
		if _, err := tx.Exec(ctx, "INSERT INTO outbound_accounts (account_id) VALUES ($1) ON CONFLICT DO NOTHING", accountID); err != nil {
			return mapErr(err, "record a send", store.ErrNotFound)
		}
		if err := tx.QueryRow(ctx, "SELECT held_since, reason, released FROM outbound_accounts WHERE account_id = $1 FOR UPDATE",
			accountID).Scan(&since, &reason, &released); err != nil {
			return err
		}
		if since != nil {
			c.Hold = store.OutboundHold{AccountID: accountID, Since: since.UTC(), Reason: reason}
			return nil
		}
		for _, r := range recipients {
			fresh, err := noteCorrespondent(ctx, tx, accountID, r, now, true)
			if err != nil {
				return err
			}
			if fresh {
				c.New++
			}
		}
		if err := trimCorrespondents(ctx, tx, accountID, keep); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM outbound_sends WHERE account_id = $1 AND time <= $2",
			accountID, now.Add(-store.SendHistory)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO outbound_sends (account_id, time, recipients, new) VALUES ($1, $2, $3, $4)",
			accountID, now, len(recipients), c.New); err != nil {
			return err
		}
		return countSends(ctx, tx, accountID, now, released, &c)
	})
	return c, mapErr(err, fmt.Sprintf("record a message sent by account %d", accountID), store.ErrNotFound)
}

// countSends fills the windows of c from the account's records after
// released, in one pass.
func countSends(ctx context.Context, tx pgx.Tx, accountID int64, now time.Time, released *time.Time, c *store.SendCounts) error {
	floor := now.Add(-store.SendHistory)
	if released != nil && released.After(floor) {
		floor = *released
	}
	return tx.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE time > $3), coalesce(sum(recipients) FILTER (WHERE time > $3), 0), coalesce(sum(new) FILTER (WHERE time > $3), 0),
			count(*) FILTER (WHERE time > $4), coalesce(sum(recipients) FILTER (WHERE time > $4), 0), coalesce(sum(new) FILTER (WHERE time > $4), 0),
			count(*) FILTER (WHERE time > $5), coalesce(sum(recipients) FILTER (WHERE time > $5), 0), coalesce(sum(new) FILTER (WHERE time > $5), 0),
			count(*), coalesce(sum(recipients), 0), coalesce(sum(new), 0)
		FROM outbound_sends WHERE account_id = $1 AND time > $2 AND time <= $6`,
		accountID, floor, later(now.Add(-time.Minute), floor), later(now.Add(-time.Hour), floor), later(now.Add(-24*time.Hour), floor), now).
		Scan(&c.Minute.Messages, &c.Minute.Recipients, &c.Minute.New,
			&c.Hour.Messages, &c.Hour.Recipients, &c.Hour.New,
			&c.Day.Messages, &c.Day.Recipients, &c.Day.New,
			&c.Week.Messages, &c.Week.Recipients, &c.Week.New)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// noteCorrespondent adds address to the account's correspondents, or
// renews it, and reports whether it was not there. wrote says the
// account wrote to it.
func noteCorrespondent(ctx context.Context, tx pgx.Tx, accountID int64, address string, now time.Time, wrote bool) (bool, error) {
	var inserted bool
	var w *time.Time
	if wrote {
		w = &now
	}
	err := tx.QueryRow(ctx, `INSERT INTO correspondents (account_id, address, last_seen, wrote) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, address) DO UPDATE SET last_seen = greatest(correspondents.last_seen, EXCLUDED.last_seen),
			wrote = greatest(correspondents.wrote, EXCLUDED.wrote)
		RETURNING xmax = 0`, accountID, address, now, w).Scan(&inserted)
	return inserted, err
}

// trimCorrespondents keeps the keep most recent correspondents, once the
// set has grown an eighth over keep.
func trimCorrespondents(ctx context.Context, tx pgx.Tx, accountID int64, keep int) error {
	keep = max(keep, 1)
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM correspondents WHERE account_id = $1", accountID).Scan(&n); err != nil {
		return err
	}
	if n <= keep+keep/8 {
		return nil
	}
	_, err := tx.Exec(ctx, `DELETE FROM correspondents WHERE account_id = $1 AND address IN (
		SELECT address FROM correspondents WHERE account_id = $1 ORDER BY last_seen DESC, address OFFSET $2)`,
		accountID, keep)
	return err
}

// AddCorrespondent notes that the account received mail from address.
func (s *Store) AddCorrespondent(ctx context.Context, accountID int64, address string, now time.Time, keep int) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := noteCorrespondent(ctx, tx, accountID, address, now, false); err != nil {
			return err
		}
		return trimCorrespondents(ctx, tx, accountID, keep)
	})
	return mapErr(err, fmt.Sprintf("add a correspondent of account %d", accountID), store.ErrNotFound)
}

// HoldOutbound flags the account and holds its ready items.
func (s *Store) HoldOutbound(ctx context.Context, accountID int64, reason string, since time.Time) (bool, error) {
	var fresh bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO outbound_accounts (account_id, held_since, reason) VALUES ($1, $2, $3)
			ON CONFLICT (account_id) DO UPDATE SET held_since = $2, reason = $3 WHERE outbound_accounts.held_since IS NULL`,
			accountID, since, reason)
		if err != nil {
			return err
		}
		fresh = tag.RowsAffected() > 0
		_, err = tx.Exec(ctx, "UPDATE queue SET state = 'held' WHERE submitter = $1 AND state = 'ready'", accountID)
		return err
	})
	return fresh, mapErr(err, fmt.Sprintf("hold the mail of account %d", accountID), store.ErrNotFound)
}

// ReleaseOutbound clears the flag and releases the account's held items.
func (s *Store) ReleaseOutbound(ctx context.Context, accountID int64, now time.Time) (int, error) {
	var released int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE outbound_accounts SET held_since = NULL, reason = '', released = $2
			WHERE account_id = $1 AND held_since IS NOT NULL`, accountID, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		tag, err = tx.Exec(ctx, "UPDATE queue SET state = 'ready', next_attempt = $2 WHERE submitter = $1 AND state = 'held'",
			accountID, now)
		released = tag.RowsAffected()
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("account %d is not held: %w", accountID, store.ErrNotFound)
	}
	return int(released), mapErr(err, fmt.Sprintf("release the mail of account %d", accountID), nil)
}

// ListOutboundHolds returns the held accounts.
func (s *Store) ListOutboundHolds(ctx context.Context) ([]store.OutboundHold, error) {
	rows, err := s.pool.Query(ctx, "SELECT account_id, held_since, reason FROM outbound_accounts WHERE held_since IS NOT NULL ORDER BY account_id")
	if err != nil {
		return nil, mapErr(err, "list held accounts", nil)
	}
	holds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.OutboundHold, error) {
		var h store.OutboundHold
		err := r.Scan(&h.AccountID, &h.Since, &h.Reason)
		h.Since = h.Since.UTC()
		return h, err
	})
	return holds, mapErr(err, "list held accounts", nil)
}
