package spf

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// BenchmarkVerify checks a typical record, with an include and an mx,
// over the in-memory resolver: the cost of Sealpost's own work.
func BenchmarkVerify(b *testing.B) {
	z := newZone()
	z.add("example.com", "TXT", "v=spf1 ip4:203.0.113.0/24 include:_spf.provider.example mx ~all")
	z.add("example.com", "TXT", "google-site-verification=abcdef")
	z.add("_spf.provider.example", "TXT", "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 -all")
	z.add("example.com", "MX", "10 mx1.example.com")
	z.add("example.com", "MX", "20 mx2.example.com")
	z.add("mx1.example.com", "A", "192.0.2.10")
	z.add("mx2.example.com", "A", "192.0.2.20")
	args := Args{IP: netip.MustParseAddr("192.0.2.20"), MailFrom: "user@example.com", HELO: "mx2.example.com", Receiver: "mx.sealpost.example"}
	b.ReportAllocs()
	for b.Loop() {
		rcv, err := Verify(b.Context(), z, args)
		if err != nil || rcv.Result != Pass || rcv.Mechanism != "mx" {
			b.Fatalf("%+v, %v", rcv, err)
		}
	}
}

// BenchmarkVerifyCachedClient checks a record that passes through a chain
// of two includes down to an ip4 term, through a dnsx.Client whose cache
// already holds the answers, as on a busy server. The context carries a
// deadline, as the inbound check's does.
func BenchmarkVerifyCachedClient(b *testing.B) {
	srv := dnstest.Start(b, `
example.com.           SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
example.com.           TXT "v=spf1 include:_spf.example.com -all"
example.com.           TXT "google-site-verification=abcdef"
_spf.example.com.      TXT "v=spf1 ip4:198.51.100.0/24 include:_spf.provider.example ~all"
_spf.provider.example. TXT "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.0/24 -all"
`)
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), time.Hour)
	defer cancel()
	args := Args{IP: netip.MustParseAddr("192.0.2.20"), MailFrom: "user@example.com", HELO: "mx.example.com", Receiver: "mx.sealpost.example"}
	if rcv, err := Verify(ctx, client, args); err != nil || rcv.Result != Pass {
		b.Fatalf("warm-up: %+v, %v", rcv, err)
	}
	queries := srv.Queries()
	b.ReportAllocs()
	for b.Loop() {
		rcv, err := Verify(ctx, client, args)
		if err != nil || rcv.Result != Pass || rcv.Mechanism != "include:_spf.example.com" {
			b.Fatalf("%+v, %v", rcv, err)
		}
	}
	if n := srv.Queries() - queries; n != 0 {
		b.Errorf("%d queries reached the server after warm-up", n)
	}
}
