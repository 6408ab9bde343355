package filter

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dnsbl"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/filter/content"
)

// The lists: bl.test lists 192.0.2.99 and (to show it is not asked)
// 127.0.0.1; uri.test lists evil.test; broken.test fails for 192.0.2.98.
const dnsblZone = `
99.2.0.192.bl.test. A 127.0.0.2
99.2.0.192.bl.test. TXT "listed for spam"
1.0.0.127.bl.test. A 127.0.0.2
10.0.0.10.bl.test. A 127.0.0.2
evil.test.uri.test. A 127.0.0.2
$SERVFAIL 98.2.0.192.broken.test
$SERVFAIL 99.2.0.192.broken.test
`

func TestDNSBLCheck(t *testing.T) {
	srv := dnstest.Start(t, dnsblZone)
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	zones := func(specs ...string) []dnsbl.Zone {
		var out []dnsbl.Zone
		for _, s := range specs {
			z, err := ParseZone(s)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, z)
		}
		return out
	}
	check := &DNSBL{Checker: &dnsbl.Checker{Resolver: r}, IPZones: zones("bl.test=3"), DomainZones: zones("uri.test=4")}
	broken := &DNSBL{Checker: &dnsbl.Checker{Resolver: r}, IPZones: zones("broken.test=3", "bl.test=3")}
	msg := func(body string) string { return "From: a@far.test\r\nSubject: x\r\n\r\n" + body + "\r\n" }
	tests := []struct {
		name    string
		check   *DNSBL
		ip, msg string
		want    []string
		failed  bool
	}{
		{name: "clean", check: check, ip: "192.0.2.1", msg: msg("Hi.")},
		{name: "listed address", check: check, ip: "192.0.2.99", msg: msg("Hi."), want: []string{"dnsbl.bl.test"}},
		{name: "loopback not asked", check: check, ip: "127.0.0.1", msg: msg("Hi.")},
		{name: "private not asked", check: check, ip: "10.0.0.10", msg: msg("Hi.")},
		{name: "listed link domain, twice", check: check, ip: "192.0.2.1",
			msg: msg("See https://www.evil.test/a and http://login.evil.test/b"), want: []string{"dnsbl.uri.test"}},
		{name: "listed From domain", check: check, ip: "192.0.2.1", msg: "From: x@mail.evil.test\r\n\r\nHi.\r\n", want: []string{"dnsbl.uri.test"}},
		{name: "both", check: check, ip: "192.0.2.99", msg: msg("https://evil.test/"), want: []string{"dnsbl.bl.test", "dnsbl.uri.test"}},
		{name: "a list fails, nothing found", check: broken, ip: "192.0.2.98", msg: msg("Hi."), failed: true},
		{name: "a list fails, another lists", check: broken, ip: "192.0.2.99", msg: msg("Hi."), want: []string{"dnsbl.bl.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Filter{Checks: []Check{tt.check}}
			in := &Input{Env: &delivery.Envelope{ID: "t", RemoteIP: netip.MustParseAddr(tt.ip)}, Message: content.Parse([]byte(tt.msg))}
			res := f.score(t.Context(), in)
			got := names(res.Scores)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) || (res.Failed != "") != tt.failed {
				t.Errorf("scores %v (failed %q), want %v (failed %v)", res.Scores, res.Failed, tt.want, tt.failed)
			}
			for _, s := range res.Scores {
				if s.Weight <= 0 || !strings.Contains(s.Reason, "listed by") {
					t.Errorf("score %+v", s)
				}
			}
		})
	}
}

func TestParseZone(t *testing.T) {
	z, err := ParseZone("DBL.example.= 4.5  127.0.1.2 127.0.1.4")
	if err == nil {
		t.Errorf("a space before the score: %+v", z)
	}
	z, err = ParseZone("DBL.example.=4.5 127.0.1.2 127.0.1.4")
	if err != nil || z.Name != "dbl.example" || z.Score != 4.5 || len(z.Codes) != 2 || z.Codes[1] != netip.MustParseAddr("127.0.1.4") {
		t.Errorf("%+v, %v", z, err)
	}
	for _, bad := range []string{"", "zone", "=3", "zone=x", "zone=3 ::1", "zone=3 nonsense", ".=1", "a..b=1", "zone=NaN", "zone=Inf"} {
		if _, err := ParseZone(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
