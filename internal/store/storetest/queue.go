package storetest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// newItem is an item from `from` to rcpts with no other parameters.
func newItem(from string, rcpts ...string) store.NewQueueItem {
	item := store.NewQueueItem{From: from}
	for _, r := range rcpts {
		item.Recipients = append(item.Recipients, store.NewQueueRecipient{Address: r})
	}
	return item
}

func enqueue(t testing.TB, s store.Store, body string, rcpts ...string) store.QueueItem {
	t.Helper()
	return must(s.Enqueue(context.Background(), strings.NewReader(body), newItem("alice@example.test", rcpts...))).get(t)
}

func testQueue(t *testing.T, s store.Store) {
	ctx := context.Background()
	item := newItem("alice@example.test", "x@one.test", "y@two.test")
	item.RequireTLS = true
	it := must(s.Enqueue(ctx, strings.NewReader("queued body"), item)).get(t)
	if it.ID == 0 || it.From != "alice@example.test" || it.State != store.QueueReady || it.Size != 11 ||
		!it.RequireTLS || it.Attempts != 0 || len(it.Recipients) != 2 || it.Recipients[1].Address != "y@two.test" {
		t.Errorf("Enqueue = %+v", it)
	}
	recent(t, "Created", it.Created)
	recent(t, "NextAttempt", it.NextAttempt)
	if readBody(t, s, it.BlobID) != "queued body" {
		t.Error("queued body unreadable")
	}
	bounce := must(s.Enqueue(ctx, strings.NewReader("dsn"), newItem("", "alice@example.test"))).get(t)
	if bounce.From != "" || bounce.RequireTLS {
		t.Errorf("bounce = %+v", bounce)
	}
	got := must(s.GetQueueItem(ctx, it.ID)).get(t)
	if got.ID != it.ID || got.BlobID != it.BlobID || !got.RequireTLS || len(got.Recipients) != 2 || !sameTime(got.Created, it.Created) {
		t.Errorf("GetQueueItem = %+v, want %+v", got, it)
	}
	_, err := s.GetQueueItem(ctx, bounce.ID+1000)
	wantErr(t, "GetQueueItem missing", err, store.ErrNotFound)
	if list := must(s.ListQueue(ctx)).get(t); len(list) != 2 || list[0].ID != it.ID || list[1].ID != bounce.ID {
		t.Errorf("ListQueue = %+v", list)
	}

	// Hold keeps an item from being claimed; release makes it due.
	noErr(t, s.SetQueueState(ctx, bounce.ID, store.QueueHeld))
	if st := must(s.GetQueueItem(ctx, bounce.ID)).get(t).State; st != store.QueueHeld {
		t.Errorf("state after hold = %s", st)
	}
	now := time.Now()
	claimed := must(s.ClaimDue(ctx, "w1", now, time.Minute, 10)).get(t)
	if len(claimed) != 1 || claimed[0].ID != it.ID || claimed[0].State != store.QueueDelivery || claimed[0].ClaimedBy != "w1" ||
		!sameTime(claimed[0].ClaimUntil, now.Add(time.Minute)) || claimed[0].Attempts != 1 || claimed[0].ClaimToken == "" {
		t.Fatalf("ClaimDue = %+v", claimed)
	}
	token := claimed[0].ClaimToken
	if got := must(s.GetQueueItem(ctx, it.ID)).get(t); got.ClaimToken != token || got.ClaimedBy != "w1" {
		t.Errorf("claimed item reads back as %+v", got)
	}
	if again := must(s.ClaimDue(ctx, "w2", now, time.Minute, 10)).get(t); len(again) != 0 {
		t.Errorf("claimed twice: %+v", again)
	}
	if err := s.SetQueueState(ctx, it.ID, store.QueueHeld); err == nil {
		t.Error("holding an item being delivered succeeded")
	}

	// Only the claim's token can finish it.
	for _, bad := range []string{"", token + "x"} {
		err := s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: bad})
		wantErr(t, fmt.Sprintf("FinishAttempt with token %q", bad), err, store.ErrNotFound)
	}
	// One recipient done, one deferred.
	next := now.Add(10 * time.Minute)
	noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token, NextAttempt: next, Recipients: []store.QueueRecipient{
		{Address: "x@one.test", Done: true},
		{Address: "y@two.test", LastError: "451 4.7.1 try later"},
	}}))
	got = must(s.GetQueueItem(ctx, it.ID)).get(t)
	if got.State != store.QueueReady || !sameTime(got.NextAttempt, next) || got.ClaimedBy != "" || got.ClaimToken != "" || got.Attempts != 1 ||
		!got.Recipients[0].Done || got.Recipients[1].Done || got.Recipients[1].LastError != "451 4.7.1 try later" {
		t.Errorf("after deferral: %+v", got)
	}
	recent(t, "LastAttempt", got.LastAttempt)
	if c := must(s.ClaimDue(ctx, "w1", now.Add(time.Minute), time.Minute, 10)).get(t); len(c) != 0 {
		t.Errorf("claimed before NextAttempt: %+v", c)
	}
	noErr(t, s.RetryNow(ctx, it.ID))
	c := must(s.ClaimDue(ctx, "w1", time.Now().Add(time.Second), time.Minute, 10)).get(t)
	if len(c) != 1 || c[0].ID != it.ID || c[0].Attempts != 2 || c[0].ClaimToken == token {
		t.Fatalf("ClaimDue after RetryNow = %+v, want a new token", c)
	}
	wantErr(t, "FinishAttempt with the previous claim's token",
		s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token}), store.ErrNotFound)
	token = c[0].ClaimToken
	// The last recipient fails for good: the item is done and goes, with
	// its body.
	noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token, Recipients: []store.QueueRecipient{
		{Address: "x@one.test", Done: true},
		{Address: "y@two.test", Done: true, Failed: true, LastError: "550 5.1.1 no such user"},
	}}))
	_, err = s.GetQueueItem(ctx, it.ID)
	wantErr(t, "GetQueueItem after completion", err, store.ErrNotFound)
	_, err = s.OpenBody(ctx, it.BlobID)
	wantErr(t, "body after completion", err, store.ErrNotFound)
	wantErr(t, "FinishAttempt on a finished item", s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token}), store.ErrNotFound)
	wantErr(t, "ExtendClaim on a finished item", s.ExtendClaim(ctx, it.ID, token, time.Now().Add(time.Hour)), store.ErrNotFound)

	noErr(t, s.SetQueueState(ctx, bounce.ID, store.QueueReady))
	if got := must(s.GetQueueItem(ctx, bounce.ID)).get(t); got.State != store.QueueReady {
		t.Errorf("after release: %+v", got)
	}
	noErr(t, s.SetQueueState(ctx, bounce.ID, store.QueueHeld))
	noErr(t, s.RetryNow(ctx, bounce.ID))
	if got := must(s.GetQueueItem(ctx, bounce.ID)).get(t); got.State != store.QueueHeld {
		t.Errorf("RetryNow released a held item: %+v", got)
	}
	if err := s.SetQueueState(ctx, bounce.ID, store.QueueDelivery); err == nil {
		t.Error("SetQueueState(delivery) succeeded")
	}
	for name, err := range map[string]error{
		"SetQueueState": s.SetQueueState(ctx, bounce.ID+1000, store.QueueHeld),
		"RetryNow":      s.RetryNow(ctx, bounce.ID+1000),
		"DropQueueItem": s.DropQueueItem(ctx, bounce.ID+1000),
	} {
		wantErr(t, name+" missing", err, store.ErrNotFound)
	}
	noErr(t, s.DropQueueItem(ctx, bounce.ID))
	if list := must(s.ListQueue(ctx)).get(t); len(list) != 0 {
		t.Errorf("queue not empty: %+v", list)
	}
	if c := must(s.ClaimDue(ctx, "w1", time.Now(), time.Minute, 0)).get(t); len(c) != 0 {
		t.Errorf("ClaimDue with limit 0 = %+v", c)
	}
}

// testQueueClaimConcurrent: workers claiming at the same time never get the
// same item.
func testQueueClaimConcurrent(t *testing.T, s store.Store) {
	const items, workers = 40, 4
	for i := range items {
		enqueue(t, s, fmt.Sprint("m", i), fmt.Sprintf("r%d@x.test", i))
	}
	ctx := context.Background()
	var mu sync.Mutex // guards owner and errs
	owner := map[int64]string{}
	var errs []error
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprint("worker", w)
			for range items { // bounded: at most one round per item
				c, err := s.ClaimDue(ctx, name, time.Now(), time.Minute, 3)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, it := range c {
					if prev, ok := owner[it.ID]; ok {
						errs = append(errs, fmt.Errorf("item %d claimed by %s and %s", it.ID, prev, name))
					}
					owner[it.ID] = name
				}
				mu.Unlock()
				if err != nil || len(c) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(owner) != items {
		t.Errorf("%d of %d items claimed", len(owner), items)
	}
	for _, it := range must(s.ListQueue(ctx)).get(t) {
		if it.State != store.QueueDelivery || it.ClaimedBy != owner[it.ID] {
			t.Errorf("item %d: state %s, claimed by %q, want %q", it.ID, it.State, it.ClaimedBy, owner[it.ID])
		}
	}
}

// testQueueExpiredClaim: a crashed worker's claim runs out and another
// worker takes the item; the first can no longer finish it.
func testQueueExpiredClaim(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enqueue(t, s, "a", "r@x.test")
	b := enqueue(t, s, "b", "r@y.test")
	now := time.Now()
	c := must(s.ClaimDue(ctx, "dead", now, time.Minute, 1)).get(t)
	if len(c) != 1 || c[0].ID != a.ID {
		t.Fatalf("first claim = %+v, want item %d (oldest first)", c, a.ID)
	}
	dead := c[0].ClaimToken
	c = must(s.ClaimDue(ctx, "live", now.Add(30*time.Second), time.Minute, 10)).get(t)
	if len(c) != 1 || c[0].ID != b.ID {
		t.Fatalf("claim during lease = %+v, want only item %d", c, b.ID)
	}
	c = must(s.ClaimDue(ctx, "live", now.Add(2*time.Minute), time.Minute, 10)).get(t)
	i := slices.IndexFunc(c, func(it store.QueueItem) bool { return it.ID == a.ID && it.Attempts == 2 })
	if len(c) != 2 || i < 0 {
		t.Fatalf("claim after expiry = %+v, want both items, %d on its second attempt", c, a.ID)
	}
	live := c[i].ClaimToken
	if live == dead {
		t.Fatalf("claim after expiry kept token %q", dead)
	}
	done := []store.QueueRecipient{{Address: "r@x.test", Done: true}}
	err := s.FinishAttempt(ctx, store.QueueUpdate{ID: a.ID, ClaimToken: dead, Recipients: done})
	wantErr(t, "FinishAttempt by the expired worker", err, store.ErrNotFound)
	err = s.ExtendClaim(ctx, a.ID, dead, now.Add(time.Hour))
	wantErr(t, "ExtendClaim by the expired worker", err, store.ErrNotFound)
	if got := must(s.GetQueueItem(ctx, a.ID)).get(t); got.ClaimedBy != "live" || got.ClaimToken != live ||
		!sameTime(got.ClaimUntil, now.Add(3*time.Minute)) || len(got.Recipients) != 1 || got.Recipients[0].Done {
		t.Errorf("item after refused finish and extend = %+v", got)
	}
	noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: a.ID, ClaimToken: live, Recipients: done}))
	if list := must(s.ListQueue(ctx)).get(t); len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("queue = %+v, want only item %d", list, b.ID)
	}
}

func testLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	entries := []store.LogEntry{
		{Time: base, AccountID: 1, Kind: "login", Protocol: "imap", RemoteIP: netip.MustParseAddr("192.0.2.1"), ReverseDNS: "host.example.net", Client: "Thunderbird", Method: "LOGIN", Outcome: "ok"},
		{Time: base.Add(time.Hour), AccountID: 1, Kind: "login", Protocol: "smtp", RemoteIP: netip.MustParseAddr("2001:db8::1"), Outcome: "fail", Detail: "bad password"},
		{Time: base.Add(2 * time.Hour), AccountID: 2, Kind: "admin", Protocol: "cli", Outcome: "ok", Detail: "quota set"},
		{Time: base.Add(3 * time.Hour), Kind: "login", Protocol: "pop3", RemoteIP: netip.MustParseAddr("198.51.100.7"), Outcome: "fail", Detail: "no such user"},
	}
	var ids []int64
	for _, e := range entries {
		got := must(s.AppendLog(ctx, e)).get(t)
		if got.ID == 0 || !sameTime(got.Time, e.Time) {
			t.Errorf("AppendLog = %+v", got)
		}
		ids = append(ids, got.ID)
	}
	now := must(s.AppendLog(ctx, store.LogEntry{Kind: "login", Protocol: "web", Outcome: "ok"})).get(t)
	recent(t, "default Time", now.Time)

	all := must(s.QueryLog(ctx, store.LogQuery{})).get(t)
	if len(all) != 5 || all[0].ID != now.ID || all[4].ID != ids[0] {
		t.Fatalf("QueryLog(all) = %+v", all)
	}
	first := all[4]
	if first.RemoteIP != entries[0].RemoteIP || first.Client != "Thunderbird" || first.ReverseDNS != "host.example.net" || first.Method != "LOGIN" || first.Protocol != "imap" || first.AccountID != 1 || first.Outcome != "ok" {
		t.Errorf("stored entry = %+v", first)
	}
	if all[2].RemoteIP.IsValid() {
		t.Errorf("entry without address came back with %v", all[2].RemoteIP)
	}
	for _, tc := range []struct {
		name string
		q    store.LogQuery
		want []int64
	}{
		{"account", store.LogQuery{AccountID: 1}, []int64{ids[1], ids[0]}},
		{"kind", store.LogQuery{Kind: "login"}, []int64{now.ID, ids[3], ids[1], ids[0]}},
		{"since", store.LogQuery{Since: base.Add(90 * time.Minute)}, []int64{now.ID, ids[3], ids[2]}},
		{"limit", store.LogQuery{Limit: 2}, []int64{now.ID, ids[3]}},
		{"combined", store.LogQuery{AccountID: 1, Kind: "login", Since: base.Add(time.Minute)}, []int64{ids[1]}},
	} {
		var got []int64
		for _, e := range must(s.QueryLog(ctx, tc.q)).get(t) {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("QueryLog %s = %v, want %v", tc.name, got, tc.want)
		}
	}
	n := must(s.PruneLog(ctx, base.Add(150*time.Minute))).get(t)
	if n != 3 {
		t.Errorf("PruneLog removed %d, want 3", n)
	}
	if left := must(s.QueryLog(ctx, store.LogQuery{})).get(t); len(left) != 2 {
		t.Errorf("after prune: %+v", left)
	}
	if n := must(s.PruneLog(ctx, base)).get(t); n != 0 {
		t.Errorf("second PruneLog removed %d", n)
	}
	testLogAddresses(t, s)
}

// testLogAddresses: remote addresses come back as they went in, except for
// an IPv6 zone, which neither backend keeps.
func testLogAddresses(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, tc := range []struct{ in, want string }{
		{"fe80::1%eth0", "fe80::1"},
		{"::ffff:192.0.2.9", "::ffff:192.0.2.9"},
		{"192.0.2.9", "192.0.2.9"},
		{"2001:db8::42", "2001:db8::42"},
	} {
		want := netip.MustParseAddr(tc.want)
		e := must(s.AppendLog(ctx, store.LogEntry{Kind: "addr", Protocol: "smtp", RemoteIP: netip.MustParseAddr(tc.in), Outcome: "ok"})).get(t)
		if e.RemoteIP != want {
			t.Errorf("AppendLog(%s) returned %v, want %v", tc.in, e.RemoteIP, want)
		}
		got := must(s.QueryLog(ctx, store.LogQuery{Kind: "addr", Limit: 1})).get(t)
		if len(got) != 1 || got[0].ID != e.ID || got[0].RemoteIP != want {
			t.Errorf("QueryLog after AppendLog(%s) = %+v, want %v", tc.in, got, want)
		}
	}
}

// testQueueClaimToken: a claim is known by its token, not by the worker's
// name, so a worker that lost its claim cannot finish the item even when
// the new claim is made under the same name; and a claim extended in time
// is not taken from its holder.
func testQueueClaimToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	it := enqueue(t, s, "body", "r@x.test")
	now := time.Now()
	first := must(s.ClaimDue(ctx, "w", now, time.Minute, 1)).get(t)
	if len(first) != 1 {
		t.Fatalf("claim = %+v", first)
	}
	old := first[0].ClaimToken

	// Extended before it runs out, the claim holds past the first lease.
	noErr(t, s.ExtendClaim(ctx, it.ID, old, now.Add(5*time.Minute)))
	if got := must(s.GetQueueItem(ctx, it.ID)).get(t); !sameTime(got.ClaimUntil, now.Add(5*time.Minute)) ||
		got.State != store.QueueDelivery || got.ClaimToken != old || got.Attempts != 1 {
		t.Errorf("after ExtendClaim: %+v", got)
	}
	if c := must(s.ClaimDue(ctx, "other", now.Add(2*time.Minute), time.Minute, 10)).get(t); len(c) != 0 {
		t.Fatalf("extended claim taken: %+v", c)
	}
	for _, tc := range []struct {
		name  string
		id    int64
		token string
	}{
		{"wrong token", it.ID, old + "x"},
		{"empty token", it.ID, ""},
		{"missing item", it.ID + 1000, old},
	} {
		wantErr(t, "ExtendClaim "+tc.name, s.ExtendClaim(ctx, tc.id, tc.token, now.Add(time.Hour)), store.ErrNotFound)
	}

	// Once the extension runs out too, the same worker name claims it
	// again, under a new token; the old token is refused.
	again := must(s.ClaimDue(ctx, "w", now.Add(6*time.Minute), time.Minute, 10)).get(t)
	if len(again) != 1 || again[0].ID != it.ID || again[0].Attempts != 2 || again[0].ClaimToken == old {
		t.Fatalf("re-claim = %+v (old token %q)", again, old)
	}
	done := []store.QueueRecipient{{Address: "r@x.test", Done: true}}
	wantErr(t, "FinishAttempt with the stale token",
		s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: old, Recipients: done}), store.ErrNotFound)
	wantErr(t, "ExtendClaim with the stale token",
		s.ExtendClaim(ctx, it.ID, old, now.Add(time.Hour)), store.ErrNotFound)
	if got := must(s.GetQueueItem(ctx, it.ID)).get(t); got.State != store.QueueDelivery || got.Recipients[0].Done {
		t.Errorf("stale finish changed the item: %+v", got)
	}

	// The current token extends, whatever the clock says: a claim that ran
	// out but was not taken again is still its holder's.
	cur := again[0].ClaimToken
	noErr(t, s.ExtendClaim(ctx, it.ID, cur, now.Add(10*time.Minute)))

	// An item that is not being delivered has no claim to extend.
	noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: cur, NextAttempt: now.Add(time.Hour),
		Recipients: []store.QueueRecipient{{Address: "r@x.test", LastError: "451 later"}}}))
	wantErr(t, "ExtendClaim on a ready item", s.ExtendClaim(ctx, it.ID, cur, now.Add(time.Hour)), store.ErrNotFound)
	wantErr(t, "ExtendClaim on a ready item with no token", s.ExtendClaim(ctx, it.ID, "", now.Add(time.Hour)), store.ErrNotFound)
}
