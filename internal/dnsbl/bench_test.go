package dnsbl

import (
	"context"
	"net/netip"
	"os"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// benchWorld serves testdata/world.zone for a benchmark.
func benchWorld(b *testing.B, cacheSize int) dnsx.Resolver {
	zone, err := os.ReadFile("testdata/world.zone")
	if err != nil {
		b.Fatal(err)
	}
	srv := dnstest.Start(b, string(zone))
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

var benchZones = []Zone{{Name: "ip.test"}, {Name: "codes.test", Codes: []netip.Addr{netip.MustParseAddr("127.0.0.3")}}, {Name: "loop.test"}}

// BenchmarkCheckUncached asks three zones over loopback UDP each time.
func BenchmarkCheckUncached(b *testing.B) {
	r := benchWorld(b, -1)
	for b.Loop() {
		if ls, err := Check(context.Background(), r, ipListed, benchZones); err != nil || len(ls) != 2 {
			b.Fatal(ls, err)
		}
	}
}

// BenchmarkCheckCached is the same through a Checker's cache.
func BenchmarkCheckCached(b *testing.B) {
	c := &Checker{Resolver: benchWorld(b, -1)}
	for b.Loop() {
		if ls, err := c.Check(context.Background(), ipListed, benchZones); err != nil || len(ls) != 2 {
			b.Fatal(ls, err)
		}
	}
}
