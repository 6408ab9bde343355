package authguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store/teststore"

	"sealpost.dev/sealpost/internal/store"
)

// guard is the interface account.Service consults (account.Guard); it is
// copied here so that the account package need not be imported.
type guard interface {
	Admit(ctx context.Context, ip netip.Addr, address string) error
	Record(ctx context.Context, ip netip.Addr, address string, ok bool)
}

var _ guard = (*Guard)(nil)

// fakeClock's Sleep advances the time instead of waiting, and records the
// waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	frozen bool // Sleep returns at once without advancing the time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen {
		c.now = c.now.Add(d)
	}
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// takeSleeps returns the waits since the last call.
func (c *fakeClock) takeSleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sleeps
	c.sleeps = nil
	return s
}

// memKV is a store.KV in memory that counts its reads and writes.
type memKV struct {
	mu         sync.Mutex
	vals       map[string][]byte
	exp        map[string]time.Time
	now        func() time.Time
	gets, puts int
	failGet    error
}

func newMemKV(now func() time.Time) *memKV {
	return &memKV{vals: map[string][]byte{}, exp: map[string]time.Time{}, now: now}
}

func (m *memKV) PutValue(_ context.Context, ns, key string, value []byte, expires time.Time) error {
	if err := store.CheckValue(ns, key, value); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	m.vals[ns+"\x00"+key] = append([]byte{}, value...)
	m.exp[ns+"\x00"+key] = expires
	return nil
}

func (m *memKV) GetValue(_ context.Context, ns, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.failGet != nil {
		return nil, m.failGet
	}
	v, ok := m.vals[ns+"\x00"+key]
	if !ok || !m.now().Before(m.exp[ns+"\x00"+key]) {
		return nil, store.ErrNotFound
	}
	return v, nil
}

func (m *memKV) AddValue(_ context.Context, ns, key string, value []byte, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.vals[ns+"\x00"+key]; ok && m.now().Before(m.exp[ns+"\x00"+key]) {
		return false, nil
	}
	m.puts++
	m.vals[ns+"\x00"+key] = append([]byte{}, value...)
	m.exp[ns+"\x00"+key] = expires
	return true, nil
}

func (m *memKV) DeleteValue(_ context.Context, ns, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.vals, ns+"\x00"+key)
	return nil
}

func (m *memKV) PruneValues(context.Context, time.Time) (int64, error) { return 0, nil }

func (m *memKV) counts() (gets, puts int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets, m.puts
}

func newTestGuard(t testing.TB, l Limits) (*Guard, *fakeClock, *memKV) {
	t.Helper()
	clock := newFakeClock()
	kv := newMemKV(clock.Now)
	g, err := New(Options{Limits: l, Store: kv, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return g, clock, kv
}

var ctx = context.Background()

const (
	owner    = "owner@example.com"
	other    = "other@example.com"
	attacker = "127.0.0.2"
	ownerIP  = "127.0.0.3"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// lockOf returns the lock-out err carries, failing the test if it is
// another error.
func lockOf(t *testing.T, err error) *LockError {
	t.Helper()
	if err == nil {
		return nil
	}
	var le *LockError
	if !errors.As(err, &le) || !errors.Is(err, ErrLockedOut) {
		t.Fatalf("error %v is not a lock-out", err)
	}
	return le
}

// failN records n failures of address from from, without Admit.
func failN(g *Guard, from netip.Addr, address string, n int) {
	for range n {
		g.Record(ctx, from, address, false)
	}
}

func TestWindow(t *testing.T) {
	const length = 10 * time.Minute
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name  string
		adds  []time.Duration // offsets from t0
		at    time.Duration
		count float64
	}{
		{"empty", nil, 0, 0},
		{"same bucket", []time.Duration{0, time.Minute, 2 * time.Minute}, 3 * time.Minute, 3},
		{"previous bucket half over", []time.Duration{0, 0, 0, 0}, 15 * time.Minute, 2},
		{"previous plus current", []time.Duration{0, 0, 0, 0, 12 * time.Minute}, 15 * time.Minute, 3},
		{"two buckets on", []time.Duration{0, 0, 0, 0}, 20 * time.Minute, 0},
		{"long after", []time.Duration{0, 0}, 24 * time.Hour, 0},
		{"at the bucket's start", []time.Duration{0, 0}, 10 * time.Minute, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			for _, d := range tt.adds {
				w.add(t0.Add(d), length)
			}
			if w.start.IsZero() {
				w.roll(t0, length)
			}
			if got := w.count(t0.Add(tt.at), length); got != tt.count {
				t.Errorf("count = %v, want %v", got, tt.count)
			}
		})
	}
}

func TestDelays(t *testing.T) {
	l := DefaultLimits()
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0},
		{1, 250 * time.Millisecond},
		{2, 500 * time.Millisecond},
		{3, time.Second},
		{4, 2 * time.Second},
		{5, 4 * time.Second},
		{9, 4 * time.Second},
	} {
		t.Run(fmt.Sprint(tt.failures), func(t *testing.T) {
			g, clock, _ := newTestGuard(t, l)
			failN(g, ip(attacker), owner, tt.failures)
			if err := g.Admit(ctx, ip(attacker), owner); err != nil {
				t.Fatal(err)
			}
			var got time.Duration
			if s := clock.takeSleeps(); len(s) > 0 {
				got = s[0]
			}
			if got != tt.want {
				t.Errorf("delay after %d failures = %v, want %v", tt.failures, got, tt.want)
			}
			// The delay runs from the last failure: time already passed
			// counts.
			g, clock, _ = newTestGuard(t, l)
			failN(g, ip(attacker), owner, tt.failures)
			clock.advance(tt.want)
			if err := g.Admit(ctx, ip(attacker), owner); err != nil || len(clock.takeSleeps()) != 0 {
				t.Errorf("Admit after the delay passed: err %v, or it waited", err)
			}
		})
	}
}

func TestLockOuts(t *testing.T) {
	type attempt struct {
		from, address string
		locked        string // "" if admitted, else the Kind of the lock
	}
	for _, tt := range []struct {
		name    string
		limits  func(*Limits)
		prepare func(g *Guard, clock *fakeClock)
		check   []attempt
	}{{
		name: "an IP address locked after 10 failures",
		prepare: func(g *Guard, _ *fakeClock) {
			failN(g, ip(attacker), owner, 10)
		},
		check: []attempt{{attacker, owner, "ip"}, {attacker, other, "ip"}, {ownerIP, owner, ""}, {"127.0.0.4", other, ""}},
	}, {
		name: "9 failures lock nothing",
		prepare: func(g *Guard, _ *fakeClock) {
			failN(g, ip(attacker), owner, 9)
		},
		check: []attempt{{attacker, owner, ""}},
	}, {
		name: "loopback is not exempt, IPv4-mapped IPv6 is the IPv4 address",
		prepare: func(g *Guard, _ *fakeClock) {
			failN(g, ip("::ffff:127.0.0.2"), owner, 10)
		},
		check: []attempt{{attacker, owner, "ip"}, {"::ffff:127.0.0.2", owner, "ip"}},
	}, {
		name: "a network locked after 50 failures from its addresses",
		prepare: func(g *Guard, _ *fakeClock) {
			for i := range 50 {
				failN(g, ip(fmt.Sprintf("198.51.100.%d", i)), fmt.Sprintf("u%d@example.com", i), 1)
			}
		},
		check: []attempt{{"198.51.100.200", other, "network"}, {"198.51.101.1", other, ""}},
	}, {
		name: "an IPv6 /64 is one network",
		prepare: func(g *Guard, _ *fakeClock) {
			for i := range 50 {
				failN(g, ip(fmt.Sprintf("2001:db8:1:2::%x", i+1)), other, 1)
			}
		},
		check: []attempt{{"2001:db8:1:2:ffff::1", owner, "network"}, {"2001:db8:1:3::1", owner, ""}},
	}, {
		name:   "the network size is configurable",
		limits: func(l *Limits) { l.IPv6Prefix = 48 },
		prepare: func(g *Guard, _ *fakeClock) {
			for i := range 50 {
				failN(g, ip(fmt.Sprintf("2001:db8:1:%x::1", i)), other, 1)
			}
		},
		check: []attempt{{"2001:db8:1:ffff::1", owner, "network"}, {"2001:db8:2::1", owner, ""}},
	}, {
		name: "an account locked against untrusted networks, not trusted ones",
		prepare: func(g *Guard, _ *fakeClock) {
			g.Record(ctx, ip(ownerIP), owner, true)
			for i := range 50 {
				failN(g, ip(fmt.Sprintf("10.0.%d.1", i)), owner, 1)
			}
		},
		check: []attempt{{"192.0.2.1", owner, "account"}, {ownerIP, owner, ""}, {"127.0.0.99", owner, ""}, {"192.0.2.1", other, ""}},
	}, {
		name: "the owner's trusted network admitted while it is locked for others",
		prepare: func(g *Guard, _ *fakeClock) {
			g.Record(ctx, ip(ownerIP), owner, true)
			for i := range 50 {
				failN(g, ip(fmt.Sprintf("127.0.0.%d", 100+i)), other, 1)
			}
		},
		check: []attempt{{"127.0.0.4", other, "network"}, {ownerIP, owner, ""}},
	}, {
		name: "the owner's own IP address is still counted",
		prepare: func(g *Guard, _ *fakeClock) {
			g.Record(ctx, ip(ownerIP), owner, true)
			failN(g, ip(ownerIP), owner, 10)
		},
		check: []attempt{{ownerIP, owner, "ip"}},
	}, {
		name: "a lock-out ends",
		prepare: func(g *Guard, clock *fakeClock) {
			failN(g, ip(attacker), owner, 10)
			clock.advance(15 * time.Minute)
		},
		check: []attempt{{attacker, owner, ""}},
	}, {
		name: "account addresses compare without case",
		prepare: func(g *Guard, _ *fakeClock) {
			for i := range 50 {
				failN(g, ip(fmt.Sprintf("10.0.%d.1", i)), "Owner@Example.COM", 1)
			}
		},
		check: []attempt{{"192.0.2.1", owner, "account"}},
	}, {
		name: "an attempt without an IP address is counted on the account only",
		prepare: func(g *Guard, _ *fakeClock) {
			failN(g, netip.Addr{}, owner, 50)
		},
		check: []attempt{{"", owner, "account"}, {"", other, ""}},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			l := DefaultLimits()
			if tt.limits != nil {
				tt.limits(&l)
			}
			g, clock, _ := newTestGuard(t, l)
			tt.prepare(g, clock)
			for _, a := range tt.check {
				var from netip.Addr
				if a.from != "" {
					from = ip(a.from)
				}
				le := lockOf(t, g.Admit(ctx, from, a.address))
				switch {
				case a.locked == "" && le != nil:
					t.Errorf("%s from %s: refused (%v), want admitted", a.address, a.from, le)
				case a.locked != "" && le == nil:
					t.Errorf("%s from %s: admitted, want a lock-out of the %s", a.address, a.from, a.locked)
				case le != nil && le.Kind != a.locked:
					t.Errorf("%s from %s: %v, want a lock-out of the %s", a.address, a.from, le, a.locked)
				}
			}
		})
	}
}

func TestLockOutsGrow(t *testing.T) {
	g, clock, _ := newTestGuard(t, DefaultLimits())
	var got []time.Duration
	for range 9 {
		failN(g, ip(attacker), owner, 10)
		le := lockOf(t, g.Admit(ctx, ip(attacker), owner))
		if le == nil {
			t.Fatal("not locked out after 10 failures")
		}
		d := le.Until.Sub(clock.Now())
		got = append(got, d)
		clock.advance(d)
	}
	want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour,
		8 * time.Hour, 16 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lock-outs %v, want %v", got, want)
	}
	// Forgotten a day after the last one ended.
	clock.advance(24 * time.Hour)
	failN(g, ip(attacker), owner, 10)
	if le := lockOf(t, g.Admit(ctx, ip(attacker), owner)); le == nil || le.Until.Sub(clock.Now()) != 15*time.Minute || le.Strikes != 1 {
		t.Errorf("after a quiet day: %v, want a first lock-out of 15m", le)
	}
}

// TestBruteForce is the attack of the acceptance test: 2,000 attempts on
// one account from 127.0.0.2 are slowed, then locked out, while the owner,
// who logged in from 127.0.0.3 before, still gets in without delay; then
// the same attack from many networks locks the account for every network
// but the owner's.
func TestBruteForce(t *testing.T) {
	g, clock, _ := newTestGuard(t, DefaultLimits())
	g.Record(ctx, ip(ownerIP), owner, true)
	clock.advance(time.Hour)

	var delays []time.Duration
	checked, refused := 0, 0
	start := clock.Now()
	for i := range 2000 {
		err := g.Admit(ctx, ip(attacker), owner)
		delays = append(delays, clock.takeSleeps()...)
		if lockOf(t, err) != nil {
			refused++
			clock.advance(time.Second) // an attacker retrying every second
		} else {
			checked++
			g.Record(ctx, ip(attacker), owner, false)
		}
		if i%100 == 0 {
			if err := g.Admit(ctx, ip(ownerIP), owner); err != nil {
				t.Fatalf("attempt %d: owner refused: %v", i, err)
			}
			if s := clock.takeSleeps(); len(s) > 0 {
				t.Fatalf("attempt %d: owner delayed %v", i, s)
			}
		}
	}
	elapsed := clock.Now().Sub(start)
	t.Logf("2000 attempts over %v: %d checked, %d refused, delays %v", elapsed, checked, refused, delays)
	wantFirst := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}
	if len(delays) < len(wantFirst) || fmt.Sprint(delays[:len(wantFirst)]) != fmt.Sprint(wantFirst) {
		t.Errorf("first delays %v, want them to start %v", delays, wantFirst)
	}
	// 10 checks before the first lock-out (15m), then one each time a
	// lock-out ends (15m, 30m, ...): over about 35 minutes, at most a
	// dozen password checks.
	if checked > 12 || refused < 1900 {
		t.Errorf("%d passwords checked and %d refused, want at most 12 checked", checked, refused)
	}
	if locks := g.Locked(); len(locks) != 1 || locks[0].Kind != "ip" || locks[0].Key != attacker {
		t.Errorf("Locked() = %+v, want the attacker's address", locks)
	}

	// The same attack spread over many networks locks the account.
	for i := range 60 {
		from := ip(fmt.Sprintf("10.%d.0.1", i))
		if err := g.Admit(ctx, from, owner); lockOf(t, err) != nil {
			continue
		}
		g.Record(ctx, from, owner, false)
	}
	clock.takeSleeps()
	if le := lockOf(t, g.Admit(ctx, ip("192.0.2.7"), owner)); le == nil || le.Kind != "account" {
		t.Fatalf("from a new network during a spread attack: %v, want the account locked", le)
	}
	if err := g.Admit(ctx, ip(ownerIP), owner); err != nil {
		t.Errorf("owner refused while the account is locked: %v", err)
	}
	if s := clock.takeSleeps(); len(s) > 0 {
		t.Errorf("owner delayed %v while the account is locked", s)
	}
	g.Record(ctx, ip(ownerIP), owner, true)

	// The administrator lifts the account's lock-out.
	if !g.Unlock(owner) {
		t.Error("Unlock(owner) = false")
	}
	if err := g.Admit(ctx, ip("192.0.2.7"), owner); err != nil {
		t.Errorf("after Unlock: %v", err)
	}
	if !g.Unlock(attacker) || g.Unlock(attacker) {
		t.Error("Unlock(attacker) twice: want true then false")
	}
}

func TestTrustSurvivesRestart(t *testing.T) {
	for name, openStore := range teststore.Backends(t) {
		t.Run(name, func(t *testing.T) { testTrustSurvivesRestart(t, openStore) })
	}
}

func testTrustSurvivesRestart(t *testing.T, openStore func(t *testing.T) store.Store) {
	clock := newFakeClock()
	var st store.Store
	// open starts the server again: a new store connection and a new Guard.
	open := func() *Guard {
		if st != nil {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
		st = openStore(t)
		g, err := New(Options{Limits: DefaultLimits(), Store: st, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	defer func() { st.Close() }()
	lockAccount := func(g *Guard) {
		for i := range 50 {
			failN(g, ip(fmt.Sprintf("10.0.%d.1", i)), owner, 1)
		}
	}
	g := open()
	g.Record(ctx, ip(ownerIP), owner, true)
	clock.advance(time.Minute)
	g.Record(ctx, ip("2001:db8::5"), owner, true)

	g = open() // a restart: counts forgotten, trust kept
	if len(g.Locked()) != 0 {
		t.Errorf("lock-outs after a restart: %v", g.Locked())
	}
	lockAccount(g)
	if err := g.Admit(ctx, ip("127.0.0.200"), owner); err != nil {
		t.Errorf("trusted network after a restart: %v", err)
	}
	if err := g.Admit(ctx, ip("2001:db8::ffff"), owner); err != nil {
		t.Errorf("trusted IPv6 network after a restart: %v", err)
	}
	if lockOf(t, g.Admit(ctx, ip("127.0.1.1"), owner)) == nil {
		t.Error("untrusted network admitted")
	}
	nets, err := g.TrustedNetworks(ctx, owner)
	if err != nil || len(nets) != 2 || nets[0].Network.String() != "2001:db8::/64" || nets[1].Network.String() != "127.0.0.0/24" {
		t.Errorf("TrustedNetworks = %v, %v", nets, err)
	}

	// Trust ends TrustPeriod after the last login from the network.
	clock.advance(DefaultLimits().TrustPeriod)
	g = open()
	lockAccount(g)
	if lockOf(t, g.Admit(ctx, ip(ownerIP), owner)) == nil {
		t.Error("network still trusted after the trust period")
	}

	// ForgetTrust ends it at once.
	g.Record(ctx, ip(ownerIP), owner, true)
	if err := g.ForgetTrust(ctx, owner); err != nil {
		t.Fatal(err)
	}
	g = open()
	lockAccount(g)
	if lockOf(t, g.Admit(ctx, ip(ownerIP), owner)) == nil {
		t.Error("network trusted after ForgetTrust")
	}
}

// TestTrustStoreTraffic checks that trust costs the store little: no read
// for an account without failures, one read per trustRecheck for one under
// attack, one write per trustRefresh for repeated logins.
func TestTrustStoreTraffic(t *testing.T) {
	g, clock, kv := newTestGuard(t, DefaultLimits())
	for range 100 {
		g.Record(ctx, ip(ownerIP), owner, true)
		if err := g.Admit(ctx, ip(ownerIP), owner); err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Minute)
	}
	if _, puts := kv.counts(); puts != 1 {
		t.Errorf("100 logins within 2h: %d writes, want 1", puts)
	}
	clock.advance(trustRefresh)
	g.Record(ctx, ip(ownerIP), owner, true)
	gets0, puts := kv.counts()
	if puts != 2 {
		t.Errorf("a login a day later: %d writes in all, want 2", puts)
	}
	failN(g, ip("10.0.0.1"), owner, 1)
	for range 100 {
		_ = g.Admit(ctx, ip("10.9.0.1"), owner)
		clock.advance(time.Second)
	}
	if gets, _ := kv.counts(); gets-gets0 > 1 {
		t.Errorf("100 attempts within 2m: %d reads, want at most 1", gets-gets0)
	}

	// A store that fails protects the account as untrusted.
	kv.failGet = errors.New("store down")
	clock.advance(trustRecheck)
	failN(g, ip("10.0.0.1"), owner, 60)
	if lockOf(t, g.Admit(ctx, ip(ownerIP), owner)) == nil {
		t.Error("admitted as trusted while the store fails")
	}
}

func TestAdmitContext(t *testing.T) {
	g, _, _ := newTestGuard(t, DefaultLimits())
	failN(g, ip(attacker), owner, 3)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.Admit(cctx, ip(attacker), owner); !errors.Is(err, context.Canceled) {
		t.Errorf("Admit with a cancelled context = %v, want context.Canceled", err)
	}

	// The real clock waits, and gives up when ctx does.
	l := DefaultLimits()
	l.BaseDelay = time.Second
	g, err := New(Options{Limits: l, Store: newMemKV(time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	failed := time.Now()
	failN(g, ip(attacker), owner, 1)
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err = g.Admit(tctx, ip(attacker), owner)
	if took := time.Since(failed); !errors.Is(err, context.DeadlineExceeded) || took >= time.Second {
		t.Errorf("Admit with a 20ms deadline, 1s owed: %v after %v", err, took)
	}
	if err := g.Admit(ctx, ip(attacker), owner); err != nil || time.Since(failed) < time.Second {
		t.Errorf("Admit with 1s owed: %v after %v", err, time.Since(failed))
	}
}

// TestMemoryBound sprays 100,000 IPv6 sources, each in its own /64 and
// after its own account, and checks that the Guard keeps no more than its
// cap while the lock-out of the real attacker survives the flood.
func TestMemoryBound(t *testing.T) {
	l := DefaultLimits()
	l.MaxTracked = 10000
	g, clock, _ := newTestGuard(t, l)
	failN(g, ip(attacker), owner, 10)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 100000 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i), 15: 1})
		g.Record(ctx, a, fmt.Sprintf("user%d@example.com", i), false)
		if i%1000 == 0 {
			clock.advance(time.Second)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := g.tracked(); n > l.MaxTracked {
		t.Errorf("tracking %d keys, cap %d", n, l.MaxTracked)
	}
	t.Logf("%d keys tracked; heap grew %d KiB (%d bytes a key)", g.tracked(), (int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024,
		(int64(after.HeapAlloc)-int64(before.HeapAlloc))/int64(g.tracked()))
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1024*int64(l.MaxTracked) {
		t.Errorf("heap grew %d bytes for %d keys: more than 1 KiB a key", grew, l.MaxTracked)
	}
	if lockOf(t, g.Admit(ctx, ip(attacker), owner)) == nil {
		t.Error("the attacker's lock-out was forgotten in the flood")
	}

	// Attempts on many accounts with failures make the Guard ask for their
	// trusted networks; the answers it remembers are bounded too.
	for i := range 2 * l.MaxTracked {
		address := fmt.Sprintf("sprayed%d@example.com", i)
		g.Record(ctx, ip("192.0.2.1"), address, false)
		_ = g.Admit(ctx, ip("198.51.100.1"), address)
	}
	g.mu.Lock()
	trustAnswers := len(g.trust)
	g.mu.Unlock()
	if trustAnswers == 0 || trustAnswers > l.MaxTracked {
		t.Errorf("%d trust answers remembered, want 1 to %d", trustAnswers, l.MaxTracked)
	}

	// Once failures stop, the table empties as new ones come.
	clock.advance(l.MaxLockDuration + time.Hour)
	for range 100 {
		g.Record(ctx, ip("192.0.2.1"), owner, false)
	}
	if n := g.tracked(); n > l.MaxTracked-100 {
		t.Errorf("after a quiet day still %d keys", n)
	}
}

func TestConcurrent(t *testing.T) {
	l := DefaultLimits()
	l.MaxTracked = 500
	g, _, _ := newTestGuard(t, l)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				from := ip(fmt.Sprintf("10.%d.%d.1", w, i%250))
				address := fmt.Sprintf("u%d@example.com", i%7)
				if g.Admit(ctx, from, address) == nil {
					g.Record(ctx, from, address, i%5 == 0)
				}
				if i%50 == 0 {
					g.Locked()
					g.Unlock(address)
				}
			}
		})
	}
	wg.Wait()
	if n := g.tracked(); n > l.MaxTracked {
		t.Errorf("tracking %d keys, cap %d", n, l.MaxTracked)
	}
}

func TestLimitsCheck(t *testing.T) {
	if err := DefaultLimits().Check(); err != nil {
		t.Fatalf("DefaultLimits: %v", err)
	}
	for _, tt := range []struct {
		name string
		set  func(*Limits)
	}{
		{"IPv4 prefix", func(l *Limits) { l.IPv4Prefix = 33 }},
		{"IPv6 prefix", func(l *Limits) { l.IPv6Prefix = 8 }},
		{"delays", func(l *Limits) { l.MaxDelay = l.BaseDelay / 2 }},
		{"long delay", func(l *Limits) { l.MaxDelay = 2 * time.Minute }},
		{"threshold", func(l *Limits) { l.IPFailures = 0 }},
		{"window", func(l *Limits) { l.AccountWindow = 0 }},
		{"lock", func(l *Limits) { l.MaxLockDuration = l.LockDuration - 1 }},
		{"trust", func(l *Limits) { l.TrustPeriod = time.Minute }},
		{"tracked", func(l *Limits) { l.MaxTracked = 10 }},
	} {
		l := DefaultLimits()
		tt.set(&l)
		if err := l.Check(); err == nil {
			t.Errorf("%s: Check passed %+v", tt.name, l)
		}
		if _, err := New(Options{Limits: l, Store: newMemKV(time.Now)}); err == nil {
			t.Errorf("%s: New accepted %+v", tt.name, l)
		}
	}
	if _, err := New(Options{Limits: DefaultLimits()}); err == nil {
		t.Error("New without a store succeeded")
	}
}

// TestInProgress checks that attempts admitted but not yet recorded count
// towards the thresholds, so many connections at once get no more password
// checks than one.
func TestInProgress(t *testing.T) {
	g, clock, _ := newTestGuard(t, DefaultLimits())
	for i := range 10 {
		if err := g.Admit(ctx, ip(attacker), owner); err != nil {
			t.Fatalf("attempt %d of 10 at once: %v", i+1, err)
		}
	}
	le := lockOf(t, g.Admit(ctx, ip(attacker), owner))
	if le == nil || le.Kind != "ip" || le.InProgress != 10 {
		t.Fatalf("11th attempt at once: %v, want refused with 10 in progress", le)
	}
	if len(g.Locked()) != 0 {
		t.Errorf("Locked() = %v: attempts in progress are no lock-out", g.Locked())
	}
	g.Record(ctx, ip(attacker), owner, false)
	if le := lockOf(t, g.Admit(ctx, ip(attacker), owner)); le == nil || le.InProgress != 9 || le.Failures != 1 {
		t.Errorf("after one failure: %v, want refused with 1 failure and 9 in progress", le)
	}
	g.Record(ctx, ip(attacker), owner, true)
	if err := g.Admit(ctx, ip(attacker), owner); err != nil {
		t.Errorf("after one success: %v", err)
	}
	// Outcomes never told lapse.
	clock.advance(pendingLapse)
	if err := g.Admit(ctx, ip(attacker), owner); err != nil {
		t.Errorf("after pendingLapse: %v", err)
	}

	// The account's threshold counts attempts in progress from anywhere,
	// but not against its trusted networks.
	g, _, _ = newTestGuard(t, DefaultLimits())
	g.Record(ctx, ip(ownerIP), owner, true)
	for i := range 50 {
		if err := g.Admit(ctx, ip(fmt.Sprintf("10.0.%d.1", i)), owner); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if le := lockOf(t, g.Admit(ctx, ip("192.0.2.1"), owner)); le == nil || le.Kind != "account" {
		t.Errorf("51st attempt on the account at once: %v, want refused", le)
	}
	if err := g.Admit(ctx, ip(ownerIP), owner); err != nil {
		t.Errorf("owner from a trusted network: %v", err)
	}
}

// TestFloodOneAddress runs 64 goroutines guessing at once from one
// address: no more than IPFailures passwords are checked. The clock stands
// still, as the goroutines' waits overlap in real time rather than add up.
func TestFloodOneAddress(t *testing.T) {
	g, clock, _ := newTestGuard(t, DefaultLimits())
	clock.frozen = true
	var checked sync.WaitGroup
	var mu sync.Mutex
	nChecked := 0
	for range 64 {
		checked.Go(func() {
			for range 20 {
				if g.Admit(ctx, ip(attacker), owner) != nil {
					continue
				}
				mu.Lock()
				nChecked++
				mu.Unlock()
				g.Record(ctx, ip(attacker), owner, false)
			}
		})
	}
	checked.Wait()
	if nChecked != 10 {
		t.Errorf("%d passwords checked, want 10", nChecked)
	}
}

// TestLockOutLogged checks that lock-outs and unlocks reach the log, for
// the administrator to see what the guard did.
func TestLockOutLogged(t *testing.T) {
	var buf bytes.Buffer
	clock := newFakeClock()
	g, err := New(Options{Limits: DefaultLimits(), Store: newMemKV(clock.Now), Clock: clock,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	failN(g, ip(attacker), owner, 10)
	g.Unlock(attacker)
	got := buf.String()
	for _, want := range []string{
		`msg="authguard: locked out" kind=ip key=127.0.0.2 until=2026-11-22T12:15:00.000Z failures=10 strikes=1`,
		`msg="authguard: unlocked" kind=ip key=127.0.0.2`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}

func TestNoDelay(t *testing.T) {
	l := DefaultLimits()
	l.BaseDelay = 0
	l.AccountFailures = 100000
	g, clock, _ := newTestGuard(t, l)
	for i := range 5000 {
		failN(g, ip(fmt.Sprintf("10.%d.%d.1", i/250, i%250)), owner, 1)
	}
	if err := g.Admit(ctx, ip("192.0.2.1"), owner); err != nil || len(clock.takeSleeps()) != 0 {
		t.Errorf("with base_delay 0 after 5000 failures: %v, or it waited", err)
	}
}
