package account

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// countingStore counts the KV reads of a store.
type countingStore struct {
	store.Store
	gets int
}

func (c *countingStore) GetValue(ctx context.Context, ns, key string) ([]byte, error) {
	c.gets++
	return c.Store.GetValue(ctx, ns, key)
}

func TestNewSignInAlert(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	counting := &countingStore{Store: s.Store}
	s.Store = counting
	mustAccount(t, s, "user@example.com")
	alerts := &recordedAlerts{}
	s.Alerts = alerts

	steps := []struct {
		name    string
		advance time.Duration
		ip      string
		client  string
		alert   string // "" for none, else what the detail must say
		reads   int    // KV reads this login costs
	}{
		{"first login ever", 0, "192.0.2.7", "Thunderbird", "", 1},
		{"same place again", time.Minute, "192.0.2.7", "Thunderbird", "", 0},
		{"same /24, same client", time.Minute, "192.0.2.200", "Thunderbird", "", 0},
		{"new network", time.Minute, "198.51.100.1", "Thunderbird", "network (198.51.100.0/24)", 1},
		{"new client", time.Minute, "192.0.2.7", "evil-script", `client ("evil-script")`, 1},
		{"both new", time.Minute, "203.0.113.9", "other", "network (203.0.113.0/24) not seen and with a client", 1},
		{"IPv6, same /64 later", time.Minute, "2001:db8:1:2::1", "Thunderbird", "network (2001:db8:1:2::/64)", 1},
		{"IPv6, same /64", time.Minute, "2001:db8:1:2:ffff::9", "Thunderbird", "", 0},
		{"IPv4-mapped is IPv4", time.Minute, "::ffff:192.0.2.9", "Thunderbird", "", 1},
		{"a day later, the record refreshed", 25 * time.Hour, "192.0.2.7", "Thunderbird", "", 1},
		{"91 days later, forgotten", 91 * 24 * time.Hour, "198.51.100.1", "Thunderbird", "network (198.51.100.0/24)", 1},
		{"control characters in the client", time.Minute, "198.51.100.1", "bad\r\nclient\t", `client ("bad  client")`, 1},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		alerts.sent = nil
		counting.gets = 0
		_, err := s.Login(ctx, Attempt{Protocol: "imap", Username: "user@example.com", Password: testPassword,
			RemoteIP: netip.MustParseAddr(st.ip), Client: st.client, Method: "LOGIN"})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if counting.gets != st.reads {
			t.Errorf("%s: %d KV reads, want %d", st.name, counting.gets, st.reads)
		}
		switch {
		case st.alert == "" && len(alerts.sent) != 0:
			t.Errorf("%s: alerts %+v, want none", st.name, alerts.sent)
		case st.alert != "" && (len(alerts.sent) != 1 || alerts.sent[0].Kind != AlertNewSignIn ||
			!strings.Contains(alerts.sent[0].Detail, st.alert) || alerts.sent[0].RemoteIP != netip.MustParseAddr(st.ip)):
			t.Errorf("%s: alerts %+v, want a new sign-in saying %q", st.name, alerts.sent, st.alert)
		}
	}

	// A failed login is no sign-in.
	alerts.sent = nil
	s.Login(ctx, Attempt{Protocol: "imap", Username: "user@example.com", Password: "wrong", RemoteIP: netip.MustParseAddr("100.64.0.1")})
	if len(alerts.sent) != 0 {
		t.Errorf("failed login raised %+v", alerts.sent)
	}
}

// TestNewSignInForgottenWithAccount checks a new account of a deleted
// one's name starts afresh: its first login raises nothing.
func TestNewSignInForgottenWithAccount(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	alerts := &recordedAlerts{}
	s.Alerts = alerts
	login := func(ip string) {
		t.Helper()
		if _, err := s.Login(ctx, Attempt{Protocol: "pop3", Username: "user@example.com", Password: testPassword,
			RemoteIP: netip.MustParseAddr(ip)}); err != nil {
			t.Fatal(err)
		}
	}
	mustAccount(t, s, "user@example.com")
	login("192.0.2.1")
	if err := s.DeleteAccount(ctx, "user@example.com"); err != nil {
		t.Fatal(err)
	}
	mustAccount(t, s, "user@example.com")
	login("198.51.100.1")
	if len(alerts.sent) != 0 {
		t.Errorf("alerts %+v, want none", alerts.sent)
	}
}

func TestNetworkOf(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.77":           "192.0.2.0/24",
		"::ffff:192.0.2.77":    "192.0.2.0/24",
		"2001:db8:a:b:c:d:e:f": "2001:db8:a:b::/64",
		"fe80::1%eth0":         "fe80::/64",
		"":                     "",
	} {
		var ip netip.Addr
		if in != "" {
			ip = netip.MustParseAddr(in)
		}
		if got := networkOf(ip); got != want {
			t.Errorf("networkOf(%q) = %q, want %q", in, got, want)
		}
	}
}
