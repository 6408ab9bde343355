package reputation

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// benchStore is an SQLite store with 10,000 senders, networks and link
// domains counted.
func benchStore(b *testing.B) store.Store {
	st, err := sqlite.Open(b.Context(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	var deltas []store.RepDelta
	for i := range 10000 {
		c := store.RepCounts{Spam: float64(i % 7), UserHam: float64(i % 3)}
		deltas = append(deltas,
			store.RepDelta{Key: store.RepKey{Kind: store.RepSender, Name: fmt.Sprintf("s%d.test", i)}, RepCounts: c},
			store.RepDelta{Key: store.RepKey{Kind: store.RepLink, Name: fmt.Sprintf("l%d.test", i)}, RepCounts: c},
			store.RepDelta{Key: store.RepKey{Kind: store.RepNet, Name: fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)}, RepCounts: c})
		if len(deltas) >= store.MaxRepBatch-3 {
			if err := st.AddReputation(b.Context(), t0, deltas); err != nil {
				b.Fatal(err)
			}
			deltas = deltas[:0]
		}
	}
	return st
}

// BenchmarkAssess: one message with a sender, a network and five links,
// no account (the correspondents are one more query).
func BenchmarkAssess(b *testing.B) {
	r := New(benchStore(b), Policy{}, func() time.Time { return t0.Add(time.Hour) })
	q := Query{SenderDomain: "s17.test", IP: netip.MustParseAddr("10.0.17.9"),
		LinkDomains: []string{"l1.test", "l2.test", "l3.test", "new.test", "www.l5.test"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Assess(b.Context(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecord: one verdict on the same message's seven keys.
func BenchmarkRecord(b *testing.B) {
	r := New(benchStore(b), Policy{}, func() time.Time { return t0.Add(time.Hour) })
	o := Observation{SenderDomain: "s17.test", IP: netip.MustParseAddr("10.0.17.9"),
		LinkDomains: []string{"l1.test", "l2.test", "l3.test", "new.test", "www.l5.test"}, Class: Spam, Source: FromVerdict}
	for b.Loop() {
		if err := r.Record(b.Context(), o); err != nil {
			b.Fatal(err)
		}
	}
}
