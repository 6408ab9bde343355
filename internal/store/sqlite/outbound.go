package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// RecordSend records a submitted message and returns the account's
// counts. The single writer serialises the calls.
func (s *Store) RecordSend(ctx context.Context, accountID int64, now time.Time, recipients []string, keep int) (store.SendCounts, error) {
	var c store.SendCounts
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		var since, released int64
		err := tx.QueryRowContext(ctx, "SELECT held_since, reason, released FROM outbound_accounts WHERE account_id = ?",
			accountID).Scan(&since, &c.Hold.Reason, &released)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if since != 0 {
			c.Hold.AccountID, c.Hold.Since = accountID, fromMicros(since)
			return nil
		}
		c.Hold.Reason = ""
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
		t := micros(now)
		if _, err := tx.ExecContext(ctx, "DELETE FROM outbound_sends WHERE account_id = ? AND time <= ?",
			accountID, micros(now.Add(-store.SendHistory))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO outbound_sends(account_id, time, recipients, new) VALUES (?, ?, ?, ?)",
			accountID, t, len(recipients), c.New); err != nil {
			return err
		}
		return countSends(ctx, tx, accountID, now, released, &c)
	})
	return c, wrap(fmt.Sprintf("record a message sent by account %d", accountID), err)
}

// countSends fills the windows of c from the account's records after
// released.
func countSends(ctx context.Context, tx *sql.Tx, accountID int64, now time.Time, released int64, c *store.SendCounts) error {
	start := func(d time.Duration) int64 { return max(micros(now.Add(-d)), released) }
	windows := []*store.SendWindow{&c.Minute, &c.Hour, &c.Day, &c.Week}
	spans := []time.Duration{time.Minute, time.Hour, 24 * time.Hour, store.SendHistory}
	q := `SELECT count(*), coalesce(sum(recipients), 0), coalesce(sum(new), 0)
		FROM outbound_sends WHERE account_id = ? AND time > ? AND time <= ?`
	for i, w := range windows {
		if err := tx.QueryRowContext(ctx, q, accountID, start(spans[i]), micros(now)).
			Scan(&w.Messages, &w.Recipients, &w.New); err != nil {
			return err
		}
	}
	return nil
}

// noteCorrespondent adds address to the account's correspondents, or
// renews it, and reports whether it was not there. wrote says the
// account wrote to it.
func noteCorrespondent(ctx context.Context, tx *sql.Tx, accountID int64, address string, now time.Time, wrote bool) (bool, error) {
	w := int64(0)
	if wrote {
		w = micros(now)
	}
	res, err := tx.ExecContext(ctx, "UPDATE correspondents SET last_seen = max(last_seen, ?1), wrote = max(wrote, ?2) WHERE account_id = ?3 AND address = ?4",
		micros(now), w, accountID, address)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return false, err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO correspondents(account_id, address, last_seen, wrote) VALUES (?, ?, ?, ?)",
		accountID, address, micros(now), w)
	return err == nil, err
}

// trimCorrespondents keeps the keep most recent correspondents. It lets
// the set grow an eighth over keep before trimming, so that the trim runs
// now and then rather than at every message.
func trimCorrespondents(ctx context.Context, tx *sql.Tx, accountID int64, keep int) error {
	keep = max(keep, 1)
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM correspondents WHERE account_id = ?", accountID).Scan(&n); err != nil {
		return err
	}
	if n <= keep+keep/8 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM correspondents WHERE account_id = ?1 AND address IN (
		SELECT address FROM correspondents WHERE account_id = ?1 ORDER BY last_seen DESC, address LIMIT -1 OFFSET ?2)`,
		accountID, keep)
	return err
}

// AddCorrespondent notes that the account received mail from address.
func (s *Store) AddCorrespondent(ctx context.Context, accountID int64, address string, now time.Time, keep int) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		if _, err := noteCorrespondent(ctx, tx, accountID, address, now, false); err != nil {
			return err
		}
		return trimCorrespondents(ctx, tx, accountID, keep)
	})
	return wrap(fmt.Sprintf("add a correspondent of account %d", accountID), err)
}

// HoldOutbound flags the account and holds its ready items.
func (s *Store) HoldOutbound(ctx context.Context, accountID int64, reason string, since time.Time) (bool, error) {
	var fresh bool
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO outbound_accounts(account_id, held_since, reason) VALUES (?1, ?2, ?3)
			ON CONFLICT (account_id) DO UPDATE SET held_since = ?2, reason = ?3 WHERE held_since = 0`,
			accountID, micros(since), reason)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		fresh = n > 0
		_, err = tx.ExecContext(ctx, "UPDATE queue SET state = 'held' WHERE submitter = ? AND state = 'ready'", accountID)
		return err
	})
	return fresh, wrap(fmt.Sprintf("hold the mail of account %d", accountID), err)
}

// ReleaseOutbound clears the flag and releases the account's held items.
func (s *Store) ReleaseOutbound(ctx context.Context, accountID int64, now time.Time) (int, error) {
	var released int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `UPDATE outbound_accounts SET held_since = 0, reason = '', released = ?
			WHERE account_id = ? AND held_since != 0 RETURNING 1`, micros(now), accountID).Scan(&one)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE queue SET state = 'ready', next_attempt = ? WHERE submitter = ? AND state = 'held'",
			micros(now), accountID)
		if err != nil {
			return err
		}
		released, err = res.RowsAffected()
		return err
	})
	return int(released), wrap(fmt.Sprintf("release the mail of account %d", accountID), err)
}

// ListOutboundHolds returns the held accounts.
func (s *Store) ListOutboundHolds(ctx context.Context) ([]store.OutboundHold, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT account_id, held_since, reason FROM outbound_accounts WHERE held_since != 0 ORDER BY account_id")
	if err != nil {
		return nil, wrap("list held accounts", err)
	}
	defer rows.Close()
	var out []store.OutboundHold
	for rows.Next() {
		var h store.OutboundHold
		var since int64
		if err := rows.Scan(&h.AccountID, &since, &h.Reason); err != nil {
			return nil, wrap("list held accounts", err)
		}
		h.Since = fromMicros(since)
		out = append(out, h)
	}
	return out, wrap("list held accounts", rows.Err())
}
