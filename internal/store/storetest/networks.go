package storetest

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// testAllowedNetworks covers the allow-lists of networks: adding (masked,
// without zones, duplicates ignored), listing in order, refusing bad
// input and unknown accounts without a change, the size bound, clearing,
// and the list going with its account.
func testAllowedNetworks(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "nets@cred.test")
	other := credAccount(t, s, "other@cred.test")
	p := netip.MustParsePrefix

	if list := must(s.AllowedNetworks(ctx, a.ID)).get(t); list == nil || len(list) != 0 {
		t.Fatalf("new account's list = %#v, want empty", list)
	}
	if err := s.AllowNetworks(ctx, a.ID, "imap", []netip.Prefix{p("192.0.2.7/24"), p("2001:db8::1/32"), netip.PrefixFrom(netip.MustParseAddr("fe80::1%eth0"), 64)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AllowNetworks(ctx, a.ID, "", []netip.Prefix{p("198.51.100.0/24")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AllowNetworks(ctx, a.ID, "imap", []netip.Prefix{p("192.0.2.0/24"), p("10.0.0.0/8")}); err != nil {
		t.Fatal(err) // one already there
	}
	if err := s.AllowNetworks(ctx, other.ID, "smtp", []netip.Prefix{p("203.0.113.0/24")}); err != nil {
		t.Fatal(err)
	}
	want := []store.AllowedNetwork{
		{Protocol: "", Network: p("198.51.100.0/24")},
		{Protocol: "imap", Network: p("10.0.0.0/8")},
		{Protocol: "imap", Network: p("192.0.2.0/24")},
		{Protocol: "imap", Network: p("2001:db8::/32")},
		{Protocol: "imap", Network: p("fe80::/64")},
	}
	if got := must(s.AllowedNetworks(ctx, a.ID)).get(t); !slices.Equal(got, want) {
		t.Errorf("list = %v\nwant %v", got, want)
	}

	for _, tc := range []struct {
		name     string
		account  int64
		protocol string
		nets     []netip.Prefix
		want     error
	}{
		{"unknown protocol", a.ID, "ftp", []netip.Prefix{p("192.0.2.0/24")}, store.ErrInvalid},
		{"invalid prefix", a.ID, "imap", []netip.Prefix{{}}, store.ErrInvalid},
		{"no account", 999999, "imap", []netip.Prefix{p("192.0.2.0/24")}, store.ErrNotFound},
	} {
		if err := s.AllowNetworks(ctx, tc.account, tc.protocol, tc.nets); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	var many []netip.Prefix
	for i := range store.MaxAllowedNetworks {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32))
	}
	if err := s.AllowNetworks(ctx, a.ID, "pop3", many); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("past the bound: %v, want ErrInvalid", err)
	}
	if got := must(s.AllowedNetworks(ctx, a.ID)).get(t); !slices.Equal(got, want) {
		t.Errorf("after refusals, list = %v", got)
	}

	if n := must(s.ClearAllowedNetworks(ctx, a.ID)).get(t); n != len(want) {
		t.Errorf("cleared %d, want %d", n, len(want))
	}
	if got := must(s.AllowedNetworks(ctx, a.ID)).get(t); len(got) != 0 {
		t.Errorf("after clearing: %v", got)
	}
	if got := must(s.AllowedNetworks(ctx, other.ID)).get(t); len(got) != 1 {
		t.Errorf("other account's list touched: %v", got)
	}
	if err := s.DeleteAccount(ctx, other.Address); err != nil {
		t.Fatal(err)
	}
	if got := must(s.AllowedNetworks(ctx, other.ID)).get(t); len(got) != 0 {
		t.Errorf("list outlived its account: %v", got)
	}
}
