package postgres

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// recipientJSON is how a queue recipient is kept in the recipients column.
type recipientJSON struct {
	Address   string `json:"address"`
	Done      bool   `json:"done,omitempty"`
	Failed    bool   `json:"failed,omitempty"`
	LastError string `json:"last_error,omitempty"`
	Notify    string `json:"notify,omitempty"`
	ORCPT     string `json:"orcpt,omitempty"`
}

func encodeRecipients(rs []store.QueueRecipient) ([]byte, error) {
	out := make([]recipientJSON, len(rs))
	for i, r := range rs {
		out[i] = recipientJSON(r)
	}
	return json.Marshal(out)
}

func decodeRecipients(b []byte) ([]store.QueueRecipient, error) {
	var in []recipientJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("queue recipients: %w", err)
	}
	out := make([]store.QueueRecipient, len(in))
	for i, r := range in {
		out[i] = store.QueueRecipient(r)
	}
	return out, nil
}

const queueCols = "id, sender, recipients, blob_id, size, state, attempts, next_attempt, last_attempt, created, claimed_by, claim_until, claim_token, " +
	"require_tls, smtputf8, body_type, envid, ret, submitter, delay_warned"

func scanQueueItem(r pgx.Row) (store.QueueItem, error) {
	var q store.QueueItem
	var rcpts []byte
	var blob int64
	var state string
	var last, until *time.Time
	err := r.Scan(&q.ID, &q.From, &rcpts, &blob, &q.Size, &state, &q.Attempts, &q.NextAttempt, &last,
		&q.Created, &q.ClaimedBy, &until, &q.ClaimToken,
		&q.RequireTLS, &q.SMTPUTF8, &q.BodyType, &q.EnvID, &q.Ret, &q.Submitter, &q.DelayWarned)
	if err != nil {
		return store.QueueItem{}, err
	}
	q.BlobID, q.State = blobID(blob), store.QueueState(state)
	q.NextAttempt, q.Created = q.NextAttempt.UTC(), q.Created.UTC()
	q.LastAttempt, q.ClaimUntil = optTime(last), optTime(until)
	q.Recipients, err = decodeRecipients(rcpts)
	return q, err
}

func collectQueue(rows pgx.Rows, err error) ([]store.QueueItem, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.QueueItem, error) { return scanQueueItem(r) })
}

// Enqueue stores the body and the queue item in one transaction; the item
// is due at once.
func (s *Store) Enqueue(ctx context.Context, body io.Reader, item store.NewQueueItem) (store.QueueItem, error) {
	if err := store.CheckQueueItem(item); err != nil {
		return store.QueueItem{}, fmt.Errorf("postgres: enqueue: %w", err)
	}
	enc, err := encodeRecipients(store.QueueRecipients(item))
	if err != nil {
		return store.QueueItem{}, fmt.Errorf("postgres: enqueue: %w", err)
	}
	sp, err := s.spool(ctx, body)
	if err != nil {
		return store.QueueItem{}, fmt.Errorf("postgres: enqueue: %w", err)
	}
	var q store.QueueItem
	err = s.tx(ctx, func(tx pgx.Tx) error {
		t := now()
		blob, err := sp.insert(ctx, tx)
		if err != nil {
			return mapErr(err, "enqueue", nil)
		}
		q, err = scanQueueItem(tx.QueryRow(ctx, `INSERT INTO queue (sender, recipients, blob_id, size, state, next_attempt, created,
				require_tls, smtputf8, body_type, envid, ret, submitter)
			VALUES ($1, $2, $3, $4, $12, $5, $5, $6, $7, $8, $9, $10, $11) RETURNING `+queueCols,
			item.From, enc, blob, sp.size, t, item.RequireTLS, item.SMTPUTF8, item.BodyType, item.EnvID, item.Ret, item.Submitter,
			string(enqueueState(item))))
		return mapErr(err, "enqueue", nil)
	})
	if err != nil {
		s.discard(sp)
		return store.QueueItem{}, err
	}
	return q, nil
}

// enqueueState is the state a new item starts in.
func enqueueState(item store.NewQueueItem) store.QueueState {
	if item.Held {
		return store.QueueHeld
	}
	return store.QueueReady
}

// GetQueueItem returns a queue item by ID.
func (s *Store) GetQueueItem(ctx context.Context, id int64) (store.QueueItem, error) {
	q, err := scanQueueItem(s.pool.QueryRow(ctx, "SELECT "+queueCols+" FROM queue WHERE id = $1", id))
	if err != nil {
		return store.QueueItem{}, mapErr(err, fmt.Sprintf("queue item %d", id), nil)
	}
	return q, nil
}

// ListQueue lists the queue in ID (arrival) order.
func (s *Store) ListQueue(ctx context.Context) ([]store.QueueItem, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+queueCols+" FROM queue ORDER BY id")
	qs, err := collectQueue(rows, err)
	if err != nil {
		return nil, mapErr(err, "list queue", nil)
	}
	return qs, nil
}

// ClaimDue claims up to limit items that are ready and due at now, or whose
// claim has expired, for worker until now+lease. Rows another transaction
// is claiming are skipped rather than waited for, so concurrent workers on
// any number of nodes get disjoint sets. Each claim counts as an attempt.
// The items claimed together share one new token: a token names one claim,
// and no other claim can have it.
func (s *Store) ClaimDue(ctx context.Context, worker string, now time.Time, lease time.Duration, limit int) ([]store.QueueItem, error) {
	if limit <= 0 {
		return nil, nil
	}
	token := rand.Text()
	now = dbTime(now)
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM queue
			WHERE (state = 'ready' AND next_attempt <= $1) OR (state = 'delivery' AND claim_until <= $1)
			ORDER BY next_attempt, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		UPDATE queue q SET state = 'delivery', claimed_by = $3, claim_until = $4,
			attempts = q.attempts + 1, last_attempt = $1, claim_token = $5
		FROM due WHERE q.id = due.id
		RETURNING `+prefixed("q.", queueCols),
		now, limit, worker, dbTime(now.Add(lease)), token)
	qs, err := collectQueue(rows, err)
	if err != nil {
		return nil, mapErr(err, "claim queue", nil)
	}
	store.SortQueue(qs)
	return qs, nil
}

// ExtendClaim moves the expiry of the claim held under token to until.
func (s *Store) ExtendClaim(ctx context.Context, id int64, token string, until time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE queue SET claim_until = $3
		WHERE id = $1 AND state = 'delivery' AND claim_token = $2 AND claim_token <> ''`, id, token, dbTime(until))
	if err != nil {
		return mapErr(err, fmt.Sprintf("extend claim on queue item %d", id), nil)
	}
	if tag.RowsAffected() == 0 {
		return notHeld(id)
	}
	return nil
}

// notHeld is the error for an item not held under the token presented: it
// was claimed again, finished or dropped.
func notHeld(id int64) error {
	return fmt.Errorf("queue item %d is not held under this claim: %w", id, store.ErrNotFound)
}

// FinishAttempt records an attempt made under the current claim; it fails
// with ErrNotFound if u.ClaimToken is not that claim's. When every
// recipient is done the item and, unless shared, its body go; otherwise the
// item is ready again at u.NextAttempt. Empty u.Recipients keeps the
// recipients as they were; otherwise it must match them (ErrInvalid), and
// their Notify and ORCPT stay as queued. DelayWarned, once set, stays.
func (s *Store) FinishAttempt(ctx context.Context, u store.QueueUpdate) error {
	what := fmt.Sprintf("finish attempt on queue item %d", u.ID)
	return s.tx(ctx, func(tx pgx.Tx) error {
		var state, token string
		var enc []byte
		err := tx.QueryRow(ctx, "SELECT state, claim_token, recipients FROM queue WHERE id = $1 FOR UPDATE", u.ID).
			Scan(&state, &token, &enc)
		if errors.Is(err, pgx.ErrNoRows) {
			return notHeld(u.ID)
		}
		if err != nil {
			return mapErr(err, what, nil)
		}
		if state != string(store.QueueDelivery) || token == "" || token != u.ClaimToken {
			return notHeld(u.ID)
		}
		stored, err := decodeRecipients(enc)
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		rs, err := store.UpdateRecipients(stored, u.Recipients)
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		done := true
		for _, r := range rs {
			done = done && r.Done
		}
		if done {
			_, err = tx.Exec(ctx, "DELETE FROM queue WHERE id = $1", u.ID)
			return mapErr(err, what, nil)
		}
		if enc, err = encodeRecipients(rs); err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		_, err = tx.Exec(ctx, `UPDATE queue SET recipients = $2, next_attempt = $3, state = 'ready',
				claimed_by = '', claim_until = NULL, claim_token = '', delay_warned = delay_warned OR $4
			WHERE id = $1`, u.ID, enc, dbTime(u.NextAttempt), u.DelayWarned)
		return mapErr(err, what, nil)
	})
}

// SetQueueState holds an item, or releases it (ready, due now). An item
// being delivered cannot be held: its worker's outcome would be lost.
func (s *Store) SetQueueState(ctx context.Context, id int64, state store.QueueState) error {
	what := fmt.Sprintf("set state of queue item %d", id)
	var q string
	switch state {
	case store.QueueHeld:
		q = "UPDATE queue SET state = 'held' WHERE id = $1 AND state IN ('ready', 'held')"
	case store.QueueReady:
		q = "UPDATE queue SET state = 'ready', next_attempt = $2 WHERE id = $1 AND state IN ('ready', 'held')"
	default:
		return fmt.Errorf("postgres: %s: cannot set %q", what, state)
	}
	args := []any{id}
	if state == store.QueueReady {
		args = append(args, now())
	}
	err := s.execOne(ctx, what, q, args...)
	if errors.Is(err, store.ErrNotFound) {
		var cur string
		if s.pool.QueryRow(ctx, "SELECT state FROM queue WHERE id = $1", id).Scan(&cur) == nil {
			return fmt.Errorf("postgres: %s: it is %s", what, cur)
		}
	}
	return err
}

// RetryNow makes an item due now.
func (s *Store) RetryNow(ctx context.Context, id int64) error {
	return s.execOne(ctx, fmt.Sprintf("retry queue item %d", id), "UPDATE queue SET next_attempt = $2 WHERE id = $1", id, now())
}

// DropQueueItem removes an item (and its body, unless shared).
func (s *Store) DropQueueItem(ctx context.Context, id int64) error {
	return s.execOne(ctx, fmt.Sprintf("drop queue item %d", id), "DELETE FROM queue WHERE id = $1", id)
}

// execOne runs a statement that must affect exactly one row.
func (s *Store) execOne(ctx context.Context, what, q string, args ...any) error {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return mapErr(err, what, nil)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
