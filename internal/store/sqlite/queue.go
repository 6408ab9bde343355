package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// Enqueue writes the body durably and queues it, due now, in a group
// commit as Deliver does.
func (s *Store) Enqueue(ctx context.Context, body io.Reader, item store.NewQueueItem) (store.QueueItem, error) {
	if err := store.CheckQueueItem(item); err != nil {
		return store.QueueItem{}, fmt.Errorf("sqlite: enqueue: %w", err)
	}
	it := store.QueueItem{
		From:       item.From,
		Recipients: store.QueueRecipients(item),
		State:      store.QueueReady,
		RequireTLS: item.RequireTLS,
		SMTPUTF8:   item.SMTPUTF8,
		BodyType:   item.BodyType,
		EnvID:      item.EnvID,
		Ret:        item.Ret,
		Submitter:  item.Submitter,
	}
	if item.Held {
		it.State = store.QueueHeld
	}
	rj, err := json.Marshal(it.Recipients)
	if err != nil {
		return store.QueueItem{}, err
	}
	if it.BlobID, it.Size, err = s.blobs.Put(ctx, body); err != nil {
		return store.QueueItem{}, err
	}
	now := fromMicros(time.Now().UnixMicro())
	it.NextAttempt, it.Created = now, now
	err = s.commitGrouped(ctx, &grouped{apply: func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.stmts.insertBlob).ExecContext(ctx, it.BlobID, it.Size, nil); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO queue(sender, recipients, blob_id, size, state, next_attempt, created,
				require_tls, smtputf8, body_type, envid, ret, submitter)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			it.From, string(rj), it.BlobID, it.Size, string(it.State), micros(now), micros(now),
			boolInt(it.RequireTLS), boolInt(it.SMTPUTF8), it.BodyType, it.EnvID, it.Ret, it.Submitter).Scan(&it.ID)
	}})
	if err != nil {
		s.removeUnlessCommitted(it.BlobID, err)
		return store.QueueItem{}, wrap("enqueue", err)
	}
	return it, nil
}

const queueCols = "id, sender, recipients, blob_id, size, state, attempts, next_attempt, last_attempt, created, claimed_by, claim_until, claim_token, " +
	"require_tls, smtputf8, body_type, envid, ret, submitter, delay_warned"

func scanQueueItem(sc interface{ Scan(...any) error }) (store.QueueItem, error) {
	var it store.QueueItem
	var rcpts, state string
	var next, last, created, until int64
	err := sc.Scan(&it.ID, &it.From, &rcpts, &it.BlobID, &it.Size, &state, &it.Attempts,
		&next, &last, &created, &it.ClaimedBy, &until, &it.ClaimToken,
		&it.RequireTLS, &it.SMTPUTF8, &it.BodyType, &it.EnvID, &it.Ret, &it.Submitter, &it.DelayWarned)
	if err != nil {
		return it, err
	}
	it.State = store.QueueState(state)
	it.NextAttempt, it.LastAttempt = fromMicros(next), fromMicros(last)
	it.Created, it.ClaimUntil = fromMicros(created), fromMicros(until)
	return it, json.Unmarshal([]byte(rcpts), &it.Recipients)
}

func queryQueue(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]store.QueueItem, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []store.QueueItem
	for rows.Next() {
		it, err := scanQueueItem(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// GetQueueItem returns a queued item.
func (s *Store) GetQueueItem(ctx context.Context, id int64) (store.QueueItem, error) {
	it, err := scanQueueItem(s.r.QueryRowContext(ctx, "SELECT "+queueCols+" FROM queue WHERE id = ?", id))
	return it, wrap(fmt.Sprintf("queue item %d", id), err)
}

// ListQueue returns the whole queue in ID order.
func (s *Store) ListQueue(ctx context.Context) ([]store.QueueItem, error) {
	items, err := queryQueue(ctx, s.r, "SELECT "+queueCols+" FROM queue ORDER BY id")
	return items, wrap("list queue", err)
}

// ClaimDue claims ready items due at now, and items whose claim expired,
// oldest due first. Each claim counts as an attempt. The items claimed
// together share one new token: a token names one claim, and no other
// claim can have it.
func (s *Store) ClaimDue(ctx context.Context, worker string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	if limit <= 0 {
		return nil, nil
	}
	token := rand.Text()
	var items []store.QueueItem
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var err error
		items, err = queryQueue(ctx, tx, `UPDATE queue SET state = ?1, claimed_by = ?2, claim_until = ?3,
				attempts = attempts + 1, last_attempt = ?4, claim_token = ?7
			WHERE id IN (SELECT id FROM queue
				WHERE (state = ?5 AND next_attempt <= ?4) OR (state = ?1 AND claim_until <= ?4)
				ORDER BY next_attempt, id LIMIT ?6)
			RETURNING `+queueCols,
			string(store.QueueDelivery), worker, micros(now.Add(lease)), micros(now), string(store.QueueReady), limit, token)
		return err
	})
	if err != nil {
		return nil, wrap("claim", err)
	}
	// RETURNING gives no order.
	store.SortQueue(items)
	return items, nil
}

// notHeld is the error for an item not held under the token presented: it
// was claimed again, finished or dropped.
func notHeld(id int64) error {
	return fmt.Errorf("queue item %d is not held under this claim: %w", id, store.ErrNotFound)
}

// ExtendClaim moves the expiry of the claim held under token to until.
func (s *Store) ExtendClaim(ctx context.Context, id int64, token string, until time.Time) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE queue SET claim_until = ?
			WHERE id = ? AND state = ? AND claim_token = ? AND claim_token <> ''`,
			micros(until), id, string(store.QueueDelivery), token)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notHeld(id)
		}
		return nil
	})
	return wrap(fmt.Sprintf("extend claim on queue item %d", id), err)
}

// FinishAttempt records an attempt's outcome; the item is removed when every
// recipient is done, else it is ready again at u.NextAttempt.
func (s *Store) FinishAttempt(ctx context.Context, u store.QueueUpdate) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var rcpts, state, token string
		err := tx.QueryRowContext(ctx, "SELECT recipients, state, claim_token FROM queue WHERE id = ?", u.ID).Scan(&rcpts, &state, &token)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (state != string(store.QueueDelivery) || token == "" || token != u.ClaimToken) {
			return notHeld(u.ID)
		}
		if err != nil {
			return err
		}
		var stored []store.QueueRecipient
		if err := json.Unmarshal([]byte(rcpts), &stored); err != nil {
			return err
		}
		list, err := store.UpdateRecipients(stored, u.Recipients)
		if err != nil {
			return err
		}
		done := true
		for _, r := range list {
			done = done && r.Done
		}
		if done {
			_, err = tx.ExecContext(ctx, "DELETE FROM queue WHERE id = ?", u.ID)
			return err
		}
		rj, err := json.Marshal(list)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE queue SET recipients = ?, state = ?, next_attempt = ?,
				claimed_by = '', claim_until = 0, claim_token = '', delay_warned = delay_warned OR ?
			WHERE id = ?`, string(rj), string(store.QueueReady), micros(u.NextAttempt), boolInt(u.DelayWarned), u.ID)
		return err
	})
	return wrap(fmt.Sprintf("finish attempt on %d", u.ID), err)
}

// SetQueueState holds an item or releases it (ready, due now). An item
// being delivered cannot be held: its worker's outcome would be lost.
func (s *Store) SetQueueState(ctx context.Context, id int64, state store.QueueState) error {
	var q string
	switch state {
	case store.QueueHeld:
		q = "UPDATE queue SET state = 'held' WHERE id = ?1 AND state IN ('ready', 'held') RETURNING id"
	case store.QueueReady:
		q = "UPDATE queue SET state = 'ready', next_attempt = ?2 WHERE id = ?1 AND state IN ('ready', 'held') RETURNING id"
	default:
		return fmt.Errorf("sqlite: cannot set queue state %q", state)
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var got int64
		err := tx.QueryRowContext(ctx, q, id, micros(time.Now())).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			var cur string
			if tx.QueryRowContext(ctx, "SELECT state FROM queue WHERE id = ?", id).Scan(&cur) == nil {
				return fmt.Errorf("sqlite: queue item %d is %s", id, cur)
			}
		}
		return err
	})
	return wrap(fmt.Sprintf("set state of queue item %d", id), err)
}

// RetryNow makes an item due now; a held item stays held.
func (s *Store) RetryNow(ctx context.Context, id int64) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE queue SET next_attempt = ? WHERE id = ?", micros(time.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return wrap(fmt.Sprintf("retry queue item %d", id), err)
}

// DropQueueItem removes an item and, if nothing else uses it, its body.
func (s *Store) DropQueueItem(ctx context.Context, id int64) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM queue WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return wrap(fmt.Sprintf("drop queue item %d", id), err)
}
