package dnsx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

const testTLSA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// testZone is the DNS world of the Client tests.
var testZone = `
$SECURE secure.test.
$SERVFAIL fail.example.test.
$SERVFAIL fail.secure.test.
$SERVFAIL half.example.test. AAAA
$SERVFAIL _imaps._tcp.fail.example.test. SRV
$TIMEOUT slow.example.test.
$TRUNCATE trunc.example.test.
example.test.          SOA   ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
example.test.          MX    20 mx2.example.test.
example.test.          MX    10 mx1.example.test.
example.test.          TXT   "v=spf1 " "-all"
example.test.          TXT   "second"
mx1.example.test.      A     192.0.2.1
mx1.example.test.      AAAA  2001:db8::1
v4only.example.test.   A     192.0.2.2
half.example.test.     A     192.0.2.3
alias.example.test.    CNAME mx1.example.test.
alias2.example.test.   CNAME alias.example.test.
sub.empty.example.test. TXT  "below an empty non-terminal"
1.2.0.192.in-addr.arpa. PTR  mx1.example.test.
_25._tcp.mx1.example.test. TLSA 3 1 1 ` + testTLSA + `
fail.example.test.     A     192.0.2.9
trunc.example.test.    TXT   "small"
loop1.example.test.    CNAME loop2.example.test.
loop2.example.test.    CNAME loop1.example.test.
secure.test.           SOA   ns.secure.test. hostmaster.secure.test. 1 3600 600 86400 60
secure.test.           MX    10 mx.secure.test.
mx.secure.test.        A     192.0.2.10
_25._tcp.mx.secure.test. TLSA 3 1 1 ` + testTLSA + `
out.secure.test.       CNAME mx1.example.test.
_imaps._tcp.secure.test. SRV 0 1 993 mx.secure.test.
_submission._tcp.example.test. SRV 10 1 587 mx2.example.test.
_submission._tcp.example.test. SRV 5 1 587 mx1.example.test.
_submission._tcp.example.test. SRV 10 5 2587 mx1.example.test.
_pop3._tcp.example.test. SRV 0 0 0 .
_imap._tcp.alias.example.test. CNAME _imap._tcp.target.example.test.
_imap._tcp.target.example.test. SRV 0 1 143 mx1.example.test.
_imaps._tcp.fail.example.test. SRV 0 1 993 mx1.example.test.
` + bigTXT("big.example.test.", 60) + chain("long", 9) + chain("ok", 8)

// bigTXT makes n TXT records at name, together far larger than a UDP reply.
func bigTXT(name string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s TXT \"%03d %s\"\n", name, i, strings.Repeat("x", 100))
	}
	return b.String()
}

// chain makes a chain of hops CNAMEs from prefix0.example.test. ending at
// an A record.
func chain(prefix string, hops int) string {
	var b strings.Builder
	for i := range hops {
		fmt.Fprintf(&b, "%s%d.example.test. CNAME %s%d.example.test.\n", prefix, i, prefix, i+1)
	}
	fmt.Fprintf(&b, "%s%d.example.test. A 192.0.2.77\n", prefix, hops)
	return b.String()
}

func newTestClient(t *testing.T, addr string, cfg ClientConfig) *Client {
	t.Helper()
	c, err := NewClient(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// errKind names the class of err the package documents.
func errKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "notfound"
	case errors.Is(err, ErrTemporary):
		return "temporary"
	default:
		return "invalid"
	}
}

func mustAddrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// lookupCase is one lookup against the test zone; call returns the value
// rendered with %v.
type lookupCase struct {
	name          string
	call          func(ctx context.Context, r Resolver) (any, Result, error)
	want          string
	wantErr       string // errKind
	wantAuthentic bool
}

func mxOf(name string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) { return r.LookupMX(ctx, name) }
}
func txtOf(name string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) { return r.LookupTXT(ctx, name) }
}
func ipOf(name string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) { return r.LookupIP(ctx, name) }
}
func aOf(name string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) { return LookupA(ctx, r, name) }
}
func ptrOf(addr string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) {
		return r.LookupAddr(ctx, netip.MustParseAddr(addr))
	}
}
func tlsaOf(port int, host string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) {
		return r.LookupTLSA(ctx, port, "tcp", host)
	}
}
func srvOf(name string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) { return r.LookupSRV(ctx, name) }
}
func cnameOf(name string) func(context.Context, Resolver) (any, Result, error) {
	return func(ctx context.Context, r Resolver) (any, Result, error) { return r.LookupCNAME(ctx, name) }
}

func runLookupCases(t *testing.T, r Resolver, cases []lookupCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			got, res, err := tc.call(ctx, r)
			if kind := errKind(err); kind != tc.wantErr {
				t.Fatalf("error %v (%s), want %s", err, kind, tc.wantErr)
			}
			if s := fmt.Sprintf("%v", got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
			if res.Authentic != tc.wantAuthentic {
				t.Errorf("Authentic = %v, want %v", res.Authentic, tc.wantAuthentic)
			}
		})
	}
}

func TestClientLookups(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{Timeout: time.Second, Attempts: 2})
	tlsa := fmt.Sprintf("[{3 1 1 %v}]", mustHex(testTLSA))
	runLookupCases(t, c, []lookupCase{
		{"mx sorted", mxOf("example.test"), "[{mx1.example.test. 10} {mx2.example.test. 20}]", "ok", false},
		{"mx trailing dot and case", mxOf("EXAMPLE.test."), "[{mx1.example.test. 10} {mx2.example.test. 20}]", "ok", false},
		{"mx nodata", mxOf("mx1.example.test"), "[]", "ok", false},
		{"mx nxdomain", mxOf("nope.example.test"), "[]", "notfound", false},
		{"mx empty non-terminal", mxOf("empty.example.test"), "[]", "ok", false},
		{"mx servfail", mxOf("fail.example.test"), "[]", "temporary", false},
		{"mx secure", mxOf("secure.test"), "[{mx.secure.test. 10}]", "ok", true},
		{"mx secure nxdomain", mxOf("nope.secure.test"), "[]", "notfound", true},
		{"txt joined", txtOf("example.test"), "[v=spf1 -all second]", "ok", false},
		{"txt forced truncation", txtOf("trunc.example.test"), "[small]", "ok", false},
		{"ip both families", ipOf("mx1.example.test"), "[192.0.2.1 2001:db8::1]", "ok", false},
		{"ip v4 only", ipOf("v4only.example.test"), "[192.0.2.2]", "ok", false},
		{"ip through cnames", ipOf("alias2.example.test"), "[192.0.2.1 2001:db8::1]", "ok", false},
		{"ip half failed", ipOf("half.example.test"), "[192.0.2.3]", "temporary", false},
		{"ip nxdomain", ipOf("nope.example.test"), "[]", "notfound", false},
		{"a only", aOf("mx1.example.test"), "[192.0.2.1]", "ok", false},
		{"a through cnames", aOf("alias2.example.test"), "[192.0.2.1]", "ok", false},
		{"a nxdomain", aOf("nope.example.test"), "[]", "notfound", false},
		{"a secure", aOf("mx.secure.test"), "[192.0.2.10]", "ok", true},
		{"ip secure", ipOf("mx.secure.test"), "[192.0.2.10]", "ok", true},
		{"ip secure name through insecure cname", ipOf("out.secure.test"), "[192.0.2.1 2001:db8::1]", "ok", false},
		{"ip chain of 8", ipOf("ok0.example.test"), "[192.0.2.77]", "ok", false},
		{"ip chain of 9", ipOf("long0.example.test"), "[]", "temporary", false},
		{"ip cname loop", ipOf("loop1.example.test"), "[]", "temporary", false},
		{"ptr", ptrOf("192.0.2.1"), "[mx1.example.test.]", "ok", false},
		{"ptr mapped v4", ptrOf("::ffff:192.0.2.1"), "[mx1.example.test.]", "ok", false},
		{"ptr nxdomain", ptrOf("2001:db8::1"), "[]", "notfound", false},
		{"tlsa", tlsaOf(25, "mx1.example.test"), tlsa, "ok", false},
		{"tlsa secure", tlsaOf(25, "mx.secure.test"), tlsa, "ok", true},
		{"tlsa secure denial", tlsaOf(465, "mx.secure.test"), "[]", "notfound", true},
		{"tlsa bad port", tlsaOf(70000, "mx.secure.test"), "[]", "invalid", false},
		{"srv by priority, stable", srvOf("_submission._tcp.example.test"),
			"[{mx1.example.test. 587 5 1} {mx2.example.test. 587 10 1} {mx1.example.test. 2587 10 5}]", "ok", false},
		{"srv not offered", srvOf("_pop3._tcp.example.test."), "[{. 0 0 0}]", "ok", false},
		{"srv through cname", srvOf("_imap._tcp.alias.example.test"), "[{mx1.example.test. 143 0 1}]", "ok", false},
		{"srv nodata", srvOf("mx1.example.test"), "[]", "ok", false},
		{"srv empty non-terminal", srvOf("_tcp.example.test"), "[]", "ok", false},
		{"srv nxdomain", srvOf("_imaps._tcp.nope.example.test"), "[]", "notfound", false},
		{"srv servfail", srvOf("_imaps._tcp.fail.example.test"), "[]", "temporary", false},
		{"srv secure", srvOf("_imaps._tcp.secure.test"), "[{mx.secure.test. 993 0 1}]", "ok", true},
		{"srv invalid name", srvOf("_imaps.._tcp.example.test"), "[]", "invalid", false},
		{"cname chain", cnameOf("alias2.example.test"), "mx1.example.test.", "ok", false},
		{"cname none", cnameOf("mx1.example.test"), "mx1.example.test.", "ok", false},
		{"cname nxdomain", cnameOf("nope.example.test"), "", "notfound", false},
		{"cname loop", cnameOf("loop1.example.test"), "", "temporary", false},
		{"invalid name", txtOf("a..b"), "[]", "invalid", false},
		{"name too long", txtOf(strings.Repeat("a.", 130)), "[]", "invalid", false},
		{"ip invalid name", ipOf("a..b"), "[]", "invalid", false},
		{"ip empty name", ipOf(""), "[]", "invalid", false},
	})
}

// TestClientCacheHitShares: a cache hit returns the cached TXT and address
// slices themselves, clipped so that appending copies, without allocating;
// the cached NXDOMAIN error names the name as each caller wrote it.
func TestClientCacheHitShares(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{})
	ctx := t.Context()
	first, _, err := c.LookupTXT(ctx, "example.test")
	if err != nil || len(first) != 2 {
		t.Fatalf("%q, %v", first, err)
	}
	again, _, err := c.LookupTXT(ctx, "Example.TEST.")
	if err != nil || &again[0] != &first[0] {
		t.Fatalf("cache hit returned %q (%p), %v; want the cached slice %p", again, again, err, first)
	}
	if cap(again) != len(again) {
		t.Errorf("cached slice has capacity %d for %d records: an append would write into the cache", cap(again), len(again))
	}
	addrs, _, err := c.LookupIP(ctx, "v4only.example.test")
	if err != nil || len(addrs) != 1 || cap(addrs) != 1 {
		t.Fatalf("%v (cap %d), %v", addrs, cap(addrs), err)
	}
	if !raceEnabled {
		allocs := testing.AllocsPerRun(100, func() { c.LookupTXT(ctx, "example.test") })
		if allocs != 0 {
			t.Errorf("a TXT cache hit allocates %v times", allocs)
		}
	}
	for _, name := range []string{"nope.example.test", "nope.example.test.", "NOPE.example.test", "nope.example.test"} {
		_, _, err := c.LookupTXT(ctx, name)
		if !errors.Is(err, ErrNotFound) || !strings.HasSuffix(err.Error(), " "+strings.TrimSuffix(name, ".")+".") {
			t.Errorf("%s: error %v, want ErrNotFound naming %s", name, err, name)
		}
	}
	if n := srv.Queries(); n != 4 {
		t.Errorf("server saw %d queries, want 4 (TXT, A, AAAA, NXDOMAIN)", n)
	}
}

func mustHex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		fmt.Sscanf(s[2*i:2*i+2], "%02x", &b[i])
	}
	return b
}

func TestClientTruncationUsesTCP(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{CacheSize: -1})
	txt, _, err := c.LookupTXT(t.Context(), "big.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(txt) != 60 {
		t.Fatalf("got %d TXT records, want 60", len(txt))
	}
	for i, s := range txt {
		if want := fmt.Sprintf("%03d %s", i, strings.Repeat("x", 100)); s != want {
			t.Fatalf("record %d = %q", i, s)
		}
	}
	// One query over UDP, answered truncated, then one over TCP.
	if n := srv.Queries(); n != 2 {
		t.Errorf("server saw %d queries, want 2", n)
	}
}

func TestClientTimeoutRetries(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{Timeout: 100 * time.Millisecond, Attempts: 3})
	start := time.Now()
	_, _, err := c.LookupTXT(t.Context(), "slow.example.test")
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	if n := srv.Queries(); n != 3 {
		t.Errorf("server saw %d queries, want 3 attempts", n)
	}
}

func TestClientServfailNotRetriedNorCached(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{Attempts: 3})
	for range 2 {
		_, _, err := c.LookupMX(t.Context(), "fail.example.test")
		if !errors.Is(err, ErrTemporary) || !strings.Contains(err.Error(), "SERVFAIL") {
			t.Fatalf("err = %v, want ErrTemporary naming SERVFAIL", err)
		}
	}
	if n := srv.Queries(); n != 2 {
		t.Errorf("server saw %d queries, want 2", n)
	}
}

func TestClientContextDeadlineShared(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{Timeout: 10 * time.Second, Attempts: 3})
	ctx, cancel := context.WithTimeout(t.Context(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.LookupMX(ctx, "slow.example.test")
	if errKind(err) != "temporary" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTemporary wrapping DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v despite a 600ms deadline", d)
	}
	if n := srv.Queries(); n < 2 {
		t.Errorf("server saw %d queries; the deadline should leave room for a retry", n)
	}
}

func TestClientContextCancel(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{Timeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := c.LookupMX(ctx, "slow.example.test")
	if !errors.Is(err, ErrTemporary) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrTemporary wrapping Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v after cancel", d)
	}
}

func TestClientDeadServer(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	srv.Close()
	c := newTestClient(t, srv.Addr(), ClientConfig{Timeout: 200 * time.Millisecond, Attempts: 2})
	_, _, err := c.LookupMX(t.Context(), "example.test")
	if !errors.Is(err, ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
}

func TestNewClientRejectsBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "resolver.example:53", "127.0.0.1", "127.0.0.1:0", "[::1]:x"} {
		if _, err := NewClient(addr, ClientConfig{}); err == nil {
			t.Errorf("NewClient(%q) succeeded", addr)
		}
	}
	c, err := NewClient("[::ffff:127.0.0.1]:53", ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Server().String(); got != "127.0.0.1:53" {
		t.Errorf("Server() = %s", got)
	}
}

func TestClientCache(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{CacheSize: 2})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := t.Context()

	steps := []struct {
		what    string
		advance time.Duration
		do      func() error
		queries int // server's total after the step
	}{
		{"first MX", 0, func() error { _, _, err := c.LookupMX(ctx, "example.test"); return err }, 1},
		{"cached MX, other case", 0, func() error { _, _, err := c.LookupMX(ctx, "Example.Test."); return err }, 1},
		{"NXDOMAIN", 0, func() error { _, _, err := c.LookupMX(ctx, "nope.example.test"); return want(err, ErrNotFound) }, 2},
		{"cached NXDOMAIN", 0, func() error { _, _, err := c.LookupMX(ctx, "nope.example.test"); return want(err, ErrNotFound) }, 2},
		// SOA MINIMUM is 60: the negative answer expires first.
		{"NXDOMAIN expired", 61 * time.Second, func() error { _, _, err := c.LookupMX(ctx, "nope.example.test"); return want(err, ErrNotFound) }, 3},
		{"MX still cached", 0, func() error { _, _, err := c.LookupMX(ctx, "example.test"); return err }, 3},
		// TTL 300 by default.
		{"MX expired", 240 * time.Second, func() error { _, _, err := c.LookupMX(ctx, "example.test"); return err }, 4},
		// Size 2: a third name evicts the least recently used (NXDOMAIN).
		{"evicting", 0, func() error { _, _, err := c.LookupTXT(ctx, "example.test"); return err }, 5},
		{"evicted", 0, func() error { _, _, err := c.LookupMX(ctx, "nope.example.test"); return want(err, ErrNotFound) }, 6},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if n := srv.Queries(); n != s.queries {
			t.Fatalf("%s: server saw %d queries, want %d", s.what, n, s.queries)
		}
	}
	if n := c.cache.len(); n != 2 {
		t.Errorf("cache holds %d entries, want at most 2", n)
	}
}

// TestClientCachesSRV: SRV answers, positive and negative, are cached like
// the others.
func TestClientCachesSRV(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{})
	ctx := t.Context()
	for range 3 {
		if recs, _, err := c.LookupSRV(ctx, "_submission._tcp.example.test"); err != nil || len(recs) != 3 {
			t.Fatalf("SRV: %v, %v", recs, err)
		}
		if _, _, err := c.LookupSRV(ctx, "_imaps._tcp.nope.example.test"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SRV of a missing name: %v", err)
		}
	}
	if n := srv.Queries(); n != 2 {
		t.Errorf("server saw %d queries for 2 names asked 3 times each, want 2", n)
	}
}

func want(err, target error) error {
	if !errors.Is(err, target) {
		return fmt.Errorf("got %v, want %v", err, target)
	}
	return nil
}

func TestMergeIPOrder(t *testing.T) {
	got, _, err := mergeIP(mustAddrs("192.0.2.1"), mustAddrs("2001:db8::1"), Result{}, Result{}, nil, nil)
	if err != nil || !slices.Equal(got, mustAddrs("192.0.2.1", "2001:db8::1")) {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestClientConcurrent(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	c := newTestClient(t, srv.Addr(), ClientConfig{CacheSize: 4})
	names := []string{"example.test", "secure.test", "nope.example.test", "mx1.example.test", "alias.example.test", "v4only.example.test"}
	errs := make(chan error, 16)
	for g := range 16 {
		go func() {
			for i := range 20 {
				_, _, err := c.LookupMX(t.Context(), names[(g+i)%len(names)])
				if err != nil && !errors.Is(err, ErrNotFound) {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := c.cache.len(); n > 4 {
		t.Errorf("cache holds %d entries, bound is 4", n)
	}
}
