package mailauth

import (
	"context"
	"sync"
	"time"
)

// deadlineCtx is its parent with a deadline added, like
// context.WithDeadline, except that the timer behind Done is made only when
// something asks for Done: the first caller that needs to wait. The checks
// of a message ask DNS four or five times, and a warm cache answers each
// without waiting, only reading the deadline; context.WithTimeout made a
// timer and four allocations for every message all the same.
//
// Err tells a deadline that passed without a timer by the clock. Value,
// after Done was asked for, comes from the timed context, so that contexts
// derived from this one attach to its cancellation as they do to
// context.WithDeadline's.
type deadlineCtx struct {
	context.Context // the parent
	deadline        time.Time

	mu     sync.Mutex
	timed  context.Context // made by the first Done, or by Err once the deadline passed
	cancel context.CancelFunc
}

// withDeadline returns parent bounded by deadline, and the function that
// releases its timer if one was made; it must be called.
func withDeadline(parent context.Context, deadline time.Time) (*deadlineCtx, func()) {
	c := new(deadlineCtx)
	return c.init(parent, deadline), c.stop
}

// init makes c, a zero deadlineCtx, parent bounded by deadline, and
// returns it; c.stop must be called. (Made in place, c can be part of a
// larger allocation.)
func (c *deadlineCtx) init(parent context.Context, deadline time.Time) *deadlineCtx {
	c.Context, c.deadline = parent, deadline
	return c
}

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *deadlineCtx) Done() <-chan struct{} {
	return c.start().Done()
}

func (c *deadlineCtx) Err() error {
	if t := c.started(); t != nil {
		return t.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		// Past the deadline: the timed context is made already done.
		return c.start().Err()
	}
	return nil
}

func (c *deadlineCtx) Value(key any) any {
	if t := c.started(); t != nil {
		return t.Value(key)
	}
	return c.Context.Value(key)
}

// started returns the timed context, nil when none was made yet.
func (c *deadlineCtx) started() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timed
}

// start returns the timed context, made on the first call.
func (c *deadlineCtx) start() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed == nil {
		c.timed, c.cancel = context.WithDeadline(c.Context, c.deadline)
	}
	return c.timed
}

// stop releases the timer, if one was made, and cancels what waits on it.
func (c *deadlineCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}
