package mtasts

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// clock is a settable time source for Client.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// resolverWithID returns a resolver whose zone publishes id for
// enforce.test, so a test can change the TXT record between calls.
func resolverWithID(t *testing.T, id string) dnsx.Resolver {
	t.Helper()
	zone := "mta-sts.enforce.test. A 127.0.0.1\n"
	if id != "" {
		zone += "_mta-sts.enforce.test. TXT \"v=STSv1; id=" + id + "\"\n"
	}
	srv := dnstest.Start(t, zone)
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Attempts: 1, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const enforceV2 = "version: STSv1\nmode: enforce\nmx: mx2.enforce.test\nmax_age: 86400\n"

// TestClientGet runs the steps of RFC 8461 section 5.1 over each Cache:
// in memory, in a store that drops policies at their expiry by the
// client's clock, and in a SQLite store, whose clock is the real one.
func TestClientGet(t *testing.T) {
	caches := []struct {
		name string
		new  func(t *testing.T, clk *clock) Cache
	}{
		{"memory", func(*testing.T, *clock) Cache { return NewMemoryCache(0) }},
		{"fake store", func(_ *testing.T, clk *clock) Cache { return NewStoreCache(newFakeKV(clk.now)) }},
		{"sqlite", func(t *testing.T, _ *clock) Cache {
			s, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return NewStoreCache(s)
		}},
	}
	for _, tc := range caches {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			testClientGet(t, clk, tc.new(t, clk))
		})
	}
}

func testClientGet(t *testing.T, clk *clock, cache Cache) {
	w := newFetchWorld(t)
	f := w.fetcher(t)
	client := func(r dnsx.Resolver) *Client {
		return &Client{Resolver: r, Fetcher: f, Cache: cache, Now: clk.now}
	}
	id1, id2, noTXT := resolverWithID(t, "1"), resolverWithID(t, "2"), resolverWithID(t, "")
	ctx := context.Background()
	ok200 := response{body: enforceText}
	fail500 := response{status: http.StatusInternalServerError, body: "oops"}

	// The steps share the cache and the clock, in order.
	steps := []struct {
		name      string
		resolver  dnsx.Resolver
		serve     response
		advance   time.Duration
		wantMX    string // an MX host the returned policy must match; empty: ErrNoPolicy
		wantFetch bool   // whether the step fetches
	}{
		{name: "first fetch", resolver: id1, serve: ok200, wantMX: "mx.enforce.test", wantFetch: true},
		{name: "cached, same id", resolver: id1, serve: ok200, advance: time.Hour, wantMX: "mx.enforce.test"},
		{name: "id change refetches", resolver: id2, serve: response{body: enforceV2}, wantMX: "mx2.enforce.test", wantFetch: true},
		{name: "id change, fetch fails, cache kept", resolver: id1, serve: fail500, wantMX: "mx2.enforce.test", wantFetch: true},
		{name: "TXT gone, cache kept", resolver: noTXT, serve: ok200, wantMX: "mx2.enforce.test"},
		{name: "expired, fetch fails, no policy", resolver: id1, serve: fail500, advance: 24 * time.Hour, wantFetch: true},
		{name: "expired, refetched", resolver: id1, serve: ok200, wantMX: "mx.enforce.test", wantFetch: true},
		{name: "expired, same id, refetched", resolver: id1, serve: ok200, advance: 25 * time.Hour, wantMX: "mx.enforce.test", wantFetch: true},
		{name: "expired, TXT gone, no policy", resolver: noTXT, serve: ok200, advance: 25 * time.Hour},
	}
	for _, s := range steps {
		clk.t = clk.t.Add(s.advance)
		w.server.set("enforce.test", s.serve)
		before := w.server.hitCount("enforce.test")
		p, err := client(s.resolver).Get(ctx, "enforce.test")
		if fetched := w.server.hitCount("enforce.test") > before; fetched != s.wantFetch {
			t.Errorf("%s: fetched %v, want %v", s.name, fetched, s.wantFetch)
		}
		if s.wantMX == "" {
			if !errors.Is(err, ErrNoPolicy) {
				t.Errorf("%s: Get = %+v, %v; want ErrNoPolicy", s.name, p, err)
			}
			continue
		}
		if err != nil || p.Mode != ModeEnforce || !p.Match(s.wantMX) {
			t.Errorf("%s: Get = %+v, %v; want an enforce policy matching %s", s.name, p, err, s.wantMX)
		}
	}
}

func TestClientGetModes(t *testing.T) {
	w := newFetchWorld(t)
	c := &Client{Resolver: w.resolver, Fetcher: w.fetcher(t), Cache: NewMemoryCache(0)}
	tests := []struct {
		domain   string
		wantMode Mode // empty: ErrNoPolicy
	}{
		{"enforce.test", ModeEnforce},
		{"testing.test", ModeTesting},
		{"none.test", ModeNone},
		{"redirect.test", ""},
		{"wrongname.test", ""},
		{"big.test", ""},
		{"nxdomain.test", ""},
	}
	for _, tc := range tests {
		p, err := c.Get(context.Background(), tc.domain)
		if tc.wantMode == "" {
			if !errors.Is(err, ErrNoPolicy) {
				t.Errorf("Get(%s) = %+v, %v; want ErrNoPolicy", tc.domain, p, err)
			}
			continue
		}
		if err != nil || p.Mode != tc.wantMode {
			t.Errorf("Get(%s) = %+v, %v; want mode %s", tc.domain, p, err, tc.wantMode)
		}
	}
}

// failingCache fails every operation.
type failingCache struct{}

func (failingCache) Get(context.Context, string) (CachedPolicy, bool, error) {
	return CachedPolicy{}, false, errors.New("disk on fire")
}
func (failingCache) Put(context.Context, string, CachedPolicy) error {
	return errors.New("disk on fire")
}

// TestClientGetUnknown checks that failures which say nothing about the
// domain are not reported as "no policy", so the caller defers instead of
// skipping an enforced policy.
func TestClientGetUnknown(t *testing.T) {
	w := newFetchWorld(t)
	c := &Client{Resolver: w.resolver, Fetcher: w.fetcher(t), Cache: failingCache{}}
	if _, err := c.Get(context.Background(), "enforce.test"); err == nil || errors.Is(err, ErrNoPolicy) {
		t.Errorf("Get with a failing cache: %v, want an error other than ErrNoPolicy", err)
	}
	c.Cache = NewMemoryCache(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "enforce.test"); err == nil || errors.Is(err, ErrNoPolicy) {
		t.Errorf("Get with a cancelled context: %v, want an error other than ErrNoPolicy", err)
	}
}

func TestMemoryCacheEviction(t *testing.T) {
	c := NewMemoryCache(2)
	ctx := context.Background()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(d string, age time.Duration) {
		if err := c.Put(ctx, d, CachedPolicy{Policy: Policy{Mode: ModeEnforce, MaxAge: age}, ID: d, Fetched: base}); err != nil {
			t.Fatal(err)
		}
	}
	put("long.test", 10*time.Hour)
	put("short.test", time.Hour)
	put("long.test", 11*time.Hour) // replacing does not evict
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	put("new.test", 5*time.Hour)
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	for d, want := range map[string]bool{"long.test": true, "short.test": false, "new.test": true} {
		if _, ok, _ := c.Get(ctx, d); ok != want {
			t.Errorf("%s cached: %v, want %v", d, ok, want)
		}
	}
}
