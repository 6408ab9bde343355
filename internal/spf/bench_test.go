package spf

import (
	"net/netip"
	"testing"
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
