package account

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// TestLoginAllowedNetworks: with an allow-list, logins on the protocols it
// names are refused from outside its networks, whatever the password
// (the main one or an app password), with the reason in the log; other
// protocols are untouched until an entry for every protocol applies.
func TestLoginAllowedNetworks(t *testing.T) {
	f := newLoginFixture(t)
	ctx := t.Context()
	p := netip.MustParsePrefix
	if err := f.s.AllowNetworks(ctx, "plain@example.com", "imap", []netip.Prefix{p("192.0.2.0/24")}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		allow    []netip.Prefix // added for every protocol before the attempt
		protocol string
		ip       string
		password string
		ok       bool
	}{
		{"inside", nil, "imap", "192.0.2.7", mainPassword, true},
		{"inside, v4-mapped", nil, "imap", "::ffff:192.0.2.7", mainPassword, true},
		{"outside", nil, "imap", "198.51.100.1", mainPassword, false},
		{"outside, wrong password", nil, "imap", "198.51.100.1", "wrong", false},
		{"no IP", nil, "imap", "", mainPassword, false},
		{"another protocol, no entry", nil, "pop3", "198.51.100.1", mainPassword, true},
		{"app password outside", nil, "smtp", "198.51.100.1", "", true},
		{"every protocol: outside", []netip.Prefix{p("203.0.113.0/24")}, "pop3", "198.51.100.1", mainPassword, false},
		{"every protocol: app password outside", nil, "smtp", "198.51.100.1", "", false},
		{"every protocol: inside", nil, "smtp", "203.0.113.9", "", true},
		{"imap: inside the list for all", nil, "imap", "203.0.113.9", mainPassword, true},
		{"imap: still inside its own", nil, "imap", "192.0.2.200", mainPassword, true},
	}
	for _, st := range steps {
		if st.allow != nil {
			if err := f.s.AllowNetworks(ctx, "plain@example.com", "", st.allow); err != nil {
				t.Fatal(err)
			}
		}
		password := st.password
		if password == "" {
			password = f.plainApp
		}
		var ip netip.Addr
		if st.ip != "" {
			ip = netip.MustParseAddr(st.ip)
		}
		f.guard.recorded = nil
		_, err := f.s.Login(ctx, Attempt{Protocol: st.protocol, Username: "plain@example.com", Password: password, RemoteIP: ip})
		if st.ok != (err == nil) || err != nil && !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: Login = %v, want ok %v", st.name, err, st.ok)
			continue
		}
		e := lastLog(t, f.s)
		if !st.ok && (e.Detail != reasonNetwork || e.AccountID != f.plain.ID || e.Outcome != "fail") {
			t.Errorf("%s: log entry %+v, want the reason %q", st.name, e, reasonNetwork)
		}
		if !st.ok && (len(f.guard.recorded) != 1 || f.guard.recorded[0] != ip.String()+" plain@example.com fail") {
			t.Errorf("%s: Guard.Record calls %q", st.name, f.guard.recorded)
		}
	}

	list, err := f.s.AllowedNetworks(ctx, "PLAIN@example.com")
	want := []store.AllowedNetwork{{Protocol: "", Network: p("203.0.113.0/24")}, {Protocol: "imap", Network: p("192.0.2.0/24")}}
	if err != nil || len(list) != 2 || list[0] != want[0] || list[1] != want[1] {
		t.Errorf("AllowedNetworks = %v, %v", list, err)
	}
	if n, err := f.s.ClearAllowedNetworks(ctx, "plain@example.com"); err != nil || n != 2 {
		t.Errorf("ClearAllowedNetworks = %d, %v", n, err)
	}
	if _, err := f.s.Login(ctx, Attempt{Protocol: "imap", Username: "plain@example.com", Password: mainPassword,
		RemoteIP: netip.MustParseAddr("198.51.100.1")}); err != nil {
		t.Errorf("after clearing, Login from anywhere = %v", err)
	}
	for _, address := range []string{"nobody@example.com", "not an address"} {
		if err := f.s.AllowNetworks(ctx, address, "imap", []netip.Prefix{p("192.0.2.0/24")}); err == nil {
			t.Errorf("AllowNetworks(%q) worked", address)
		}
	}
	if err := f.s.AllowNetworks(ctx, "plain@example.com", "ftp", []netip.Prefix{p("192.0.2.0/24")}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AllowNetworks for ftp = %v, want ErrInvalid", err)
	}
}

// TestLoginOutsideNetworkCostsAHash: a refusal by the allow-list waits for
// a hash like a wrong password, so its timing tells nothing.
func TestLoginOutsideNetworkCostsAHash(t *testing.T) {
	f := newLoginFixture(t)
	if err := f.s.AllowNetworks(t.Context(), "plain@example.com", "", []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}); err != nil {
		t.Fatal(err)
	}
	f.s.MaxConcurrentChecks = 1
	release, err := f.s.acquireCheck(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = f.s.Login(ctx, Attempt{Protocol: "imap", Username: "plain@example.com", Password: mainPassword,
		RemoteIP: netip.MustParseAddr("198.51.100.1")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Login from outside = %v, want it waiting for a hash", err)
	}
}
