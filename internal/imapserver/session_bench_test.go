package imapserver

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/textindex"
)

// BenchmarkSession is the session of bench/compare-imap.sh in process, for
// a CPU profile of the whole of it: over IMAPS, LOGIN (remembered after the
// first), SELECT INBOX, FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE) of
// 1000 messages, 10 × UID FETCH BODY.PEEK[] spread over the mailbox,
// SEARCH SUBJECT of one message through the text index, LOGOUT.
//
//	go test -run '^$' -bench 'Session$' -benchtime 200x -cpuprofile cpu.out ./internal/imapserver
func BenchmarkSession(b *testing.B) {
	benchmarkSession(b, 0)
}

// BenchmarkSessionAfterHistory is BenchmarkSession on an INBOX that first
// received 50,000 messages, indexed and then expunged, as
// `HISTORY=50000 bench/compare-imap.sh` does: performance must not decay
// with history. Setting it up takes a few minutes.
func BenchmarkSessionAfterHistory(b *testing.B) {
	benchmarkSession(b, 50000)
}

func benchmarkSession(b *testing.B, history int) {
	e := newEnv(b, Limits{}, 0)
	ix := textindex.New(e.st, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ix.Run(ctx)
	if history > 0 {
		deliverHistory(b, e, ix, history)
	}
	var first, last int64
	for i := range 1000 - len(testMessages) {
		m := e.deliver(b, benchMessage(i))
		if i == 0 {
			first = int64(m.UID)
		}
		last = m.ID
	}
	waitIndexed(b, e, ix, last)
	// The steady state: the index compacted after the history's deletions,
	// as the idle indexer leaves it.
	for more := true; more; {
		var err error
		if more, err = e.st.CompactText(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for _, srv := range e.srvs {
		srv.indexer = ix
	}
	session := func() {
		c := e.connect(b, "imaps", true)
		c.expect("SELECT INBOX", "OK")
		if u := c.expect("FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)", "OK"); len(u) != 1000 {
			b.Fatalf("FETCH 1:* gave %d responses", len(u))
		}
		for i := range 10 {
			c.expect(fmt.Sprintf("UID FETCH %d BODY.PEEK[]", first+int64(i*97)), "OK")
		}
		if u := c.expect(`SEARCH SUBJECT "number 421"`, "OK"); len(u) != 1 || u[0] != "* SEARCH 425" {
			b.Fatalf("SEARCH: %q", u)
		}
		c.expect("LOGOUT", "OK")
		c.conn.Close()
	}
	session() // the first LOGIN checks the password in full
	b.ResetTimer()
	for range b.N {
		session()
	}
}

// deliverHistory delivers n messages to the INBOX while the text index
// follows, then expunges them, as a mailbox's past leaves it.
func deliverHistory(b *testing.B, e *env, ix *textindex.Indexer, n int) {
	var uids []uint32
	var last int64
	for i := range n {
		m := e.deliver(b, benchMessage(100000+i))
		uids = append(uids, m.UID)
		last = m.ID
		if i%1000 == 999 {
			ix.Poke()
		}
	}
	waitIndexed(b, e, ix, last)
	// At once, as STORE 1:* +FLAGS (\Deleted) and EXPUNGE do.
	if _, err := e.st.Expunge(b.Context(), e.inbox.ID, uids); err != nil {
		b.Fatal(err)
	}
}

// waitIndexed waits until the text index has caught up with message last.
func waitIndexed(b *testing.B, e *env, ix *textindex.Indexer, last int64) {
	ix.Poke()
	for deadline := time.Now().Add(5 * time.Minute); ; {
		cur, err := e.st.TextCursor(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if cur >= last {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("text index at %d of %d after 5 minutes", cur, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
