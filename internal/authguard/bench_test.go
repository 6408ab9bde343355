package authguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/authguard"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// The figures of docs/benchmarks.md ("Login cost"). Bound the runs:
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/authguard

const (
	benchUser     = "user@example.com"
	benchPassword = "correct horse battery staple"
)

// BenchmarkAdmitRecord measures the Guard's own cost per failed attempt,
// each from a new address so that the table keeps changing.
func BenchmarkAdmitRecord(b *testing.B) {
	l := authguard.DefaultLimits()
	l.BaseDelay, l.MaxDelay = 0, 0
	g := newBenchGuard(b, l, newStore(b))
	ctx := context.Background()
	i := 0
	for b.Loop() {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if g.Admit(ctx, ip, benchUser) == nil {
			g.Record(ctx, ip, benchUser, false)
		}
		i++
	}
}

func newStore(b *testing.B) store.Store {
	st, err := sqlite.Open(context.Background(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func newBenchGuard(b *testing.B, l authguard.Limits, st store.KV) *authguard.Guard {
	g, err := authguard.New(authguard.Options{Limits: l, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// login is what account.Service.Login does with its Guard: Admit, check the
// password, Record. A nil g is no guard.
func login(ctx context.Context, g *authguard.Guard, s *account.Service, ip netip.Addr, address, password string) error {
	if g != nil {
		if err := g.Admit(ctx, ip, address); err != nil {
			return err
		}
	}
	_, err := s.Authenticate(ctx, address, password)
	if g != nil && (err == nil || errors.Is(err, account.ErrAuthFailed)) {
		g.Record(ctx, ip, address, err == nil)
	}
	return err
}

// BenchmarkOwnerUnderFlood measures the owner's login (one op: from
// 127.0.0.3, where the owner logged in before, password checked in full)
// while attackers goroutines guess the account's password as fast as they
// are answered, from one address (127.0.0.2) or each from a network of its
// own, with the Guard in front or without one. Refused attempts pause 1 ms,
// as a client's round trip would. It reports the attackers' password
// checks and refusals during the run. The Guard's delays are scaled down
// (1 ms doubling to 16 ms) to keep the run short; its thresholds are the
// defaults, and MaxConcurrentChecks is the default (twice the CPUs).
func BenchmarkOwnerUnderFlood(b *testing.B) {
	for _, tt := range []struct {
		attackers     int
		spread, guard bool
	}{{0, false, true}, {1, false, true}, {8, false, true}, {64, false, true}, {64, true, true}, {64, false, false}, {64, true, false}} {
		from := "one-address"
		if tt.spread {
			from = "own-networks"
		}
		guard := "guard"
		if !tt.guard {
			guard = "no-guard"
		}
		b.Run(fmt.Sprintf("attackers=%d/%s/%s", tt.attackers, from, guard), func(b *testing.B) {
			ctx := context.Background()
			st := newStore(b)
			s := &account.Service{Store: st, LoginCacheTTL: -1}
			if _, err := s.AddDomain(ctx, "example.com"); err != nil {
				b.Fatal(err)
			}
			if _, err := s.AddAccount(ctx, benchUser, benchPassword, 0); err != nil {
				b.Fatal(err)
			}
			var g *authguard.Guard
			if tt.guard {
				l := authguard.DefaultLimits()
				l.BaseDelay, l.MaxDelay = time.Millisecond, 16*time.Millisecond
				g = newBenchGuard(b, l, st)
			}
			owner := netip.MustParseAddr("127.0.0.3")
			if err := login(ctx, g, s, owner, benchUser, benchPassword); err != nil {
				b.Fatal(err)
			}

			var checked, refused atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for a := range tt.attackers {
				ip := netip.MustParseAddr("127.0.0.2")
				if tt.spread {
					ip = netip.AddrFrom4([4]byte{10, byte(a), 0, 1})
				}
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						err := login(ctx, g, s, ip, benchUser, "guess")
						switch {
						case errors.Is(err, authguard.ErrLockedOut):
							refused.Add(1)
							time.Sleep(time.Millisecond)
						case errors.Is(err, account.ErrAuthFailed):
							checked.Add(1)
						default:
							b.Error(err)
							return
						}
					}
				})
			}
			for b.Loop() {
				if err := login(ctx, g, s, owner, benchUser, benchPassword); err != nil {
					b.Fatalf("owner refused: %v", err)
				}
			}
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(checked.Load()), "attacker-checks")
			b.ReportMetric(float64(refused.Load()), "refused")
		})
	}
}
