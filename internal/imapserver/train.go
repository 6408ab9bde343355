package imapserver

import (
	"context"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// Trainer is told of messages a user copied or moved between mailboxes,
// so that the spam filter learns from it (into Junk: spam; out of it:
// not spam). Moved is called after the command succeeded, from a queue
// of the server's own: it may take its time, and what it does cannot
// fail or slow the command. messageIDs are the IDs of the copies in to
// (store.Message.ID); to is the mailbox as read before the copy, so that
// the copies' UIDs are at or above its UIDNext.
type Trainer interface {
	Moved(ctx context.Context, accountID int64, from, to store.Mailbox, messageIDs []int64)
}

// Bounds of the training queue.
const (
	trainQueueLen = 1000            // moves waiting; beyond, they are dropped
	trainTimeout  = 2 * time.Minute // for one Moved call
)

// trainJob is one COPY or MOVE to tell the Trainer of.
type trainJob struct {
	accountID int64
	from, to  store.Mailbox
	ids       []int64
}

// trainQueue hands moves to the Trainer from one goroutine, so that a
// slow Trainer never holds a session; when the queue is full, moves are
// dropped, counted and logged.
type trainQueue struct {
	trainer Trainer
	log     *slog.Logger
	jobs    chan trainJob
	start   sync.Once
	done    chan struct{} // closed by stop
	stopped sync.Once
	dropped atomic.Uint64
}

func newTrainQueue(t Trainer, log *slog.Logger) *trainQueue {
	if t == nil {
		return nil
	}
	return &trainQueue{trainer: t, log: log, jobs: make(chan trainJob, trainQueueLen), done: make(chan struct{})}
}

// add queues a move without waiting. A nil queue does nothing.
func (q *trainQueue) add(j trainJob) {
	if q == nil || len(j.ids) == 0 {
		return
	}
	q.start.Do(func() { go q.run() })
	select {
	case q.jobs <- j:
	default:
		n := q.dropped.Add(1)
		if bits.OnesCount64(n) == 1 { // 1, 2, 4, 8...: a flood does not flood the log
			q.log.Warn("training queue full, a move was not learnt from", "account", j.accountID, "dropped", n)
		}
	}
}

// run calls the Trainer until stop, then for the moves queued by then.
func (q *trainQueue) run() {
	for {
		select {
		case j := <-q.jobs:
			q.call(j)
		case <-q.done:
			for {
				select {
				case j := <-q.jobs:
					q.call(j)
				default:
					return
				}
			}
		}
	}
}

// stop ends the goroutine once the moves queued are handed over; moves
// added later are not. A nil queue does nothing.
func (q *trainQueue) stop() {
	if q != nil {
		q.stopped.Do(func() { close(q.done) })
	}
}

func (q *trainQueue) call(j trainJob) {
	ctx, cancel := context.WithTimeout(context.Background(), trainTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			q.log.Error("trainer panicked", "account", j.accountID, "panic", v)
		}
	}()
	q.trainer.Moved(ctx, j.accountID, j.from, j.to, j.ids)
}

// TrainingDropped is how many copies and moves the Trainer was not told
// of because its queue was full.
func (s *Server) TrainingDropped() uint64 {
	if s.train == nil {
		return 0
	}
	return s.train.dropped.Load()
}
