package greylist

import (
	"net/netip"
	"testing"

	"sealpost.dev/sealpost/internal/store/sqlite"
)

// BenchmarkWhitelisted is the common case on a busy server: a network that
// has retried before, on SQLite.
func BenchmarkWhitelisted(b *testing.B) {
	st, err := sqlite.Open(b.Context(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	clk := newClock()
	g := New(st, Options{Now: clk.Now})
	g.Check(b.Context(), client, "a@example.org", "b@example.com")
	clk.Advance(DefaultDelay)
	if ok, _, err := g.Check(b.Context(), client, "a@example.org", "b@example.com"); !ok || err != nil {
		b.Fatal(ok, err)
	}
	for b.Loop() {
		if ok, _, err := g.Check(b.Context(), client, "x@example.net", "b@example.com"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkFirstAttempt greylists a new triplet each time (one read, one
// write), on SQLite.
func BenchmarkFirstAttempt(b *testing.B) {
	st, err := sqlite.Open(b.Context(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	g := New(st, Options{})
	i := 0
	for b.Loop() {
		i++
		ip := netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 1}) // a /24 of its own
		if ok, _, err := g.Check(b.Context(), ip, "a@example.org", "b@example.com"); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
