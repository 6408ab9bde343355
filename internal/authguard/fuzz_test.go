package authguard

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"
)

// FuzzGuard drives a Guard with arbitrary addresses, account names and
// keys to Unlock: it must not panic, must keep within its cap, and must
// never lock out an address that has not failed.
func FuzzGuard(f *testing.F) {
	f.Add([]byte{127, 0, 0, 2}, "owner@example.com", "127.0.0.2", uint8(12))
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "Ünïcode@example.com", "2001:db8::/64", uint8(60))
	f.Add([]byte{}, "\xff\x00", "", uint8(1))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1}, "a@b", "::ffff:10.0.0.1", uint8(3))
	f.Fuzz(func(t *testing.T, ipBytes []byte, address, unlock string, n uint8) {
		l := DefaultLimits()
		l.MaxTracked = 100
		g, clock, _ := newTestGuard(t, l)
		ip, _ := netip.AddrFromSlice(ipBytes)
		for i := range int(n) {
			if g.Admit(ctx, ip, address) == nil {
				g.Record(ctx, ip, address, i%7 == 6)
			}
			clock.advance(time.Duration(i) * time.Second)
		}
		g.Unlock(unlock)
		if g.tracked() > l.MaxTracked {
			t.Fatalf("tracking %d keys, cap %d", g.tracked(), l.MaxTracked)
		}
		other := netip.MustParseAddr("192.0.2.250")
		if g.network(ip.Unmap()) == g.network(other) {
			return // the same network, which may be locked out
		}
		if err := g.Admit(ctx, other, "someone-else@example.org"); err != nil {
			t.Fatalf("an address that never failed refused: %v", err)
		}
	})
}

// FuzzStoredTrust feeds arbitrary stored values to the reader of trusted
// networks: an unreadable value is an error, never a panic, and a readable
// one only trusts valid networks.
func FuzzStoredTrust(f *testing.F) {
	good, _ := json.Marshal(storedTrust{V: 1, Networks: []Trusted{{Network: netip.MustParsePrefix("127.0.0.0/24"), LastLogin: time.Unix(0, 0)}}})
	f.Add(good)
	f.Add([]byte(`{"v":1,"networks":[{"network":"300.0.0.0/24"}]}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, value []byte) {
		g, _, kv := newTestGuard(t, DefaultLimits())
		if err := kv.PutValue(ctx, Namespace, "a@example.com", value, time.Now().Add(time.Hour)); err != nil {
			return
		}
		list, err := g.readTrust(ctx, "a@example.com")
		if err != nil {
			return
		}
		for _, tr := range list {
			if !tr.Network.IsValid() && tr.Network != (netip.Prefix{}) {
				t.Fatalf("invalid network %v read", tr.Network)
			}
		}
		g.networkTrusted(ctx, "a@example.com", netip.MustParsePrefix("127.0.0.0/24"), time.Now())
	})
}
