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
	ctx := tb.Context()
	for {
		ms, err := e.st.ListMessages(ctx, e.inbox.ID, 1, 0)
		if err != nil {
			tb.Fatal(err)
		}
		if len(ms) >= n {
			break
		}
		uids := make([]uint32, 0, min(len(ms), n-len(ms)))
		for _, m := range ms[:min(len(ms), n-len(ms))] {
			uids = append(uids, m.UID)
		}
		if _, err := e.st.Copy(ctx, e.inbox.ID, uids, e.inbox.ID); err != nil {
			tb.Fatal(err)
		}
	}
	var seen, gone []uint32
	for u := uint32(1); u <= uint32(n); u++ {
		if u%1000 == 500 {
			gone = append(gone, u)
		} else if u <= uint32(n-10) {
			seen = append(seen, u)
		}
	}
	if _, err := e.st.UpdateFlags(ctx, store.FlagUpdate{MailboxID: e.inbox.ID, UIDs: seen, Op: store.FlagsAdd, Flags: []string{`\Seen`}}); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.st.Expunge(ctx, e.inbox.ID, gone); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkSelect100k measures SELECT of a 100,000-message INBOX over
// IMAPS on loopback, the store (SQLite) filled directly.
func BenchmarkSelect100k(b *testing.B) {
	e := newEnv(b, Limits{}, 0)
	fillInbox(b, e, 100_000)
	c := e.connect(b, "imaps", true)
	want := fmt.Sprintf("* %d EXISTS", 100_000-100)
	for b.Loop() {
		u := c.expect("SELECT INBOX", "OK")
		if !strings.Contains(strings.Join(u, "\n"), want) {
			b.Fatalf("SELECT: %q", u)
		}
	}
}

// BenchmarkSelect100kCold is BenchmarkSelect100k with the select cache
// emptied before every SELECT: the first SELECT of the mailbox since the
// server started.
func BenchmarkSelect100kCold(b *testing.B) {
	e := newEnv(b, Limits{}, 0)
	fillInbox(b, e, 100_000)
	c := e.connect(b, "imaps", true)
	srv := e.srvs[IMAPS]
	for b.Loop() {
		srv.selects.mu.Lock()
		srv.selects.entries, srv.selects.runs = map[int64]*selectEntry{}, 0
		srv.selects.mu.Unlock()
		c.expect("SELECT INBOX", "OK")
	}
}
