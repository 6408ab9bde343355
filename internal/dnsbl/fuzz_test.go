package dnsbl

import (
	"strings"
	"testing"
)

// FuzzRegistrableDomain: any input gives an error or a lower-case ASCII
// name short enough to query, and a name is its own registrable domain's.
func FuzzRegistrableDomain(f *testing.F) {
	for _, s := range []string{"example.com", "a.b.example.co.uk.", "bücher.example", "192.0.2.1", "[::1]", "", ".", "xn--", "a..b", "co.uk"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		reg, err := RegistrableDomain(s)
		if err != nil {
			return
		}
		if reg == "" || len(reg) > 253 || reg != strings.ToLower(reg) {
			t.Fatalf("RegistrableDomain(%q) = %q", s, reg)
		}
		for i := 0; i < len(reg); i++ {
			if reg[i] >= 0x80 {
				t.Fatalf("RegistrableDomain(%q) = %q, not ASCII", s, reg)
			}
		}
		again, err := RegistrableDomain(reg)
		if err != nil || again != reg {
			t.Fatalf("RegistrableDomain(%q) = %q, %v; want itself", reg, again, err)
		}
	})
}

// FuzzCleanReason: the reason from a TXT record is printable ASCII within
// MaxReason bytes.
func FuzzCleanReason(f *testing.F) {
	f.Add("Listed; see https://example.test/q?1.2.3.4")
	f.Add("\x00\xff\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		r := cleanReason(s)
		if len(r) > MaxReason {
			t.Fatalf("%d bytes", len(r))
		}
		for i := 0; i < len(r); i++ {
			if r[i] < 0x20 || r[i] > 0x7e {
				t.Fatalf("byte %#x in %q", r[i], r)
			}
		}
	})
}
