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
//	go test -run '^$' -bench Session -benchtime 200x -cpuprofile cpu.out ./internal/imapserver
func BenchmarkSession(b *testing.B) {
	e := newEnv(b, Limits{}, 0)
	var last int64
	for i := range 1000 - len(testMessages) {
		last = e.deliver(b, benchMessage(i)).ID
	}
	ix := textindex.New(e.st, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ix.Run(ctx)
	ix.Poke()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		cur, err := e.st.TextCursor(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if cur >= last {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("text index at %d of %d after 2 minutes", cur, last)
		}
		time.Sleep(20 * time.Millisecond)
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
			c.expect(fmt.Sprintf("UID FETCH %d BODY.PEEK[]", 1+i*97), "OK")
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
