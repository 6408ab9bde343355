package imapserver

import (
	"fmt"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// fillInbox grows ann's INBOX to n messages by copying it into itself
// (bodies are shared, one transaction a step), marks all but the last 10
// \Seen and expunges every 1000th, so that the UIDs have gaps.
func fillInbox(tb testing.TB, e *env, n int) {
	ms := growInbox(tb, e, n)
	var seen, gone []uint32
	for i, m := range ms {
		if i%1000 == 499 {
			gone = append(gone, m.UID)
		} else if i < n-10 {
			seen = append(seen, m.UID)
		}
	}
	ctx := tb.Context()
	if _, err := e.st.UpdateFlags(ctx, store.FlagUpdate{MailboxID: e.inbox.ID, UIDs: seen, Op: store.FlagsAdd, Flags: []string{`\Seen`}}); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.st.Expunge(ctx, e.inbox.ID, gone); err != nil {
		tb.Fatal(err)
	}
}

// growInbox copies ann's INBOX into itself until it holds n messages, and
// returns them.
func growInbox(tb testing.TB, e *env, n int) []store.Message {
	ctx := tb.Context()
	for {
		ms, err := e.st.ListMessages(ctx, e.inbox.ID, 1, 0)
		if err != nil {
			tb.Fatal(err)
		}
		if len(ms) >= n {
			return ms
		}
		uids := make([]uint32, 0, min(len(ms), n-len(ms)))
		for _, m := range ms[:min(len(ms), n-len(ms))] {
			uids = append(uids, m.UID)
		}
		if _, err := e.st.Copy(ctx, e.inbox.ID, uids, e.inbox.ID); err != nil {
			tb.Fatal(err)
		}
	}
}

// addHistory grows ann's INBOX by n messages and expunges them, leaving
// their tombstones, as a mailbox's past does.
func addHistory(tb testing.TB, e *env, n int) {
	ms := growInbox(tb, e, len(testMessages)+n)
	var uids []uint32
	for _, m := range ms[len(testMessages):] {
		uids = append(uids, m.UID)
	}
	if _, err := e.st.Expunge(tb.Context(), e.inbox.ID, uids); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkSelect100k measures SELECT of a 100,000-message INBOX over
// IMAPS on loopback, the store (SQLite) filled directly.
func BenchmarkSelect100k(b *testing.B) { benchmarkSelect100k(b, 0, false) }

// BenchmarkSelect100kCold is BenchmarkSelect100k with the select cache
// emptied before every SELECT: the first SELECT of the mailbox since the
// server started.
func BenchmarkSelect100kCold(b *testing.B) { benchmarkSelect100k(b, 0, true) }

// BenchmarkSelect100kAfterHistory and BenchmarkSelect100kColdAfterHistory
// are the two after 50,000 messages were delivered and expunged.
func BenchmarkSelect100kAfterHistory(b *testing.B)     { benchmarkSelect100k(b, 50_000, false) }
func BenchmarkSelect100kColdAfterHistory(b *testing.B) { benchmarkSelect100k(b, 50_000, true) }

func benchmarkSelect100k(b *testing.B, history int, cold bool) {
	e := newEnv(b, Limits{}, 0)
	if history > 0 {
		addHistory(b, e, history)
	}
	fillInbox(b, e, 100_000)
	c := e.connect(b, "imaps", true)
	srv := e.srvs[IMAPS]
	want := fmt.Sprintf("* %d EXISTS", 100_000-100)
	for b.Loop() {
		if cold {
			srv.selects.mu.Lock()
			srv.selects.entries, srv.selects.runs = map[int64]*selectEntry{}, 0
			srv.selects.mu.Unlock()
		}
		u := c.expect("SELECT INBOX", "OK")
		if !strings.Contains(strings.Join(u, "\n"), want) {
			b.Fatalf("SELECT: %q", u)
		}
	}
}
