package dnstest

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const zone = `
$SECURE secure.test
$SERVFAIL fail.example.test. AAAA
$TIMEOUT slow.example.test.
example.test.        SOA  ns.example.test. hm.example.test. 1 3600 600 86400 42
example.test.        MX   10 mail.example.test.
mail.example.test.   A    192.0.2.1
fail.example.test.   A    192.0.2.2
www.example.test.    CNAME mail.example.test.
a.b.example.test.    TXT  "deep"
secure.test.         A    192.0.2.3
`

func exchange(t *testing.T, s *Server, network, name string, qtype uint16, edit func(*dns.Msg)) *dns.Msg {
	t.Helper()
	m := new(dns.Msg).SetQuestion(name, qtype)
	if edit != nil {
		edit(m)
	}
	c := &dns.Client{Net: network, Timeout: 500 * time.Millisecond}
	r, _, err := c.Exchange(m, s.Addr())
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

func TestAnswers(t *testing.T) {
	s := Start(t, zone)
	withDO := func(m *dns.Msg) { m.SetEdns0(1232, true) }
	withAD := func(m *dns.Msg) { m.AuthenticatedData = true }
	cases := []struct {
		name    string
		qtype   uint16
		edit    func(*dns.Msg)
		rcode   int
		answers int
		soa     bool
		ad      bool
	}{
		{"example.test.", dns.TypeMX, nil, dns.RcodeSuccess, 1, false, false},
		{"EXAMPLE.TEST.", dns.TypeMX, nil, dns.RcodeSuccess, 1, false, false},
		{"example.test.", dns.TypeTXT, nil, dns.RcodeSuccess, 0, true, false},
		{"nope.example.test.", dns.TypeA, nil, dns.RcodeNameError, 0, true, false},
		{"b.example.test.", dns.TypeA, nil, dns.RcodeSuccess, 0, true, false},
		{"www.example.test.", dns.TypeA, nil, dns.RcodeSuccess, 2, false, false},
		{"fail.example.test.", dns.TypeA, nil, dns.RcodeSuccess, 1, false, false},
		{"fail.example.test.", dns.TypeAAAA, nil, dns.RcodeServerFailure, 0, false, false},
		{"secure.test.", dns.TypeA, nil, dns.RcodeSuccess, 1, false, false},
		{"secure.test.", dns.TypeA, withDO, dns.RcodeSuccess, 1, false, true},
		{"secure.test.", dns.TypeA, withAD, dns.RcodeSuccess, 1, false, true},
		{"nope.secure.test.", dns.TypeA, withDO, dns.RcodeNameError, 0, false, true},
		{"mail.example.test.", dns.TypeA, withDO, dns.RcodeSuccess, 1, false, false},
		{"other.test.", dns.TypeA, nil, dns.RcodeNameError, 0, false, false},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			r := exchange(t, s, network, tc.name, tc.qtype, tc.edit)
			where := network + " " + tc.name + " " + dns.TypeToString[tc.qtype]
			if r.Rcode != tc.rcode || len(r.Answer) != tc.answers || r.AuthenticatedData != tc.ad {
				t.Errorf("%s: rcode %s, %d answers, AD %v; want %s, %d, %v", where,
					dns.RcodeToString[r.Rcode], len(r.Answer), r.AuthenticatedData,
					dns.RcodeToString[tc.rcode], tc.answers, tc.ad)
			}
			if hasSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA; hasSOA != tc.soa {
				t.Errorf("%s: authority %v, want SOA %v", where, r.Ns, tc.soa)
			}
		}
	}
}

func TestTimeoutMarker(t *testing.T) {
	s := Start(t, zone)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	_, _, err := c.Exchange(new(dns.Msg).SetQuestion("slow.example.test.", dns.TypeA), s.Addr())
	if err == nil {
		t.Fatal("a $TIMEOUT name was answered")
	}
	if n := s.Queries(); n != 1 {
		t.Errorf("Queries() = %d, want 1", n)
	}
}

func TestTruncation(t *testing.T) {
	var b strings.Builder
	b.WriteString("$TRUNCATE forced.test. TXT\nforced.test. TXT \"x\"\n")
	for range 20 {
		b.WriteString("big.test. TXT \"" + strings.Repeat("y", 200) + "\"\n")
	}
	s := Start(t, b.String())
	cases := []struct {
		network, name string
		edns          bool
		truncated     bool
	}{
		{"udp", "big.test.", false, true},
		{"udp", "big.test.", true, true}, // 4 KB does not fit 1232 either
		{"tcp", "big.test.", false, false},
		{"udp", "forced.test.", true, true},
		{"tcp", "forced.test.", true, false},
	}
	for _, tc := range cases {
		r := exchange(t, s, tc.network, tc.name, dns.TypeTXT, func(m *dns.Msg) {
			if tc.edns {
				m.SetEdns0(1232, false)
			}
		})
		if r.Truncated != tc.truncated {
			t.Errorf("%s %s: TC = %v, want %v", tc.network, tc.name, r.Truncated, tc.truncated)
		}
		if !r.Truncated && len(r.Answer) == 0 {
			t.Errorf("%s %s: no answer", tc.network, tc.name)
		}
	}
}

func TestBadZones(t *testing.T) {
	for _, z := range []string{
		"example.test. A not-an-address",
		"$SERVFAIL",
		"$SERVFAIL a..b",
		"$TIMEOUT example.test. NOSUCHTYPE",
		"$SECURE example.test. A",
	} {
		if _, err := newServer(z); err == nil {
			t.Errorf("zone %q accepted", z)
		}
	}
}

func TestClose(t *testing.T) {
	s := Start(t, zone)
	s.Close()
	s.Close() // twice is harmless; Cleanup calls it again
	c := &dns.Client{Net: "tcp", Timeout: 200 * time.Millisecond}
	if _, _, err := c.Exchange(new(dns.Msg).SetQuestion("example.test.", dns.TypeMX), s.Addr()); err == nil {
		t.Error("a closed server answered")
	}
}
