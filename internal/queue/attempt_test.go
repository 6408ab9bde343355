package queue

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// funcTransport delivers with a function.
type funcTransport func(ctx context.Context, req Request) []Result

func (f funcTransport) Deliver(ctx context.Context, req Request) []Result { return f(ctx, req) }

func resultsFor(req Request, st Status, enhanced, diag string) []Result {
	var out []Result
	for _, rc := range req.Recipients {
		out = append(out, Result{Recipient: rc.Address, Status: st, Enhanced: enhanced, Diagnostic: diag})
	}
	return out
}

// TestFailedReportKeepsRecipientPending: a failure report that cannot be
// queued leaves its recipient pending, and the next attempt reports it.
func TestFailedReportKeepsRecipientPending(t *testing.T) {
	f := newFixture(t)
	f.transport.outcome["bob@a.example"] = PermFail
	it := f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"))
	f.notifier.setErr(errors.New("disk full"))
	f.runAt(t, 0)
	got, err := f.st.GetQueueItem(t.Context(), it.ID)
	if err != nil {
		t.Fatalf("message left the queue although its failure was never reported: %v", err)
	}
	if rc := got.Recipients[0]; rc.Done || rc.Failed {
		t.Errorf("recipient %+v, want pending", rc)
	}
	f.notifier.setErr(nil)
	f.runAt(t, 10*time.Minute)
	if ks := f.notifier.kinds(); !slices.Equal(ks, []NoticeKind{NoticeFailed}) {
		t.Fatalf("notices %v, want the failure reported at the next attempt", ks)
	}
	if r := f.notifier.notices[0].Results; len(r) != 1 || r[0].Recipient != "bob@a.example" {
		t.Errorf("report results %+v", r)
	}
	if items, _ := f.st.ListQueue(t.Context()); len(items) != 0 {
		t.Errorf("message still queued after the report: %+v", items)
	}
}

// TestFailedDelayWarningIsRetried: a delay warning that cannot be queued
// is not recorded as sent.
func TestFailedDelayWarningIsRetried(t *testing.T) {
	f := newFixture(t)
	f.transport.outcome["bob@a.example"] = TempFail
	it := f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"))
	f.notifier.setErr(errors.New("disk full"))
	f.runAt(t, 5*time.Hour)
	got, err := f.st.GetQueueItem(t.Context(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DelayWarned {
		t.Error("DelayWarned set although the warning was not queued")
	}
	f.notifier.setErr(nil)
	f.runAt(t, 10*time.Minute)
	if ks := f.notifier.kinds(); !slices.Equal(ks, []NoticeKind{NoticeDelayed}) {
		t.Errorf("notices %v, want the delay warning at the next attempt", ks)
	}
}

// TestDelayWarningNamesRecipientsNotAttempted: recipients of a domain the
// attempt never reached (shutdown) appear in the delay warning under
// their own address.
func TestDelayWarningNamesRecipientsNotAttempted(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.q.opts.Transport = funcTransport(func(_ context.Context, req Request) []Result {
		cancel() // shutdown during the first domain
		return resultsFor(req, TempFail, "4.2.0", "451 4.2.0 try later")
	})
	f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"), rcpt("carl@b.example"))
	f.clock.Advance(5 * time.Hour)
	_ = f.q.RunOnce(ctx) // ends with the cancelled context
	ks := f.notifier.kinds()
	if !slices.Equal(ks, []NoticeKind{NoticeDelayed}) {
		t.Fatalf("notices %v, want one delay warning", ks)
	}
	var names []string
	for _, r := range f.notifier.notices[0].Results {
		names = append(names, r.Recipient+" "+r.Diagnostic)
	}
	want := []string{"bob@a.example 451 4.2.0 try later", "carl@b.example not attempted"}
	if !slices.Equal(names, want) {
		t.Errorf("delay warning names %q, want %q", names, want)
	}
}

// lostClaimStore answers every ExtendClaim as if another worker had taken
// the message over.
type lostClaimStore struct {
	store.Store
	mu       sync.Mutex
	finished int
}

func (s *lostClaimStore) ExtendClaim(ctx context.Context, id int64, token string, until time.Time) error {
	return store.ErrNotFound
}

func (s *lostClaimStore) FinishAttempt(ctx context.Context, u store.QueueUpdate) error {
	s.mu.Lock()
	s.finished++
	s.mu.Unlock()
	return s.Store.FinishAttempt(ctx, u)
}

// TestLostClaimStopsTheAttempt: when the claim cannot be extended because
// it is gone, the transport's context ends, and the attempt neither
// records an outcome nor reports.
func TestLostClaimStopsTheAttempt(t *testing.T) {
	f := newFixture(t)
	ls := &lostClaimStore{Store: f.st}
	stopped := make(chan error, 1)
	q, err := New(Options{Store: ls, Worker: "test", Notifier: f.notifier, Now: f.clock.Now, Lease: 300 * time.Millisecond,
		Transport: funcTransport(func(ctx context.Context, req Request) []Result {
			select {
			case <-ctx.Done():
				stopped <- context.Cause(ctx)
			case <-time.After(5 * time.Second):
				stopped <- nil
			}
			return resultsFor(req, PermFail, "5.1.1", "550 5.1.1 no such user")
		})})
	if err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"))
	start := time.Now()
	if err := q.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if cause := <-stopped; cause == nil {
		t.Fatal("the transport ran on after the claim was lost")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("attempt took %v after losing its claim", d)
	}
	if ls.finished != 0 || len(f.notifier.kinds()) != 0 {
		t.Errorf("%d outcomes recorded, notices %v, by a worker without a claim", ls.finished, f.notifier.kinds())
	}
}

// TestDomainTimeout: the transport's context ends after DomainTimeout,
// and the whole attempt after AttemptTimeout; recipients left over are
// tried again later.
func TestDomainTimeout(t *testing.T) {
	tests := []struct {
		name            string
		domain, attempt time.Duration
		wantCalls       int
	}{
		{"per domain", 200 * time.Millisecond, time.Hour, 2},
		{"per attempt", time.Hour, 200 * time.Millisecond, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var mu sync.Mutex
			calls := 0
			f.q.opts.DomainTimeout, f.q.opts.AttemptTimeout = tc.domain, tc.attempt
			f.q.opts.Transport = funcTransport(func(ctx context.Context, req Request) []Result {
				mu.Lock()
				calls++
				mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
				}
				return resultsFor(req, TempFail, "4.4.1", "timed out")
			})
			it := f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"), rcpt("carl@b.example"))
			start := time.Now()
			f.runAt(t, 0)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("attempt took %v", d)
			}
			if calls != tc.wantCalls {
				t.Errorf("%d domains tried, want %d", calls, tc.wantCalls)
			}
			got, err := f.st.GetQueueItem(t.Context(), it.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, rc := range got.Recipients {
				if rc.Done || rc.LastError == "" {
					t.Errorf("recipient %+v, want pending with an error", rc)
				}
			}
		})
	}
}

// TestDSNForRequireTLSMessage: a report about a REQUIRETLS message holds
// the header of the original only, even with RET=FULL, and is queued with
// REQUIRETLS itself (RFC 8689 section 5).
func TestDSNForRequireTLSMessage(t *testing.T) {
	f := newFixture(t)
	f.q.opts.Notifier = &DSNNotifier{Store: f.st, Hostname: "mail.ours.example"}
	f.transport.outcome["bob@a.example"] = PermFail
	_, err := f.st.Enqueue(t.Context(), strings.NewReader("Subject: hi\r\n\r\nthe secret body\r\n"),
		store.NewQueueItem{From: "ann@ours.example", Recipients: []store.NewQueueRecipient{rcpt("bob@a.example")},
			RequireTLS: true, Ret: store.RetFull})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Now())
	f.runAt(t, 0)
	items, err := f.st.ListQueue(t.Context())
	if err != nil || len(items) != 1 {
		t.Fatalf("queue %+v, %v; want the report only", items, err)
	}
	report := items[0]
	if !report.RequireTLS {
		t.Error("report queued without REQUIRETLS")
	}
	r, err := f.st.OpenBody(t.Context(), report.BlobID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r)
	r.Close()
	if strings.Contains(string(body), "the secret body") {
		t.Errorf("report returns the body of a REQUIRETLS message:\n%s", body)
	}
	if !strings.Contains(string(body), "text/rfc822-headers") || !strings.Contains(string(body), "Subject: hi") {
		t.Errorf("report lacks the original header:\n%s", body)
	}
}
