package sendlimit

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/postgres"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// BenchmarkCheck measures the decision on one submitted message: the
// store's RecordSend (hold check, correspondents, the record, the counts
// over four windows) and the limits. "quiet" is an account with no
// history, "busy" one that sent 3,000 messages over the past six days (six
// times the default daily limit), so that the week's count scans them.
// Each message has one known recipient, or ten never seen. PostgreSQL runs
// when SEALPOST_TEST_POSTGRES is set.
func BenchmarkCheck(b *testing.B) {
	backends := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		},
	}
	if dsn := os.Getenv("SEALPOST_TEST_POSTGRES"); dsn != "" {
		backends["postgres"] = func(b *testing.B) store.Store {
			st, err := postgres.Open(context.Background(), storetest.PostgresDatabase(b, dsn, ""), postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		open := backends[backend]
		if open == nil {
			continue
		}
		for _, history := range []int{0, 3000} {
			for _, fresh := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/%s", backend, map[bool]string{false: "quiet", true: "busy"}[history > 0],
					map[bool]string{false: "1-known", true: "10-new"}[fresh])
				b.Run(name, func(b *testing.B) { benchCheck(b, open(b), history, fresh) })
			}
		}
	}
}

func benchCheck(b *testing.B, st store.Store, history int, fresh bool) {
	ctx := context.Background()
	acc := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	if _, err := acc.AddDomain(ctx, "example.org"); err != nil {
		b.Fatal(err)
	}
	ann, err := acc.AddAccount(ctx, "ann@example.org", "a long password 1", 0)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Truncate(time.Microsecond)
	start := now.Add(-6 * 24 * time.Hour)
	for i := range history {
		at := start.Add(time.Duration(i) * 6 * 24 * time.Hour / time.Duration(history))
		if _, err := st.RecordSend(ctx, ann.ID, at, []string{fmt.Sprintf("old%d@far.example", i%500)}, 2000); err != nil {
			b.Fatal(err)
		}
	}
	// No limit is checked: every message is counted and decided in full,
	// and none trips.
	lim := &Limiter{Store: st, Accounts: acc, Limits: Limits{Correspondents: 2000}, Now: func() time.Time { return now }}
	rcpts := []string{"friend@far.example"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(time.Second)
		if fresh {
			rcpts = rcpts[:0]
			for j := range 10 {
				rcpts = append(rcpts, fmt.Sprintf("new%d-%d@far.example", i, j))
			}
		}
		d, err := lim.Check(ctx, ann, rcpts)
		if err != nil || d.Hold {
			b.Fatal(d, err)
		}
	}
}

// BenchmarkExceeded measures the limits alone, on counts in hand.
func BenchmarkExceeded(b *testing.B) {
	c := store.SendCounts{Minute: store.SendWindow{Messages: 3, Recipients: 4, New: 1},
		Hour: store.SendWindow{Messages: 30, Recipients: 40, New: 10}, Day: store.SendWindow{Messages: 200, Recipients: 300, New: 50},
		Week: store.SendWindow{Messages: 900, Recipients: 1200, New: 300}}
	for b.Loop() {
		if r := DefaultLimits.Exceeded(c); r != "" {
			b.Fatal(r)
		}
	}
}
