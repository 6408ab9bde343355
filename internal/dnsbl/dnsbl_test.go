package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// world starts the test DNS server of testdata/world.zone and returns a
// client of it with its cache off, so every call reaches the server.
func world(t *testing.T) (*dnstest.Server, dnsx.Resolver) {
	t.Helper()
	zone, err := os.ReadFile("testdata/world.zone")
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.Start(t, string(zone))
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{CacheSize: -1, Timeout: 300 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	return srv, r
}

var (
	ipListed = netip.MustParseAddr("192.0.2.2")
	ipOther  = netip.MustParseAddr("192.0.2.3")
)

func TestCheck(t *testing.T) {
	_, r := world(t)
	tests := []struct {
		name    string
		ip      string
		zone    Zone
		want    string // the answer, "" when not listed
		reason  string
		wantErr error
	}{
		{"listed", "192.0.2.2", Zone{Name: "ip.test"}, "127.0.0.2", "Listed; see https://ip.test/query/192.0.2.2", nil},
		{"mapped IPv4 asked as IPv4", "::ffff:192.0.2.2", Zone{Name: "ip.test."}, "127.0.0.2", "Listed; see https://ip.test/query/192.0.2.2", nil},
		{"not listed (NXDOMAIN)", "192.0.2.3", Zone{Name: "ip.test"}, "", "", nil},
		{"IPv6 nibbles", "2001:db8::1", Zone{Name: "ip.test"}, "127.0.0.2", "", nil},
		{"IPv6 not listed", "2001:db8::2", Zone{Name: "ip.test"}, "", "", nil},
		{"code that counts", "192.0.2.2", Zone{Name: "codes.test", Codes: addrs("127.0.0.3")}, "127.0.0.3", "", nil},
		{"code that does not count", "192.0.2.3", Zone{Name: "codes.test", Codes: addrs("127.0.0.3")}, "", "", nil},
		{"127.0.0.1 never counts by default", "192.0.2.2", Zone{Name: "loop.test"}, "", "", nil},
		{"refused (quota)", "192.0.2.2", Zone{Name: "quota.test"}, "", "", ErrRefused},
		{"hostile answer outside 127/8", "192.0.2.2", Zone{Name: "hostile.test"}, "", "", ErrHostile},
		{"SERVFAIL", "192.0.2.2", Zone{Name: "broken.test"}, "", "", dnsx.ErrTemporary},
		{"huge TXT cut", "192.0.2.2", Zone{Name: "huge.test"}, "127.0.0.2", strings.Repeat("x", 200) + "0" + strings.Repeat("x", 55), nil},
		{"control bytes in TXT", "192.0.2.2", Zone{Name: "ctrl.test"}, "127.0.0.2", "bad  line end", nil},
		{"the loopback test entry", "127.0.0.2", Zone{Name: "ip.test"}, "127.0.0.2", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			tc.zone.Score = 2.5
			ls, err := Check(ctx, r, netip.MustParseAddr(tc.ip), []Zone{tc.zone})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			var ze *ZoneError
			if err != nil && (!errors.As(err, &ze) || ze.Zone != tc.zone.Name) {
				t.Errorf("error %v does not name zone %q", err, tc.zone.Name)
			}
			if tc.want == "" {
				if len(ls) != 0 {
					t.Fatalf("listed: %+v", ls)
				}
				return
			}
			if len(ls) != 1 {
				t.Fatalf("got %+v, want one listing", ls)
			}
			l := ls[0]
			if l.Answer.String() != tc.want || l.Zone != tc.zone.Name || l.Score != 2.5 || l.Reason != tc.reason {
				t.Errorf("got %+v, want answer %s reason %q", l, tc.want, tc.reason)
			}
		})
	}
}

func TestCheckDomain(t *testing.T) {
	_, r := world(t)
	dbl := Zone{Name: "dbl.test", Codes: addrs("127.0.1.2", "127.0.1.4")}
	tests := []struct {
		domain  string
		want    string
		wantErr error
	}{
		{"example.co.uk", "127.0.1.2", nil},
		{"login.secure.EXAMPLE.co.uk.", "127.0.1.2", nil},
		{"www.bücher.example", "127.0.1.4", nil},
		{"other.co.uk", "", nil},
		{"example.com", "", nil}, // 127.0.1.255 is not among the codes
	}
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			ls, err := CheckDomain(context.Background(), r, tc.domain, []Zone{dbl})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			got := ""
			if len(ls) == 1 {
				got = ls[0].Answer.String()
			}
			if got != tc.want || len(ls) > 1 {
				t.Errorf("got %+v, want %q", ls, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "192.0.2.1", "[2001:db8::1]", "a..b", strings.Repeat("a.", 200) + "com"} {
		if _, err := CheckDomain(context.Background(), r, bad, []Zone{dbl}); err == nil {
			t.Errorf("CheckDomain(%q): no error", bad)
		}
	}
}

func TestRegistrableDomain(t *testing.T) {
	for in, want := range map[string]string{
		"a.b.example.com":     "example.com",
		"EXAMPLE.com.":        "example.com",
		"x.example.co.uk":     "example.co.uk",
		"foo.blogspot.com":    "foo.blogspot.com", // a private suffix
		"co.uk":               "co.uk",
		"www.ünïcode.example": "xn--ncode-cta3g.example",
	} {
		got, err := RegistrableDomain(in)
		if err != nil || got != want {
			t.Errorf("RegistrableDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestIPPrefix checks the query names against RFC 5782 section 2.1 and
// 2.4's own examples.
func TestIPPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.99":                "99.2.0.192",
		"2001:db8:1:2:3:4:567:89ab": "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2",
	} {
		got, err := ipPrefix(netip.MustParseAddr(in))
		if err != nil || got != want {
			t.Errorf("ipPrefix(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ipPrefix(netip.Addr{}); err == nil {
		t.Error("invalid address accepted")
	}
}

// TestConcurrentWithinBudget asks a zone that never answers beside ones
// that do: the others' listings come back with a clear error for the slow
// one, within the context's deadline, and all zones are asked at once.
func TestConcurrentWithinBudget(t *testing.T) {
	_, r := world(t)
	zones := []Zone{{Name: "slow.test"}, {Name: "ip.test"}, {Name: "codes.test"}, {Name: "broken.test"}}
	r = &countingResolver{Resolver: r}
	budget := 800 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	ls, err := Check(ctx, r, ipListed, zones)
	took := time.Since(start)
	if took > budget+300*time.Millisecond {
		t.Errorf("took %v, budget %v", took, budget)
	}
	if len(ls) != 2 || ls[0].Zone != "ip.test" || ls[1].Zone != "codes.test" {
		t.Errorf("listings %+v", ls)
	}
	if !errors.Is(err, dnsx.ErrTemporary) || !strings.Contains(err.Error(), "slow.test") || !strings.Contains(err.Error(), "broken.test") {
		t.Errorf("err %v, want the slow and broken zones named", err)
	}
	if max := r.(*countingResolver).max.Load(); max < 2 {
		t.Errorf("at most %d lookups at once, want them concurrent", max)
	}
}

// TestQueriesPerZone: a zone costs one A query, and a TXT query when it
// lists the address; no AAAA query (a DNSBL answers with A records).
func TestQueriesPerZone(t *testing.T) {
	srv, r := world(t)
	for _, tc := range []struct {
		ip   netip.Addr
		want int
	}{{ipOther, 1}, {ipListed, 2}} {
		before := srv.Queries()
		if _, err := Check(t.Context(), r, tc.ip, []Zone{{Name: "ip.test"}}); err != nil {
			t.Fatal(err)
		}
		if got := srv.Queries() - before; got != tc.want {
			t.Errorf("%v: %d queries, want %d", tc.ip, got, tc.want)
		}
	}
}

// TestNoDeadline: without a deadline, DefaultTimeout bounds the check,
// however long the resolver would wait.
func TestNoDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("waits DefaultTimeout")
	}
	start := time.Now()
	_, err := Check(context.Background(), blockingResolver{}, ipListed, []Zone{{Name: "slow.test"}})
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || took < DefaultTimeout || took > DefaultTimeout+time.Second {
		t.Errorf("err %v after %v", err, took)
	}
}

// blockingResolver answers nothing until its context ends.
type blockingResolver struct{ dnsx.Resolver }

func (blockingResolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, dnsx.Result, error) {
	<-ctx.Done()
	return nil, dnsx.Result{}, fmt.Errorf("%w: %w", dnsx.ErrTemporary, ctx.Err())
}

func TestChecker(t *testing.T) {
	srv, r := world(t)
	now := time.Unix(1_700_000_000, 0)
	c := &Checker{Resolver: r, TTL: time.Minute, Now: func() time.Time { return now }}
	zones := []Zone{{Name: "ip.test"}, {Name: "broken.test"}}
	ask := func() []Listing {
		ls, _ := c.Check(context.Background(), ipListed, zones)
		return ls
	}
	first := ask()
	n := srv.Queries()
	second := ask()
	if len(first) != 1 || len(second) != 1 || second[0] != first[0] {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	// Only the failed zone is asked again.
	again := srv.Queries() - n
	if again == 0 {
		t.Error("the failure was cached")
	}
	n = srv.Queries()
	if _, err := c.Check(context.Background(), ipListed, zones[:1]); err != nil || srv.Queries() != n {
		t.Errorf("cached answer asked again (%d queries, err %v)", srv.Queries()-n, err)
	}
	now = now.Add(2 * time.Minute)
	if ls, _ := c.Check(context.Background(), ipListed, zones[:1]); len(ls) != 1 || srv.Queries() == n {
		t.Error("expired answer not asked again")
	}
	// A cached "not listed" holds too.
	c.Check(context.Background(), ipOther, zones[:1])
	n = srv.Queries()
	if ls, _ := c.Check(context.Background(), ipOther, zones[:1]); len(ls) != 0 || srv.Queries() != n {
		t.Error("negative answer not cached")
	}
}

func TestCacheBound(t *testing.T) {
	c := &cache{ttl: time.Minute, max: 3, now: time.Now, m: map[string]cached{}}
	for i := range 10 {
		c.put(string(rune('a'+i)), answer{})
		if len(c.m) > 3 {
			t.Fatalf("%d entries, max 3", len(c.m))
		}
	}
}

func TestTooManyZones(t *testing.T) {
	if _, err := Check(context.Background(), nil, ipListed, make([]Zone, MaxZones+1)); err == nil {
		t.Error("no error")
	}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// countingResolver records the most lookups in flight at once.
type countingResolver struct {
	dnsx.Resolver
	cur, max atomic.Int64
}

func (c *countingResolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, dnsx.Result, error) {
	n := c.cur.Add(1)
	defer c.cur.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // so that concurrent lookups overlap
	return c.Resolver.LookupIP(ctx, name)
}
