package mailauth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDeadlineCtx checks deadlineCtx against what context.WithDeadline
// does: the deadline reported, Err by the clock before any timer, Done
// closing, cancellation of the parent and of derived contexts.
func TestDeadlineCtx(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		at := time.Now().Add(time.Hour)
		ctx, stop := withDeadline(context.Background(), at)
		defer stop()
		if d, ok := ctx.Deadline(); !ok || !d.Equal(at) {
			t.Errorf("Deadline() = %v, %v, want %v", d, ok, at)
		}
		early := time.Now().Add(time.Minute)
		parent, cancel := context.WithDeadline(context.Background(), early)
		defer cancel()
		ctx2, stop2 := withDeadline(parent, at)
		defer stop2()
		if d, _ := ctx2.Deadline(); !d.Equal(early) {
			t.Errorf("Deadline() = %v, want the parent's earlier %v", d, early)
		}
		if ctx.Err() != nil || ctx.started() != nil {
			t.Errorf("Err() = %v before the deadline, timer made: %v", ctx.Err(), ctx.started() != nil)
		}
	})
	t.Run("err without a timer", func(t *testing.T) {
		ctx, stop := withDeadline(context.Background(), time.Now().Add(-time.Second))
		defer stop()
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err() = %v past the deadline", err)
		}
		select {
		case <-ctx.Done():
		default:
			t.Error("Done not closed past the deadline")
		}
	})
	t.Run("done closes", func(t *testing.T) {
		ctx, stop := withDeadline(context.Background(), time.Now().Add(20*time.Millisecond))
		defer stop()
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("a context derived from it was not done after the deadline")
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(child.Err(), context.DeadlineExceeded) {
			t.Errorf("Err() = %v, child %v", ctx.Err(), child.Err())
		}
	})
	t.Run("parent canceled", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		ctx, stop := withDeadline(parent, time.Now().Add(time.Hour))
		defer stop()
		cancel()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err() = %v after the parent was canceled", ctx.Err())
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed after the parent was canceled")
		}
	})
	t.Run("stop", func(t *testing.T) {
		ctx, stop := withDeadline(context.Background(), time.Now().Add(time.Hour))
		done := ctx.Done()
		stop()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed by stop")
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err() = %v after stop", ctx.Err())
		}
	})
}
