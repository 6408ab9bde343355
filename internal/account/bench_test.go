package account

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store/sqlite"
)

// The benchmarks below give the figures of docs/benchmarks.md ("Login
// cost"). Each argon2id check takes about a tenth of a second and 64 MiB,
// so run them with a bounded -benchtime, for example:
//
//	go test -run '^$' -bench 'Verify|Authenticate|LoginFlood' -benchtime 20x ./internal/account

const benchPassword = "correct horse battery staple"

// BenchmarkVerify measures one argon2id verification at the default
// parameters (those of the default configuration) and at the other
// candidates weighed in docs/benchmarks.md.
func BenchmarkVerify(b *testing.B) {
	for _, tt := range []struct {
		name string
		h    Hasher
	}{
		{"default-t3-m64MiB-p2", DefaultHasher()},
		{"rfc9106-second-t3-m64MiB-p4", Hasher{Time: 3, MemoryKiB: 64 << 10, Threads: 4}},
		{"t3-m64MiB-p1", Hasher{Time: 3, MemoryKiB: 64 << 10, Threads: 1}},
		{"owasp-t2-m19MiB-p1", Hasher{Time: 2, MemoryKiB: 19 << 10, Threads: 1}},
		{"owasp-t1-m46MiB-p1", Hasher{Time: 1, MemoryKiB: 46 << 10, Threads: 1}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			phc, err := tt.h.Hash(benchPassword)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if ok, err := tt.h.Verify(phc, benchPassword); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// benchService returns a Service with the default Hasher on a fresh SQLite
// store, holding the account user@example.com.
func benchService(b *testing.B, s *Service) *Service {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	s.Store = st
	if _, err := s.AddDomain(ctx, "example.com"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.AddAccount(ctx, "user@example.com", benchPassword, 0); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAuthenticate measures a whole login: the account read from the
// store and the password checked in full (uncached), answered by the login
// cache (cached), or burnt for an unknown user.
func BenchmarkAuthenticate(b *testing.B) {
	for _, tt := range []struct {
		name     string
		ttl      time.Duration
		address  string
		password string
	}{
		{"uncached", -1, "user@example.com", benchPassword},
		{"cached", 0, "user@example.com", benchPassword},
		{"wrong-password", 0, "user@example.com", "wrong"},
		{"unknown-user", 0, "nobody@example.com", benchPassword},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := benchService(b, &Service{LoginCacheTTL: tt.ttl})
			ctx := context.Background()
			wantOK := tt.password == benchPassword && tt.address == "user@example.com"
			// The first login fills the cache, when there is one.
			_, _ = s.Authenticate(ctx, tt.address, tt.password)
			for b.Loop() {
				_, err := s.Authenticate(ctx, tt.address, tt.password)
				if wantOK != (err == nil) || err != nil && !errors.Is(err, ErrAuthFailed) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoginFlood runs attackers goroutines sending wrong passwords as
// fast as they are answered, as many connections of an attacker would,
// with MaxConcurrentChecks at its default (twice the CPUs) and, for
// comparison, at 16. It reports the checks per second, the heap's peak
// growth (which the bound, not the number of attackers, decides), and the
// mean time an owner's login (uncached) takes meanwhile. The collector
// runs as in production (GOGC 100), so the peak includes garbage not yet
// collected, as a server's memory does.
func BenchmarkLoginFlood(b *testing.B) {
	for _, tt := range []struct{ attackers, bound int }{{1, 0}, {8, 0}, {64, 0}, {64, 16}} {
		name := fmt.Sprintf("attackers=%d/bound=%s", tt.attackers, "default")
		if tt.bound != 0 {
			name = fmt.Sprintf("attackers=%d/bound=%d", tt.attackers, tt.bound)
		}
		b.Run(name, func(b *testing.B) {
			s := benchService(b, &Service{MaxConcurrentChecks: tt.bound, LoginCacheTTL: -1})
			ctx := context.Background()
			var left atomic.Int64
			left.Store(int64(b.N))
			var ownerTotal time.Duration
			var owners int
			b.ResetTimer()
			start := time.Now()
			peak := heapPeak(func() {
				var wg sync.WaitGroup
				for range tt.attackers {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if _, err := s.Authenticate(ctx, "user@example.com", "guess"); !errors.Is(err, ErrAuthFailed) {
								b.Error(err)
								return
							}
						}
					})
				}
				done := make(chan struct{})
				go func() { wg.Wait(); close(done) }()
				for {
					select {
					case <-done:
						return
					default:
					}
					t0 := time.Now()
					if _, err := s.Authenticate(ctx, "user@example.com", benchPassword); err != nil {
						b.Error(err)
					}
					ownerTotal += time.Since(t0)
					owners++
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checks/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			if owners > 0 {
				b.ReportMetric(float64(ownerTotal.Milliseconds())/float64(owners), "owner-ms")
			}
		})
	}
}

// heapPeak runs fn and returns the most the heap grew meanwhile, sampled
// every 5 ms, garbage included.
func heapPeak(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base {
				peak = max(peak, m.HeapAlloc-base)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak
}
