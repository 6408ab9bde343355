package sendlimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// alerts is an account.Alerter that keeps what it is sent.
type alerts struct {
	mu   sync.Mutex
	sent []account.Alert
}

func (a *alerts) Send(_ context.Context, al account.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent = append(a.sent, al)
}

func (a *alerts) list() []account.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]account.Alert(nil), a.sent...)
}

type fixture struct {
	st      *sqlite.Store
	acc     *account.Service
	alerts  *alerts
	lim     *Limiter
	now     time.Time
	ann, pm store.Account
}

func newFixture(t testing.TB, limits Limits) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, alerts: &alerts{}, now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	f.acc = &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}, Alerts: f.alerts}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.acc.AddDomain(ctx, "example.org")
	must(err)
	f.ann, err = f.acc.AddAccount(ctx, "ann@example.org", "a long password 1", 0)
	must(err)
	f.pm, err = f.acc.AddAccount(ctx, "admin@example.org", "a long password 2", 0)
	must(err)
	_, err = f.acc.AddAlias(ctx, "postmaster@example.org", []string{"admin@example.org"})
	must(err)
	f.lim = &Limiter{Store: st, Accounts: f.acc, Limits: limits, Now: func() time.Time { return f.now }}
	return f
}

// send checks a message from ann to rcpts at the fixture's time.
func (f *fixture) send(t testing.TB, rcpts ...string) Decision {
	t.Helper()
	d, err := f.lim.Check(context.Background(), f.ann, rcpts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestTrips sends one message after another and checks which message
// trips which limit, for each limit on its own.
func TestTrips(t *testing.T) {
	tests := []struct {
		name   string
		limits Limits
		// every is the time between messages, rcpts the recipients of
		// each (new ones unless fixed).
		every     time.Duration
		rcpts     int
		fixed     bool
		tripAt    int // the message that trips, 1-based
		reasonHas string
	}{
		{"messages per minute", Limits{MessagesPerMinute: 5}, time.Second, 1, true, 6, "messages per minute"},
		{"spread out within the minute limit", Limits{MessagesPerMinute: 5}, 13 * time.Second, 1, true, 0, ""},
		{"recipients per minute", Limits{RecipientsPerMinute: 10}, time.Second, 3, true, 4, "recipients per minute"},
		{"messages per hour", Limits{MessagesPerHour: 30}, time.Minute, 1, true, 31, "messages per hour"},
		{"recipients per hour", Limits{RecipientsPerHour: 30}, time.Minute, 4, true, 8, "recipients per hour"},
		{"messages per day", Limits{MessagesPerDay: 40}, 30 * time.Minute, 1, true, 41, "messages per day"},
		{"recipients per day", Limits{RecipientsPerDay: 40}, 30 * time.Minute, 5, true, 9, "recipients per day"},
		{"new recipients per hour", Limits{NewRecipientsPerHour: 20}, time.Minute, 1, false, 21, "new recipients per hour"},
		{"the same recipients are not new", Limits{NewRecipientsPerHour: 20}, time.Minute, 1, true, 0, ""},
		{"new recipients per day", Limits{NewRecipientsPerDay: 25}, 30 * time.Minute, 1, false, 26, "new recipients per day"},
		{"a burst without history", Limits{BurstFactor: 10, BurstMinimum: 15}, 2 * time.Minute, 1, true, 16, "burst"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.limits)
			for i := 1; i <= 60; i++ {
				var rcpts []string
				for j := range tc.rcpts {
					if tc.fixed {
						rcpts = append(rcpts, fmt.Sprintf("friend%d@far.example", j))
					} else {
						rcpts = append(rcpts, fmt.Sprintf("stranger%d-%d@far.example", i, j))
					}
				}
				d := f.send(t, rcpts...)
				f.now = f.now.Add(tc.every)
				switch {
				case i < tc.tripAt || tc.tripAt == 0:
					if d.Hold {
						t.Fatalf("message %d held (%s), want it to trip at %d", i, d.Reason, tc.tripAt)
					}
				case i == tc.tripAt:
					if !d.Hold || !d.Tripped || !strings.Contains(d.Reason, tc.reasonHas) {
						t.Fatalf("message %d: %+v, want it to trip on %q", i, d, tc.reasonHas)
					}
				default:
					if !d.Hold || d.Tripped || !strings.Contains(d.Reason, tc.reasonHas) {
						t.Fatalf("message %d after the trip: %+v, want held for the first reason", i, d)
					}
				}
			}
		})
	}
}

// TestBurstFollowsHistory checks that an account which usually sends a
// lot may send that much, and is held only far above it.
func TestBurstFollowsHistory(t *testing.T) {
	f := newFixture(t, Limits{})
	// Six days at 6 messages an hour, unchecked, then a burst checked.
	for range 6 * 24 * 6 {
		if d := f.send(t, "friend@far.example"); d.Hold {
			t.Fatalf("held at the usual rate: %s", d.Reason)
		}
		f.now = f.now.Add(10 * time.Minute)
	}
	f.lim.Limits = Limits{BurstFactor: 4, BurstMinimum: 5}
	held := 0
	for i := 1; i <= 40; i++ {
		if d := f.send(t, "friend@far.example"); d.Hold {
			held = i
			break
		}
		f.now = f.now.Add(time.Minute)
	}
	// The usual rate is about 5.1 an hour, 4 times that is about 21,
	// and the last hour holds 5 or 6 messages from before the burst.
	if held < 14 || held > 18 {
		t.Errorf("held at message %d of the burst, want about 16", held)
	}
}

// TestHoldAlertsAndRelease checks what a trip does: the alerts to the
// owner and the postmaster, the log entry, the flag, and release.
func TestHoldAlertsAndRelease(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, Limits{MessagesPerMinute: 2})
	for range 2 {
		if d := f.send(t, "x@far.example"); d.Hold {
			t.Fatal("held too early")
		}
	}
	if d := f.send(t, "Y@far.example"); !d.Tripped {
		t.Fatalf("third message: %+v, want the trip", d)
	}
	f.send(t, "z@far.example")
	got := f.alerts.list()
	if len(got) != 2 {
		t.Fatalf("alerts %+v, want one to the owner and one to the postmaster", got)
	}
	for i, want := range []int64{f.ann.ID, f.pm.ID} {
		if got[i].AccountID != want || got[i].Kind != account.AlertOutboundHeld ||
			!strings.Contains(got[i].Detail, "ann@example.org") || !got[i].Time.Equal(f.now) {
			t.Errorf("alert %d: %+v, want an outbound-held alert to account %d", i, got[i], want)
		}
	}
	holds, err := f.st.ListOutboundHolds(ctx)
	if err != nil || len(holds) != 1 || holds[0].AccountID != f.ann.ID {
		t.Fatalf("holds %+v, %v", holds, err)
	}
	entries, err := f.st.QueryLog(ctx, store.LogQuery{AccountID: f.ann.ID, Kind: "outbound"})
	if err != nil || len(entries) != 1 || entries[0].Outcome != "held" {
		t.Errorf("log %+v, %v", entries, err)
	}

	f.now = f.now.Add(time.Second)
	if _, err := f.lim.Release(ctx, f.ann); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lim.Release(ctx, f.ann); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release: %v, want ErrNotFound", err)
	}
	f.now = f.now.Add(time.Second)
	if d := f.send(t, "x@far.example"); d.Hold {
		t.Errorf("held right after release: %s; the counts must start afresh", d.Reason)
	}
	if d := f.send(t, "x@far.example"); d.Hold {
		t.Errorf("second message after release held: %s", d.Reason)
	}
	if d := f.send(t, "x@far.example"); !d.Tripped {
		t.Errorf("third message after release: %+v, want a new trip", d)
	}
}

// TestReceivedMakesKnown checks that the senders of received mail are not
// new recipients, case aside.
func TestReceivedMakesKnown(t *testing.T) {
	f := newFixture(t, Limits{NewRecipientsPerHour: 1, Correspondents: 100})
	f.lim.Received(context.Background(), f.ann.ID, "Pen.Pal@Far.Example")
	f.lim.Received(context.Background(), f.ann.ID, "") // the null sender is nobody
	if d := f.send(t, "pen.pal@far.example", "new@far.example"); d.Hold {
		t.Fatalf("held: %s; only one recipient is new", d.Reason)
	}
	if d := f.send(t, "pen.pal@far.example"); d.Hold {
		t.Fatalf("held: %s", d.Reason)
	}
	if d := f.send(t, "other@far.example"); !d.Tripped {
		t.Fatalf("%+v, want the second new recipient to trip", d)
	}
}

// TestNoOutsideRecipients checks that a message only for local
// recipients is not counted.
func TestNoOutsideRecipients(t *testing.T) {
	f := newFixture(t, Limits{MessagesPerMinute: 1})
	for range 5 {
		if d := f.send(t); d.Hold {
			t.Fatal("held a message without outside recipients")
		}
	}
	if d := f.send(t, "x@far.example"); d.Hold {
		t.Fatal("the local messages were counted")
	}
}

// TestStoreFailure checks that Check fails, rather than letting mail out
// unchecked, when the store does.
func TestStoreFailure(t *testing.T) {
	f := newFixture(t, DefaultLimits)
	f.st.Close()
	if _, err := f.lim.Check(context.Background(), f.ann, []string{"x@far.example"}); err == nil {
		t.Fatal("no error from a closed store")
	}
}
