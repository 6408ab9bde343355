package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
)

// maxBatch bounds how many writes one group commit takes, so that one
// transaction stays short while callers keep arriving.
const maxBatch = 64

// grouped is one write waiting for a group commit: the part of a Deliver or
// Enqueue that runs in the database once its body is durable.
type grouped struct {
	// apply makes the write's changes in the batch's transaction. An error
	// undoes its changes alone; the other writes of the batch go on.
	apply func(ctx context.Context, tx *sql.Tx) error
	// err is the write's outcome: nil means committed and durable.
	err error
	// batch, when set on wake-up, is a batch this caller must commit for
	// everyone in it, itself included.
	batch []*grouped
	wake  chan struct{}
}

// committer collects writes that arrive while a group commit runs. There
// is no goroutine of its own and no timer: the caller that finds no commit
// running commits its own write at once; callers arriving meanwhile queue
// up, and the caller that finishes a commit hands the queue, as the next
// batch, to the first of them, who commits it.
type committer struct {
	mu      sync.Mutex
	running bool
	pending []*grouped
}

// commitGrouped runs g.apply in a group commit and returns its outcome,
// which errCommit matches when the commit's result is unknown. If ctx is
// done before a batch takes g, g is dropped and ctx's error returned; once
// taken, g is committed regardless, so that a batch does not depend on the
// contexts of its members.
func (s *Store) commitGrouped(ctx context.Context, g *grouped) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	c := &s.group
	c.mu.Lock()
	if !c.running {
		c.running = true
		c.mu.Unlock()
		s.commitBatch(ctx, []*grouped{g})
		return g.err
	}
	g.wake = make(chan struct{}, 1)
	c.pending = append(c.pending, g)
	c.mu.Unlock()
	select {
	case <-g.wake:
	case <-ctx.Done():
		c.mu.Lock()
		if i := slices.Index(c.pending, g); i >= 0 {
			c.pending = slices.Delete(c.pending, i, i+1)
			c.mu.Unlock()
			return fmt.Errorf("sqlite: %w", ctx.Err())
		}
		c.mu.Unlock()
		<-g.wake
	}
	if g.batch != nil {
		s.commitBatch(ctx, g.batch)
	}
	return g.err
}

// commitBatch commits batch, whose first member is the caller, wakes the
// others with their outcomes, and passes on whatever queued up meanwhile.
func (s *Store) commitBatch(ctx context.Context, batch []*grouped) {
	s.applyBatch(context.WithoutCancel(ctx), batch)
	c := &s.group
	c.mu.Lock()
	next := c.pending[:min(len(c.pending), maxBatch)]
	c.pending = slices.Clone(c.pending[len(next):])
	c.running = len(next) > 0
	c.mu.Unlock()
	for _, g := range batch[1:] {
		g.wake <- struct{}{}
	}
	if len(next) > 0 {
		next[0].batch = next
		next[0].wake <- struct{}{}
	}
}

// applyBatch runs the writes of batch in one transaction and sets each
// one's err. Each write runs inside a savepoint, so that a write failing
// its own checks (quota, a missing mailbox) is undone alone; a lone write
// needs none. If the transaction as a whole fails, every write that had
// succeeded gets that error.
func (s *Store) applyBatch(ctx context.Context, batch []*grouped) {
	if len(batch) == 1 {
		batch[0].err = s.write(ctx, false, func(tx *sql.Tx) error { return batch[0].apply(ctx, tx) })
		return
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		for _, g := range batch {
			g.err = nil
			if _, err := tx.ExecContext(ctx, "SAVEPOINT deliver"); err != nil {
				return err
			}
			if g.err = g.apply(ctx, tx); g.err != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO deliver"); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE deliver"); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	for _, g := range batch {
		if g.err == nil {
			g.err = err
		}
	}
}
