package mtasts

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// fakeKV is a KV in memory that drops values at their expiry by its
// clock, as a store does by its own.
type fakeKV struct {
	mu     sync.Mutex
	now    func() time.Time
	values map[string]fakeValue // by namespace + "\x00" + key
	err    error                // returned by every call when set
}

type fakeValue struct {
	b       []byte
	expires time.Time
}

func newFakeKV(now func() time.Time) *fakeKV {
	return &fakeKV{now: now, values: map[string]fakeValue{}}
}

func (f *fakeKV) PutValue(_ context.Context, ns, key string, value []byte, expires time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.values[ns+"\x00"+key] = fakeValue{bytes.Clone(value), expires}
	return nil
}

func (f *fakeKV) GetValue(_ context.Context, ns, key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.values[ns+"\x00"+key]
	if !ok || !f.now().Before(v.expires) {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v.b), nil
}

func (f *fakeKV) get(ns, key string) (fakeValue, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.values[ns+"\x00"+key]
	return v, ok
}

func (f *fakeKV) set(ns, key string, b []byte, expires time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values[ns+"\x00"+key] = fakeValue{b, expires}
}

var goldenPolicy = CachedPolicy{
	Policy: Policy{
		Mode:   ModeEnforce,
		MX:     []string{"mx.example.com", "*.backup.example.com"},
		MaxAge: 7 * 24 * time.Hour,
	},
	ID:      "20300101T000000",
	Fetched: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
}

// TestStoreCacheFormat pins the stored form of a policy: a change would
// make every policy cached by an older Sealpost a miss. A mismatch writes
// the new form to a .got file beside the golden one.
func TestStoreCacheFormat(t *testing.T) {
	golden := filepath.Join("testdata", "storecache", "enforce.json")
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	kv := newFakeKV(func() time.Time { return goldenPolicy.Fetched })
	c := NewStoreCache(kv)
	ctx := context.Background()
	if err := c.Put(ctx, "example.com", goldenPolicy); err != nil {
		t.Fatal(err)
	}
	v, ok := kv.get(CacheNamespace, "example.com")
	if !ok {
		t.Fatal("Put stored nothing under CacheNamespace")
	}
	if got := append(bytes.Clone(v.b), '\n'); !bytes.Equal(got, want) {
		os.WriteFile(golden+".got", got, 0o644)
		t.Errorf("stored form = %s, want %s (written to %s.got)", got, want, golden)
	}
	if !v.expires.Equal(goldenPolicy.Expires()) {
		t.Errorf("stored expiry = %v, want the policy's %v", v.expires, goldenPolicy.Expires())
	}

	// The golden form, as an older Sealpost would have written it, reads
	// back as the policy.
	kv.set(CacheNamespace, "old.example", want, goldenPolicy.Expires())
	got, ok, err := c.Get(ctx, "old.example")
	if err != nil || !ok || !samePolicy(got, goldenPolicy) {
		t.Errorf("Get of the golden form = %+v, %v, %v; want %+v", got, ok, err, goldenPolicy)
	}
}

func samePolicy(a, b CachedPolicy) bool {
	return a.Policy.Mode == b.Policy.Mode && reflect.DeepEqual(a.Policy.MX, b.Policy.MX) &&
		a.Policy.MaxAge == b.Policy.MaxAge && a.ID == b.ID && a.Fetched.Equal(b.Fetched)
}

// TestStoreCache checks the Cache contract over a fake KV: round trip of
// every mode, domains apart, replacement, expiry, undecodable values as
// misses, and store failures as errors.
func TestStoreCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	kv := newFakeKV(func() time.Time { return now })
	c := NewStoreCache(kv)

	if _, ok, err := c.Get(ctx, "example.com"); ok || err != nil {
		t.Fatalf("Get on an empty cache = %v, %v; want a miss", ok, err)
	}
	policies := map[string]CachedPolicy{
		"enforce.test": goldenPolicy,
		"testing.test": {Policy: Policy{Mode: ModeTesting, MX: []string{"mx.testing.test"}, MaxAge: time.Hour}, ID: "t", Fetched: now},
		"none.test":    {Policy: Policy{Mode: ModeNone, MaxAge: 2 * time.Hour}, ID: "n", Fetched: now},
	}
	for d, p := range policies {
		if err := c.Put(ctx, d, p); err != nil {
			t.Fatalf("Put(%s): %v", d, err)
		}
	}
	for d, want := range policies {
		got, ok, err := c.Get(ctx, d)
		if err != nil || !ok || !samePolicy(got, want) {
			t.Errorf("Get(%s) = %+v, %v, %v; want %+v", d, got, ok, err, want)
		}
	}

	// The cache holds its own copy of the MX list.
	p := policies["testing.test"]
	p.Policy.MX = []string{"mx1.replaced.test"}
	if err := c.Put(ctx, "testing.test", p); err != nil {
		t.Fatal(err)
	}
	p.Policy.MX[0] = "changed.test"
	if got, _, _ := c.Get(ctx, "testing.test"); len(got.Policy.MX) != 1 || got.Policy.MX[0] != "mx1.replaced.test" {
		t.Errorf("after replacing: MX = %q, want [mx1.replaced.test]", got.Policy.MX)
	}

	// Past max_age the store drops the policy: testing.test's hour is up,
	// none.test's two hours are not.
	now = now.Add(time.Hour)
	if _, ok, err := c.Get(ctx, "testing.test"); ok || err != nil {
		t.Errorf("Get of an expired policy = %v, %v; want a miss", ok, err)
	}
	if _, ok, err := c.Get(ctx, "none.test"); !ok || err != nil {
		t.Errorf("Get of a live policy = %v, %v; want a hit", ok, err)
	}

	for name, b := range map[string]string{
		"not JSON":      "version: STSv1",
		"other version": `{"v":2,"mode":"enforce","mx":["mx.example.com"],"max_age_ns":1,"id":"x","fetched":"2030-01-01T00:00:00Z"}`,
		"unknown mode":  `{"v":1,"mode":"sometimes","mx":["mx.example.com"],"max_age_ns":1,"id":"x","fetched":"2030-01-01T00:00:00Z"}`,
	} {
		kv.set(CacheNamespace, "bad.test", []byte(b), now.Add(time.Hour))
		if _, ok, err := c.Get(ctx, "bad.test"); ok || err != nil {
			t.Errorf("Get of a value that is %s = %v, %v; want a miss", name, ok, err)
		}
	}

	kv.err = errors.New("database is down")
	if _, _, err := c.Get(ctx, "none.test"); !errors.Is(err, kv.err) {
		t.Errorf("Get with a failing store: %v, want it wrapped", err)
	}
	if err := c.Put(ctx, "none.test", policies["none.test"]); !errors.Is(err, kv.err) {
		t.Errorf("Put with a failing store: %v, want it wrapped", err)
	}
}

// TestStoreCacheRestart is why StoreCache exists (RFC 8461 section 5.1):
// a policy fetched before a restart still applies after it, even when the
// domain's TXT record has gone and its policy server is down.
func TestStoreCacheRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	w := newFetchWorld(t)
	open := func() *sqlite.Store {
		s, err := sqlite.Open(ctx, dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	s := open()
	before := &Client{Resolver: resolverWithID(t, "1"), Fetcher: w.fetcher(t), Cache: NewStoreCache(s)}
	if p, err := before.Get(ctx, "enforce.test"); err != nil || p.Mode != ModeEnforce {
		t.Fatalf("Get before the restart = %+v, %v", p, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open()
	defer s.Close()
	w.server.set("enforce.test", response{status: 500, body: "down"})
	hits := w.server.hitCount("enforce.test")
	after := &Client{Resolver: resolverWithID(t, ""), Fetcher: w.fetcher(t), Cache: NewStoreCache(s)}
	p, err := after.Get(ctx, "enforce.test")
	if err != nil || p.Mode != ModeEnforce || !p.Match("mx.enforce.test") {
		t.Errorf("Get after the restart = %+v, %v; want the cached enforce policy", p, err)
	}
	if n := w.server.hitCount("enforce.test"); n != hits {
		t.Errorf("policy fetched %d times after the restart, want 0", n-hits)
	}
	// And the stored row expires with the policy: max_age is one day.
	if n, err := s.PruneValues(ctx, time.Now().Add(23*time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneValues within max_age = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneValues(ctx, time.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneValues past max_age = %d, %v; want 1", n, err)
	}
}
