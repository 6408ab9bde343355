package greylist

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store/teststore"

	"sealpost.dev/sealpost/internal/store"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// newClock starts at the real time: store.KV judges its own expiry by it.
func newClock() *clock { return &clock{now: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var (
	client  = netip.MustParseAddr("192.0.2.10")
	sibling = netip.MustParseAddr("192.0.2.77") // same /24
	other   = netip.MustParseAddr("198.51.100.10")
)

// step is one attempt and what must come of it.
type step struct {
	after     time.Duration // clock advance before the attempt
	req       Request
	ok        bool
	retryWait time.Duration // when !ok
}

func TestGreylist(t *testing.T) {
	for name, open := range teststore.Backends(t) {
		t.Run(name, func(t *testing.T) { testGreylist(t, open) })
	}
}

func testGreylist(t *testing.T, open func(t *testing.T) store.Store) {
	ann := Request{IP: client, From: "ann@example.org", To: "bob@example.com"}
	tests := []struct {
		name  string
		opt   Options
		steps []step
	}{
		{"first try, too early, after the delay", Options{}, []step{
			{0, ann, false, 5 * time.Minute},
			{time.Minute, ann, false, 4 * time.Minute},
			{4*time.Minute - 1, ann, false, time.Second},
			{time.Second, ann, true, 0},
			// The network is now whitelisted: another sender and recipient,
			// another address of the /24.
			{time.Hour, Request{IP: sibling, From: "x@spam.test", To: "carol@example.com"}, true, 0},
			// Another network still waits.
			{0, Request{IP: other, From: "ann@example.org", To: "bob@example.com"}, false, 5 * time.Minute},
		}},
		{"retry after the window starts again", Options{Delay: time.Minute, Window: time.Hour}, []step{
			{0, ann, false, time.Minute},
			{time.Hour + time.Second, ann, false, time.Minute},
			{time.Minute, ann, true, 0},
		}},
		{"the triplet is the unit", Options{}, []step{
			{0, ann, false, 5 * time.Minute},
			{6 * time.Minute, Request{IP: client, From: "ann@example.org", To: "dave@example.com"}, false, 5 * time.Minute},
			{0, Request{IP: client, From: "eve@example.org", To: "bob@example.com"}, false, 5 * time.Minute},
			// A retry from another address of the pool counts.
			{0, Request{IP: sibling, From: "ann@example.org", To: "bob@example.com"}, true, 0},
		}},
		{"IPv6 /64", Options{}, []step{
			{0, Request{IP: netip.MustParseAddr("2001:db8:1:2::1"), From: "a@b.example", To: "bob@example.com"}, false, 5 * time.Minute},
			{5 * time.Minute, Request{IP: netip.MustParseAddr("2001:db8:1:2:ffff::9"), From: "a@b.example", To: "bob@example.com"}, true, 0},
			{0, Request{IP: netip.MustParseAddr("2001:db8:1:3::1"), From: "a@b.example", To: "bob@example.com"}, false, 5 * time.Minute},
		}},
		{"VERP and BATV senders", Options{}, []step{
			{0, Request{IP: client, From: "prvs=1234abcd=bounce-7731@lists.example.org", To: "bob@example.com"}, false, 5 * time.Minute},
			{5 * time.Minute, Request{IP: client, From: "prvs=9999ffff=bounce-7732@lists.example.org", To: "BOB@example.com"}, true, 0},
		}},
		{"authenticated submissions pass", Options{}, []step{
			{0, Request{IP: client, From: "ann@example.org", To: "x@y.example", Authenticated: true}, true, 0},
			{0, ann, false, 5 * time.Minute},
		}},
		{"aligned senders spared only when asked", Options{}, []step{
			{0, Request{IP: client, From: "ann@example.org", To: "bob@example.com", Aligned: true}, false, 5 * time.Minute},
		}},
		{"aligned senders spared", Options{SpareAligned: true}, []step{
			{0, Request{IP: client, From: "ann@example.org", To: "bob@example.com", Aligned: true}, true, 0},
			{0, Request{IP: sibling, From: "x@spam.test", To: "bob@example.com"}, true, 0},
		}},
		{"the whitelist expires", Options{Whitelist: 10 * 24 * time.Hour}, []step{
			{0, ann, false, 5 * time.Minute},
			{5 * time.Minute, ann, true, 0},
			{9 * 24 * time.Hour, ann, true, 0}, // renewed: more than half had gone
			{9 * 24 * time.Hour, ann, true, 0},
			{10*24*time.Hour + time.Second, ann, false, 5 * time.Minute},
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			clk := newClock()
			// The cases share the store: each runs in a time of its own,
			// after everything of the cases before has expired.
			clk.Advance(time.Duration(i) * 2000 * time.Hour)
			tc.opt.Now = clk.Now
			g := New(st, tc.opt)
			for i, s := range tc.steps {
				clk.Advance(s.after)
				ok, wait, err := g.CheckRequest(t.Context(), s.req)
				if err != nil || ok != s.ok || wait != s.retryWait {
					t.Fatalf("step %d %+v: ok %v wait %v err %v; want ok %v wait %v", i, s.req, ok, wait, err, s.ok, s.retryWait)
				}
			}
		})
	}
}

// TestSurvivesRestart: the first try is remembered across a restart (a
// new store connection and a new Greylist), and so is the whitelist.
func TestSurvivesRestart(t *testing.T) {
	for name, open := range teststore.Backends(t) {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			st := open(t)
			g := New(st, Options{Now: clk.Now})
			if ok, _, err := g.Check(t.Context(), client, "ann@example.org", "bob@example.com"); ok || err != nil {
				t.Fatalf("first try: %v %v", ok, err)
			}
			st.Close()
			clk.Advance(6 * time.Minute)
			st = open(t)
			g = New(st, Options{Now: clk.Now})
			if ok, _, err := g.Check(t.Context(), client, "ann@example.org", "bob@example.com"); !ok || err != nil {
				t.Fatalf("retry after restart: %v %v", ok, err)
			}
			st.Close()
			st = open(t)
			defer st.Close()
			g = New(st, Options{Now: clk.Now})
			if ok, _, err := g.Check(t.Context(), sibling, "new@example.net", "bob@example.com"); !ok || err != nil {
				t.Fatalf("whitelisted network after restart: %v %v", ok, err)
			}
		})
	}
}

func TestVouch(t *testing.T) {
	st := memStore{}
	clk := newClock()
	g := New(st, Options{SpareAligned: true, Now: clk.Now})
	if err := g.Vouch(t.Context(), client, "ann@Example.org"); err != nil {
		t.Fatal(err)
	}
	for _, req := range []Request{
		{IP: sibling, From: "ann@example.org", To: "x@example.com"},
		{IP: client, From: "other@example.org", To: "y@example.com"},
	} {
		if ok, _, err := g.CheckRequest(t.Context(), req); !ok || err != nil {
			t.Errorf("%+v: %v %v", req, ok, err)
		}
	}
	// Another domain, or another network, is still greylisted.
	for _, req := range []Request{
		{IP: client, From: "ann@example.net", To: "x@example.com"},
		{IP: other, From: "ann@example.org", To: "x@example.com"},
	} {
		if ok, _, _ := g.CheckRequest(t.Context(), req); ok {
			t.Errorf("%+v passed", req)
		}
	}
	// Without SpareAligned, vouching does nothing.
	g = New(memStore{}, Options{Now: clk.Now})
	g.Vouch(t.Context(), client, "ann@example.org")
	if ok, _, _ := g.Check(t.Context(), client, "ann@example.org", "x@example.com"); ok {
		t.Error("vouched without SpareAligned")
	}
}

func TestStoreFailure(t *testing.T) {
	boom := errors.New("database down")
	g := New(failStore{boom}, Options{})
	ok, _, err := g.Check(t.Context(), client, "a@b.example", "c@d.example")
	if ok || !errors.Is(err, boom) {
		t.Errorf("ok %v err %v", ok, err)
	}
	if _, _, err := g.Check(t.Context(), netip.Addr{}, "a@b.example", "c@d.example"); err == nil {
		t.Error("invalid IP accepted")
	}
}

func TestNormalizeSender(t *testing.T) {
	for in, want := range map[string]string{
		"Ann@Example.org":                      "ann@example.org",
		"prvs=0123abcd=ann@example.org":        "ann@example.org",
		"msprvs1=19000abcd=ann@example.org":    "ann@example.org",
		"bounce-123-4567@lists.example.org":    "bounce-#-#@lists.example.org",
		"SRS0=HHH=TT=example.org=ann@fwd.test": "srs#=hhh=tt=example.org=ann@fwd.test",
		"":                                     "",
		"postmaster":                           "postmaster",
	} {
		if got := NormalizeSender(in); got != want {
			t.Errorf("NormalizeSender(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.200":        "192.0.2.0/24",
		"::ffff:192.0.2.200": "192.0.2.0/24",
		"2001:db8::1":        "2001:db8::/64",
		"fe80::1%eth0":       "fe80::/64",
	} {
		got, err := Network(netip.MustParseAddr(in))
		if err != nil || got.String() != want {
			t.Errorf("Network(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
}

// memStore is a store.KV in memory without expiry, for tests of logic.
type memStore map[string][]byte

func (m memStore) PutValue(_ context.Context, ns, key string, v []byte, _ time.Time) error {
	m[ns+"/"+key] = v
	return nil
}

func (m memStore) GetValue(_ context.Context, ns, key string) ([]byte, error) {
	if v, ok := m[ns+"/"+key]; ok {
		return v, nil
	}
	return nil, store.ErrNotFound
}

func (m memStore) DeleteValue(_ context.Context, ns, key string) error {
	delete(m, ns+"/"+key)
	return nil
}

type failStore struct{ err error }

func (f failStore) PutValue(context.Context, string, string, []byte, time.Time) error { return f.err }
func (f failStore) GetValue(context.Context, string, string) ([]byte, error)          { return nil, f.err }
func (f failStore) DeleteValue(context.Context, string, string) error                 { return f.err }
