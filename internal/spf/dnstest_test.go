package spf_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/spf"
)

// bigRecord is an SPF record of about 2.5 kB in TXT strings of at most
// 255 octets: its answer does not fit the 1232-octet EDNS(0) payload, so
// the client must retry over TCP.
func bigRecord() (zoneText string, length int) {
	var terms []string
	for i := range 150 {
		terms = append(terms, fmt.Sprintf("ip4:10.0.%d.0/24", i))
	}
	terms = append(terms, "ip4:192.0.2.77", "-all")
	record := "v=spf1 " + strings.Join(terms, " ")
	var chunks []string
	for rest := record; rest != ""; {
		n := min(len(rest), 200)
		chunks = append(chunks, `"`+rest[:n]+`"`)
		rest = rest[n:]
	}
	return "big.example. TXT " + strings.Join(chunks, " ") + "\n", len(record)
}

func TestOverSockets(t *testing.T) {
	big, length := bigRecord()
	if length < 2000 {
		t.Fatalf("record of %d octets is too small to need TCP", length)
	}
	srv := dnstest.Start(t, `
example.com.      TXT  "v=spf1 include:_spf.example.net mx -all"
example.com.      MX   10 mx.example.com.
mx.example.com.   A    192.0.2.10
_spf.example.net. TXT  "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 ~all"
slow.example.     TXT  "v=spf1 include:hang.example. -all"
$TIMEOUT hang.example.
broken.example.   TXT  "v=spf1 a:servfail.example. -all"
$SERVFAIL servfail.example.
`+big)
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Timeout: 300 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip, from  string
		want      spf.Status
		mechanism string
	}{
		{"198.51.100.7", "user@example.com", spf.Pass, "include:_spf.example.net"},
		{"2001:db8::5", "user@example.com", spf.Pass, "include:_spf.example.net"},
		{"192.0.2.10", "user@example.com", spf.Pass, "mx"},
		{"192.0.2.11", "user@example.com", spf.Fail, "-all"},
		{"192.0.2.77", "user@big.example", spf.Pass, "ip4:192.0.2.77"},
		{"192.0.2.1", "user@broken.example", spf.Temperror, ""},
		{"192.0.2.1", "user@nowhere.example", spf.None, ""},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		rcv, err := spf.Verify(ctx, client, spf.Args{IP: netip.MustParseAddr(tt.ip), MailFrom: tt.from, HELO: "client.example"})
		cancel()
		if rcv.Result != tt.want || rcv.Mechanism != tt.mechanism {
			t.Errorf("%s from %s: %s by %q (%v), want %s by %q", tt.from, tt.ip, rcv.Result, rcv.Mechanism, err, tt.want, tt.mechanism)
		}
	}
}

// A name that never answers gives temperror once the budget is spent,
// not later.
func TestTimeoutWithinBudget(t *testing.T) {
	srv := dnstest.Start(t, `
slow.example.  TXT  "v=spf1 include:hang.example. -all"
$TIMEOUT hang.example.
`)
	// Attempts alone would take 10 x 1s; the budget cuts them short.
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Timeout: time.Second, Attempts: 10})
	if err != nil {
		t.Fatal(err)
	}
	const budget = 700 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), budget)
	defer cancel()
	start := time.Now()
	rcv, err := spf.Verify(ctx, client, spf.Args{IP: netip.MustParseAddr("192.0.2.1"), MailFrom: "a@slow.example"})
	elapsed := time.Since(start)
	if rcv.Result != spf.Temperror || !errors.Is(err, dnsx.ErrTemporary) {
		t.Fatalf("%s, %v", rcv.Result, err)
	}
	if elapsed > budget+300*time.Millisecond {
		t.Errorf("took %v with a budget of %v", elapsed, budget)
	}
	t.Logf("temperror after %v: %s", elapsed, rcv.Problem)
}
