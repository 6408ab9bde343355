package imapserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/textindex"
)

// benchMessages is the size of the mailbox BenchmarkSearchText searches.
const benchMessages = 100_000

// BenchmarkSearchText measures UID SEARCH TEXT over a real session on an
// INBOX of 100,000 small generated messages (about 600 bytes, words drawn
// from 5,000 made-up ones), indexed, on SQLite: a rare word, a common one
// (in about 2 % of the messages), a string too short for the trigram
// index, and a text key combined with a flag. Building and indexing the
// mailbox take a few minutes, logged with -v.
//
//	go test -run '^$' -bench SearchText -benchtime 10x -v ./internal/imapserver
func BenchmarkSearchText(b *testing.B) {
	e := newEnv(b, Limits{}, 0)
	start := time.Now()
	fillMailbox(b, e.st, e.inbox, benchMessages)
	delivered := time.Since(start)
	ix := textindex.New(e.st, nil)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ix.Run(ctx); close(done) }()
	for {
		cursor, err := e.st.TextCursor(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if backlog, err := e.st.TextBacklog(ctx, cursor, 1); err != nil || len(backlog) == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	stop()
	<-done
	b.Logf("%d messages delivered in %v, indexed in %v", benchMessages, delivered, time.Since(start)-delivered)

	c := e.connect(b, "imaps", true)
	c.conn.SetDeadline(time.Now().Add(time.Hour))
	c.expect("SELECT INBOX", "OK")
	for _, bc := range []struct{ name, search string }{
		{"rare", "UID SEARCH TEXT marker-rare"},
		{"common", "UID SEARCH TEXT budget"},
		{"short", "UID SEARCH TEXT qz"},
		{"unseen-body", "UID SEARCH UNSEEN BODY marker-rare"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var hits int
			for b.Loop() {
				u := c.expect(bc.search, "OK")
				hits = len(strings.Fields(u[0])) - 2
			}
			b.ReportMetric(float64(hits), "hits")
		})
	}
}

// fillMailbox delivers n generated messages into mb from 32 goroutines.
// Every 1000th message holds "marker-rare"; "budget" is in every 50th.
func fillMailbox(b *testing.B, st store.Store, mb store.Mailbox, n int) {
	words := make([]string, 5000)
	r := rand.New(rand.NewPCG(1, 2))
	syll := []string{"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "da", "fe", "gu", "xe", "bo", "ze", "qu", "wi"}
	for i := range words {
		var w strings.Builder
		for range 2 + r.IntN(3) {
			w.WriteString(syll[r.IntN(len(syll))])
		}
		words[i] = w.String()
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(len(words)), 7))
			for i := range next {
				var body strings.Builder
				fmt.Fprintf(&body, "From: user%d@example.org\r\nTo: ann@example.org\r\nSubject: note %d\r\nMessage-Id: <%d@example.org>\r\n\r\n", i%300, i, i)
				for j := range 70 {
					body.WriteString(words[r.IntN(len(words))])
					if j%12 == 11 {
						body.WriteString("\r\n")
					} else {
						body.WriteByte(' ')
					}
				}
				if i%1000 == 0 {
					body.WriteString("marker-rare ")
				}
				if i%50 == 0 {
					body.WriteString("budget ")
				}
				body.WriteString("\r\n")
				if _, err := st.Deliver(context.Background(), strings.NewReader(body.String()), []store.Target{{MailboxID: mb.ID}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
