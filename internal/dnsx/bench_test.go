package dnsx

import (
	"net/netip"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// benchZone holds what the cache-hit benchmarks ask for.
const benchZone = `
example.test.      SOA  ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
example.test.      TXT  "v=spf1 ip4:192.0.2.0/24 -all"
example.test.      TXT  "google-site-verification=abcdef"
mx.example.test.   A    192.0.2.10
mx.example.test.   AAAA 2001:db8::10
`

// warmClient returns a Client whose cache holds the answers asked by warm,
// and the server, so that benchmarks can check nothing more reached it.
func warmClient(b *testing.B, warm func(*Client)) (*Client, *dnstest.Server) {
	b.Helper()
	srv := dnstest.Start(b, benchZone)
	c, err := NewClient(srv.Addr(), ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	warm(c)
	return c, srv
}

// BenchmarkClientTXTCacheHit is the lookup SPF, DKIM and DMARC make for
// every message on a busy server: a TXT answer already in the cache.
func BenchmarkClientTXTCacheHit(b *testing.B) {
	for _, name := range []string{"example.test", "Example.Test.", "nope.example.test"} {
		b.Run(name, func(b *testing.B) {
			c, srv := warmClient(b, func(c *Client) { c.LookupTXT(b.Context(), name) })
			queries := srv.Queries()
			b.ReportAllocs()
			for b.Loop() {
				txts, _, err := c.LookupTXT(b.Context(), name)
				if (err == nil) != (len(txts) == 2) {
					b.Fatal(txts, err)
				}
			}
			if n := srv.Queries() - queries; n != 0 {
				b.Errorf("%d queries reached the server after warm-up", n)
			}
		})
	}
}

// BenchmarkClientIPCacheHit is LookupIP, two cached answers merged.
func BenchmarkClientIPCacheHit(b *testing.B) {
	c, srv := warmClient(b, func(c *Client) { c.LookupIP(b.Context(), "mx.example.test") })
	queries := srv.Queries()
	want := []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}
	b.ReportAllocs()
	for b.Loop() {
		addrs, _, err := c.LookupIP(b.Context(), "mx.example.test")
		if err != nil || len(addrs) != 2 || addrs[0] != want[0] || addrs[1] != want[1] {
			b.Fatal(addrs, err)
		}
	}
	if n := srv.Queries() - queries; n != 0 {
		b.Errorf("%d queries reached the server after warm-up", n)
	}
}

// BenchmarkStubTXT is a TXT lookup answered from a Stub's zone, as in
// `sealpost dev` and the mail check benchmarks.
func BenchmarkStubTXT(b *testing.B) {
	z := NewZone()
	if err := z.AddDomain("example.test"); err != nil {
		b.Fatal(err)
	}
	if err := z.Add(`example.test. TXT "v=spf1 ip4:192.0.2.0/24 -all"` + "\n" + `example.test. TXT "other"`); err != nil {
		b.Fatal(err)
	}
	s := NewStub(z, nil)
	b.ReportAllocs()
	for b.Loop() {
		if txts, _, err := s.LookupTXT(b.Context(), "example.test"); err != nil || len(txts) != 2 {
			b.Fatal(txts, err)
		}
	}
}
