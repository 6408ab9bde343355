package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// BenchDeliver measures durable delivery of 4 KiB messages into one
// mailbox, one Deliver call at a time, and reports msgs/s. It creates its
// own domain and account, so s may be shared between runs.
func BenchDeliver(b *testing.B, s store.Store) {
	inbox, body := benchSetup(b, s)
	targets := []store.Target{{MailboxID: inbox.ID}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.Deliver(context.Background(), bytes.NewReader(body), targets); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchDeliverParallel is BenchDeliver with deliveries from several
// goroutines at once (b.SetParallelism sets how many per CPU), as an SMTP
// server with many sessions makes them.
func BenchDeliverParallel(b *testing.B, s store.Store) {
	inbox, body := benchSetup(b, s)
	targets := []store.Target{{MailboxID: inbox.ID}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Deliver(context.Background(), bytes.NewReader(body), targets); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchSetup makes a mailbox of its own and a 4 KiB body.
func benchSetup(b *testing.B, s store.Store) (store.Mailbox, []byte) {
	ctx := context.Background()
	domain := fmt.Sprintf("bench-%d.test", time.Now().UnixNano())
	if _, err := s.CreateDomain(ctx, domain); err != nil {
		b.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.NewAccount{Address: "bench@" + domain, Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
	if err != nil {
		b.Fatal(err)
	}
	inbox, err := s.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	return inbox, bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 64)
}
