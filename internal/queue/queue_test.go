package queue

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// fakeTransport answers each recipient from a table and records requests.
type fakeTransport struct {
	mu       sync.Mutex
	outcome  map[string]Status // by recipient; missing: Delivered
	delay    time.Duration
	requests []Request
	bodies   []string
}

func (f *fakeTransport) Deliver(ctx context.Context, req Request) []Result {
	body, err := req.Open(ctx)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	f.bodies = append(f.bodies, string(b))
	var out []Result
	for _, rc := range req.Recipients {
		st := f.outcome[rc.Address]
		r := Result{Recipient: rc.Address, Status: st, RemoteMTA: "mx." + req.Domain}
		switch st {
		case Delivered:
			r.Enhanced, r.Diagnostic = "2.0.0", "250 2.0.0 ok"
		case TempFail:
			r.Enhanced, r.Diagnostic = "4.2.0", "451 4.2.0 try later"
		case PermFail:
			r.Enhanced, r.Diagnostic = "5.1.1", "550 5.1.1 no such user"
		}
		out = append(out, r)
	}
	return out
}

type fakeNotifier struct {
	mu      sync.Mutex
	notices []Notice
	err     error // when set, Notify fails with it and records nothing
}

func (f *fakeNotifier) Notify(ctx context.Context, n Notice) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.notices = append(f.notices, n)
	return nil
}

func (f *fakeNotifier) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeNotifier) kinds() []NoticeKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ks []NoticeKind
	for _, n := range f.notices {
		ks = append(ks, n.Kind)
	}
	return ks
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	st        store.Store
	transport *fakeTransport
	notifier  *fakeNotifier
	clock     *clock
	q         *Queue
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, transport: &fakeTransport{outcome: map[string]Status{}}, notifier: &fakeNotifier{},
		// Ahead of the store's clock, so what is enqueued now is due now.
		clock: &clock{t: time.Now().Add(time.Second)}}
	f.q, err = New(Options{
		Store: st, Transport: f.transport, Notifier: f.notifier, Worker: "test",
		Backoff: func(int) time.Duration { return 10 * time.Minute }, Now: f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) enqueue(t *testing.T, from string, rcpts ...store.NewQueueRecipient) store.QueueItem {
	t.Helper()
	it, err := f.st.Enqueue(t.Context(), strings.NewReader("Subject: hi\r\n\r\nbody\r\n"),
		store.NewQueueItem{From: from, Recipients: rcpts})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func rcpt(addr string) store.NewQueueRecipient { return store.NewQueueRecipient{Address: addr} }

// runAt makes the queue's clock now+d and delivers what is due.
func (f *fixture) runAt(t *testing.T, d time.Duration) {
	t.Helper()
	f.clock.Advance(d)
	if err := f.q.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestDeliveredMessageLeavesTheQueue(t *testing.T) {
	f := newFixture(t)
	f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"), rcpt("carl@a.example"), rcpt("dora@b.example"))
	f.runAt(t, 0)
	if n := len(f.transport.requests); n != 2 {
		t.Fatalf("%d transport requests, want one per domain (2)", n)
	}
	if !strings.Contains(f.transport.bodies[0], "Subject: hi") {
		t.Errorf("transport got body %q", f.transport.bodies[0])
	}
	items, _ := f.st.ListQueue(t.Context())
	if len(items) != 0 {
		t.Errorf("queue still holds %+v", items)
	}
	if ks := f.notifier.kinds(); len(ks) != 0 {
		t.Errorf("notices %v for a plain delivery", ks)
	}
}

func TestRetryThenExpire(t *testing.T) {
	f := newFixture(t)
	f.transport.outcome["bob@a.example"] = TempFail
	it := f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"), rcpt("carl@a.example"))

	f.runAt(t, 0)
	got, err := f.st.GetQueueItem(t.Context(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Recipients[1].Done || got.Recipients[0].Done || got.Recipients[0].LastError == "" {
		t.Errorf("after one attempt: recipients %+v", got.Recipients)
	}
	if d := got.NextAttempt.Sub(f.clock.Now()).Round(time.Millisecond); d != 10*time.Minute {
		t.Errorf("next attempt in %v, want the backoff's 10m", d)
	}

	// Not due yet: nothing happens.
	f.runAt(t, 5*time.Minute)
	if n := len(f.transport.requests); n != 1 {
		t.Errorf("%d requests before the retry was due", n)
	}
	// Due: only the pending recipient is tried again.
	f.runAt(t, 5*time.Minute)
	if n := len(f.transport.requests); n != 2 || len(f.transport.requests[1].Recipients) != 1 {
		t.Fatalf("retry requests %+v", f.transport.requests)
	}

	// After the delay-warning age, one delay notice.
	f.runAt(t, 5*time.Hour)
	f.runAt(t, time.Hour)
	if ks := f.notifier.kinds(); !slices.Equal(ks, []NoticeKind{NoticeDelayed}) {
		t.Errorf("notices %v, want one delay warning", ks)
	}
	// After the maximum age, the recipient fails for good and the sender hears.
	f.runAt(t, 5*24*time.Hour)
	if ks := f.notifier.kinds(); !slices.Equal(ks, []NoticeKind{NoticeDelayed, NoticeFailed}) {
		t.Fatalf("notices %v, want delay then failure", ks)
	}
	last := f.notifier.notices[1]
	if len(last.Results) != 1 || last.Results[0].Enhanced != "4.4.7" || last.Results[0].Recipient != "bob@a.example" {
		t.Errorf("expiry notice %+v", last.Results)
	}
	if items, _ := f.st.ListQueue(t.Context()); len(items) != 0 {
		t.Errorf("expired message still queued: %+v", items)
	}
}

func TestNotifications(t *testing.T) {
	tests := []struct {
		name    string
		from    string
		rcpt    store.NewQueueRecipient
		outcome Status
		want    []NoticeKind
	}{
		{"failure reported", "ann@ours.example", rcpt("bob@a.example"), PermFail, []NoticeKind{NoticeFailed}},
		{"bounces never bounce", "", rcpt("bob@a.example"), PermFail, nil},
		{"NOTIFY=NEVER", "ann@ours.example", store.NewQueueRecipient{Address: "bob@a.example", Notify: "NEVER"}, PermFail, nil},
		{"NOTIFY=SUCCESS on success", "ann@ours.example", store.NewQueueRecipient{Address: "bob@a.example", Notify: "SUCCESS"}, Delivered, []NoticeKind{NoticeDelivered}},
		{"NOTIFY=SUCCESS on failure", "ann@ours.example", store.NewQueueRecipient{Address: "bob@a.example", Notify: "SUCCESS"}, PermFail, nil},
		{"NOTIFY=SUCCESS,FAILURE on failure", "ann@ours.example", store.NewQueueRecipient{Address: "bob@a.example", Notify: "SUCCESS,FAILURE"}, PermFail, []NoticeKind{NoticeFailed}},
		{"success not reported by default", "ann@ours.example", rcpt("bob@a.example"), Delivered, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.transport.outcome["bob@a.example"] = tt.outcome
			f.enqueue(t, tt.from, tt.rcpt)
			f.runAt(t, 0)
			if ks := f.notifier.kinds(); !slices.Equal(ks, tt.want) {
				t.Errorf("notices %v, want %v", ks, tt.want)
			}
			if items, _ := f.st.ListQueue(t.Context()); len(items) != 0 {
				t.Errorf("message still queued: %+v", items)
			}
		})
	}
}

// TestSlowDeliveryKeepsItsClaim runs a delivery longer than the lease: the
// claim is extended, so a second worker finds nothing to claim.
func TestSlowDeliveryKeepsItsClaim(t *testing.T) {
	f := newFixture(t)
	f.q.opts.Now = time.Now
	f.q.opts.Lease = time.Second
	f.transport.delay = 2 * time.Second
	f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"))
	it := f.enqueue(t, "ann@ours.example", rcpt("carl@a.example"))
	done := make(chan error, 1)
	go func() { done <- f.q.RunOnce(t.Context()) }()
	for {
		got, err := f.st.GetQueueItem(t.Context(), it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == store.QueueDelivery {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadline := time.Now().Add(1800 * time.Millisecond)
	for time.Now().Before(deadline) {
		items, err := f.st.ClaimDue(t.Context(), "other", time.Now(), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 0 {
			t.Fatalf("another worker claimed %d during a slow delivery", len(items))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(f.transport.requests); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 5 * time.Minute, 2: 10 * time.Minute, 4: 40 * time.Minute, 10: 4 * time.Hour} {
		for range 20 {
			got := DefaultBackoff(attempt)
			if got < want*9/10 || got > want*11/10 {
				t.Errorf("DefaultBackoff(%d) = %v, want %v ±10%%", attempt, got, want)
			}
		}
	}
}

// TestDSNNotifierQueuesReports runs a failing delivery with the real
// notifier: the report is queued from the null sender to the original
// sender, names the recipient and the remote reply, and is itself never
// reported on.
func TestDSNNotifierQueuesReports(t *testing.T) {
	f := newFixture(t)
	f.q.opts.Notifier = &DSNNotifier{Store: f.st, Hostname: "mail.ours.example"}
	f.transport.outcome["bob@a.example"] = PermFail
	f.enqueue(t, "ann@ours.example", store.NewQueueRecipient{Address: "bob@a.example", ORCPT: "rfc822;bob@a.example"})
	// The message is due, the report queued during the run will not be.
	f.clock.Set(time.Now())
	f.runAt(t, 0)
	items, err := f.st.ListQueue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Fatalf("queue holds %d items, want the report only", len(items))
	}
	report := items[0]
	if report.From != "" || len(report.Recipients) != 1 || report.Recipients[0].Address != "ann@ours.example" {
		t.Fatalf("report envelope %+v", report)
	}
	r, err := f.st.OpenBody(t.Context(), report.BlobID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r)
	r.Close()
	for _, want := range []string{"multipart/report", "Final-Recipient: rfc822; bob@a.example", "Action: failed",
		"Status: 5.1.1", "550 5.1.1 no such user", "Reporting-MTA: dns; mail.ours.example", "Subject: hi"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("report lacks %q:\n%s", want, body)
		}
	}
	// The report itself fails: nothing more is queued.
	f.transport.outcome["ann@ours.example"] = PermFail
	f.runAt(t, time.Minute)
	if items, _ := f.st.ListQueue(t.Context()); len(items) != 0 {
		t.Errorf("a failed report was reported on: %+v", items)
	}
}

// TestRunDrainsABacklog checks that Run delivers more due messages than
// it has slots without waiting for its poll: each finished attempt frees
// a slot for the next.
func TestRunDrainsABacklog(t *testing.T) {
	f := newFixture(t)
	f.q.opts.Concurrency = 2
	f.transport.delay = 10 * time.Millisecond
	const n = 12
	for i := range n {
		f.enqueue(t, "ann@ours.example", rcpt(fmt.Sprintf("r%d@a.example", i)))
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.q.Run(ctx) }()
	// Waiting for the poll would take pollInterval; a loaded machine
	// (the race detector, synced writes) may take seconds without it.
	deadline := time.Now().Add(pollInterval * 5 / 6)
	for {
		items, err := f.st.ListQueue(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages still queued: the backlog waits for the poll", len(items), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
