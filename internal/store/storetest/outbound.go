package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// testOutboundCounts covers the windows RecordSend counts, the new
// recipients, and that a record older than a window leaves it.
func testOutboundCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "sender@cred.test")
	t0 := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	_, err := s.RecordSend(ctx, 1<<40, t0, []string{"x@out.test"}, 10)
	wantErr(t, "unknown account", err, store.ErrNotFound)

	type want [4][3]int // minute, hour, day, week: messages, recipients, new
	steps := []struct {
		at    time.Duration
		rcpts []string
		new   int
		want  want
	}{
		{0, []string{"a@out.test", "b@out.test"}, 2, want{{1, 2, 2}, {1, 2, 2}, {1, 2, 2}, {1, 2, 2}}},
		{30 * time.Second, []string{"a@out.test"}, 0, want{{2, 3, 2}, {2, 3, 2}, {2, 3, 2}, {2, 3, 2}}},
		{2 * time.Minute, []string{"c@out.test"}, 1, want{{1, 1, 1}, {3, 4, 3}, {3, 4, 3}, {3, 4, 3}}},
		{2 * time.Hour, []string{"d@out.test", "a@out.test"}, 1, want{{1, 2, 1}, {1, 2, 1}, {4, 6, 4}, {4, 6, 4}}},
		{3 * 24 * time.Hour, nil, 0, want{{1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {5, 6, 4}}},
		{8 * 24 * time.Hour, []string{"b@out.test"}, 0, want{{1, 1, 0}, {1, 1, 0}, {1, 1, 0}, {2, 1, 0}}},
	}
	for i, st := range steps {
		c := must(s.RecordSend(ctx, a.ID, t0.Add(st.at), st.rcpts, 10)).get(t)
		var got want
		for j, w := range []store.SendWindow{c.Minute, c.Hour, c.Day, c.Week} {
			got[j] = [3]int{w.Messages, w.Recipients, w.New}
		}
		if got != st.want || c.New != st.new || !c.Hold.Since.IsZero() {
			t.Errorf("step %d: counts %+v new %d hold %+v, want %+v new %d", i, got, c.New, c.Hold, st.want, st.new)
		}
	}
	other := credAccount(t, s, "other@cred.test")
	c := must(s.RecordSend(ctx, other.ID, t0.Add(8*24*time.Hour), []string{"a@out.test"}, 10)).get(t)
	if c.Week.Messages != 1 || c.New != 1 {
		t.Errorf("another account's counts %+v: the accounts are counted together", c)
	}
}

// testCorrespondents covers the bounded set: received mail makes an
// address known, and the least recent are forgotten beyond keep.
func testCorrespondents(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "corr@cred.test")
	t0 := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	wantErr(t, "unknown account", s.AddCorrespondent(ctx, 1<<40, "x@out.test", t0, 10), store.ErrNotFound)
	noErr(t, s.AddCorrespondent(ctx, a.ID, "friend@out.test", t0, 8))
	if c := must(s.RecordSend(ctx, a.ID, t0, []string{"friend@out.test", "FRIEND@out.test"}, 8)).get(t); c.New != 1 {
		t.Errorf("%d new, want 1: a sender the account received from is known; names compare exactly", c.New)
	}
	// 20 more addresses, one a minute; keep 8 (trimmed at 9).
	for i := range 20 {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		must(s.RecordSend(ctx, a.ID, at, []string{fmt.Sprintf("r%d@out.test", i)}, 8)).get(t)
	}
	at := t0.Add(time.Hour)
	if c := must(s.RecordSend(ctx, a.ID, at, []string{"r19@out.test", "r12@out.test"}, 8)).get(t); c.New != 0 {
		t.Errorf("%d new among recent correspondents, want 0", c.New)
	}
	if c := must(s.RecordSend(ctx, a.ID, at, []string{"friend@out.test", "r0@out.test"}, 8)).get(t); c.New != 2 {
		t.Errorf("%d new among forgotten correspondents, want 2", c.New)
	}
}

// testOutboundHold covers holding an account: its ready items held at
// once, new items enqueued held, nothing of it claimable, RecordSend
// reporting the hold, and release making its items due and restarting
// its counts.
func testOutboundHold(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "held@cred.test")
	b := credAccount(t, s, "free@cred.test")
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	enq := func(submitter int64, held bool) store.QueueItem {
		item := newItem("x@cred.test", "r@out.test")
		item.Submitter, item.Held = submitter, held
		return must(s.Enqueue(ctx, strings.NewReader("body"), item)).get(t)
	}
	before, theirs := enq(a.ID, false), enq(b.ID, false)
	for range 3 {
		must(s.RecordSend(ctx, a.ID, t0, []string{"r@out.test"}, 10)).get(t)
	}
	_, err := s.HoldOutbound(ctx, 1<<40, "x", t0)
	wantErr(t, "hold an unknown account", err, store.ErrNotFound)
	if !must(s.HoldOutbound(ctx, a.ID, "burst", t0)).get(t) {
		t.Error("first hold: not new")
	}
	if must(s.HoldOutbound(ctx, a.ID, "again", t0.Add(time.Minute))).get(t) {
		t.Error("second hold: new")
	}
	after := enq(a.ID, true)
	if after.State != store.QueueHeld {
		t.Errorf("item enqueued held is %s", after.State)
	}
	for _, tc := range []struct {
		it   store.QueueItem
		want store.QueueState
	}{{before, store.QueueHeld}, {after, store.QueueHeld}, {theirs, store.QueueReady}} {
		if got := must(s.GetQueueItem(ctx, tc.it.ID)).get(t); got.State != tc.want {
			t.Errorf("item %d (submitter %d) is %s, want %s", got.ID, got.Submitter, got.State, tc.want)
		}
	}
	claimed := must(s.ClaimDue(ctx, "w", t0.Add(time.Hour), time.Minute, 10)).get(t)
	if len(claimed) != 1 || claimed[0].ID != theirs.ID {
		t.Errorf("claimed %v, want only item %d", claimed, theirs.ID)
	}
	c := must(s.RecordSend(ctx, a.ID, t0, []string{"r@out.test"}, 10)).get(t)
	if !c.Hold.Since.Equal(t0) || c.Hold.Reason != "burst" || c.Hold.AccountID != a.ID || c.Minute.Messages != 0 {
		t.Errorf("RecordSend while held: %+v", c)
	}
	holds := must(s.ListOutboundHolds(ctx)).get(t)
	if len(holds) != 1 || holds[0] != c.Hold {
		t.Errorf("holds %+v, want %+v", holds, c.Hold)
	}

	_, err = s.ReleaseOutbound(ctx, b.ID, t0)
	wantErr(t, "release an account not held", err, store.ErrNotFound)
	released := t0.Add(time.Second)
	if n := must(s.ReleaseOutbound(ctx, a.ID, released)).get(t); n != 2 {
		t.Errorf("released %d items, want 2", n)
	}
	for _, it := range []store.QueueItem{before, after} {
		if got := must(s.GetQueueItem(ctx, it.ID)).get(t); got.State != store.QueueReady {
			t.Errorf("item %d is %s after release", it.ID, got.State)
		}
	}
	if holds := must(s.ListOutboundHolds(ctx)).get(t); len(holds) != 0 {
		t.Errorf("holds after release: %+v", holds)
	}
	c = must(s.RecordSend(ctx, a.ID, released.Add(time.Second), []string{"r@out.test"}, 10)).get(t)
	if c.Minute.Messages != 1 || c.Week.Messages != 1 || !c.Hold.Since.IsZero() {
		t.Errorf("counts after release %+v, want only the new message", c)
	}
	_, err = s.ReleaseOutbound(ctx, a.ID, released)
	wantErr(t, "release twice", err, store.ErrNotFound)

	// Everything goes with the account.
	must(s.HoldOutbound(ctx, b.ID, "new recipients", t0)).get(t)
	noErr(t, s.AddCorrespondent(ctx, b.ID, "friend@out.test", t0, 10))
	noErr(t, s.DeleteAccount(ctx, b.Address))
	if holds := must(s.ListOutboundHolds(ctx)).get(t); len(holds) != 0 {
		t.Errorf("holds after the account was deleted: %+v", holds)
	}
	_, err = s.RecordSend(ctx, b.ID, t0, []string{"r@out.test"}, 10)
	wantErr(t, "record for a deleted account", err, store.ErrNotFound)
}

// testRecordSendConcurrent checks that concurrent RecordSend calls for one
// account each see a different count: none is lost or counted twice.
func testRecordSendConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "busy@cred.test")
	now := time.Now().UTC().Truncate(time.Microsecond)
	const n = 24
	seen := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := s.RecordSend(ctx, a.ID, now, []string{fmt.Sprintf("r%d@out.test", i)}, 100)
			if err != nil {
				t.Error(err)
				return
			}
			seen <- c.Minute.Messages
		})
	}
	wg.Wait()
	close(seen)
	got := map[int]bool{}
	for m := range seen {
		got[m] = true
	}
	if len(got) != n {
		t.Errorf("%d distinct counts among %d concurrent sends: %v", len(got), n, got)
	}
}
