package dmarc

import (
	"errors"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/authres"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func testZone() *memResolver {
	m := newMemResolver(map[string][]string{
		"_dmarc.example.com":           {"v=DMARC1; p=reject; rua=mailto:d@example.com"},
		"_dmarc.strict.example":        {"v=DMARC1; p=quarantine; adkim=s; aspf=s"},
		"_dmarc.subs.example":          {"v=DMARC1; p=reject; sp=quarantine; np=reject"},
		"_dmarc.nosp.example":          {"v=DMARC1; p=quarantine"},
		"_dmarc.npnone.example":        {"v=DMARC1; p=none; np=reject"},
		"_dmarc.half.example":          {"v=DMARC1; p=reject; pct=50"},
		"_dmarc.testing.example":       {"v=DMARC1; p=quarantine; t=y"},
		"_dmarc.two.example":           {"v=DMARC1; p=reject", "v=DMARC1; p=none"},
		"_dmarc.sub.two.example":       {"spf1 nothing"},
		"_dmarc.mixed.example":         {"v=spf1 -all", "v=DMARC1; p=quarantine", "hello"},
		"_dmarc.bad.example":           {"v=DMARC1; p=whatever"},
		"_dmarc.badrua.example":        {"v=DMARC1; p=whatever; rua=mailto:r@badrua.example"},
		"_dmarc.co.uk":                 {"v=DMARC1; p=reject"},
		"_dmarc.own.parent.test":       {"v=DMARC1; p=none"},
		"_dmarc.parent.test":           {"v=DMARC1; p=reject"},
		"_dmarc.xn--bcher-kva.example": {"v=DMARC1; p=reject"},
	})
	for _, n := range []string{"www.subs.example", "www.npnone.example", "mail.example.com"} {
		m.exists[n] = true
	}
	m.fail["_dmarc.tempfail.example"] = true
	m.fail["_dmarc.sub.tempfail2.example"] = true
	return m
}

func TestEvaluate(t *testing.T) {
	pass := func(d string) []DKIM { return []DKIM{{Result: "pass", Domain: d}} }
	tests := []struct {
		name        string
		from        []string
		spf         SPF
		dkim        []DKIM
		sample      int
		result      Result
		disposition Policy
		requested   Policy
		by          string
		policyDom   string
		spfAl, dkAl bool
	}{
		{name: "dkim aligned exact", from: []string{"example.com"}, dkim: pass("example.com"),
			result: ResultPass, disposition: PolicyNone, requested: PolicyReject, policyDom: "example.com", dkAl: true},
		{name: "dkim relaxed subdomain", from: []string{"example.com"}, dkim: pass("Mail.Example.COM."),
			result: ResultPass, disposition: PolicyNone, requested: PolicyReject, policyDom: "example.com", dkAl: true},
		{name: "dkim fail does not align", from: []string{"example.com"}, dkim: []DKIM{{Result: "fail", Domain: "example.com"}},
			result: ResultFail, disposition: PolicyReject, requested: PolicyReject, policyDom: "example.com"},
		{name: "second signature aligns", from: []string{"example.com"},
			dkim:   []DKIM{{Result: "pass", Domain: "esp.example"}, {Result: "pass", Domain: "example.com"}},
			result: ResultPass, disposition: PolicyNone, requested: PolicyReject, policyDom: "example.com", dkAl: true},
		{name: "spf relaxed from address", from: []string{"example.com"}, spf: SPF{"pass", "bounce@bounces.example.com"},
			result: ResultPass, disposition: PolicyNone, requested: PolicyReject, policyDom: "example.com", spfAl: true},
		{name: "spf helo domain", from: []string{"example.com"}, spf: SPF{"pass", "mail.example.com"},
			result: ResultPass, disposition: PolicyNone, requested: PolicyReject, policyDom: "example.com", spfAl: true},
		{name: "spf softfail", from: []string{"example.com"}, spf: SPF{"softfail", "example.com"},
			result: ResultFail, disposition: PolicyReject, requested: PolicyReject, policyDom: "example.com"},
		{name: "strict dkim subdomain", from: []string{"strict.example"}, dkim: pass("a.strict.example"), spf: SPF{"pass", "a.strict.example"},
			result: ResultFail, disposition: PolicyQuarantine, requested: PolicyQuarantine, policyDom: "strict.example"},
		{name: "strict exact", from: []string{"STRICT.example"}, spf: SPF{"pass", "strict.example"},
			result: ResultPass, disposition: PolicyNone, requested: PolicyQuarantine, policyDom: "strict.example", spfAl: true},
		{name: "sp for existing subdomain", from: []string{"www.subs.example"},
			result: ResultFail, disposition: PolicyQuarantine, requested: PolicyQuarantine, by: "sp", policyDom: "subs.example"},
		{name: "np for nonexistent subdomain", from: []string{"ghost.subs.example"},
			result: ResultFail, disposition: PolicyReject, requested: PolicyReject, by: "np", policyDom: "subs.example"},
		{name: "np without sp", from: []string{"ghost.npnone.example"},
			result: ResultFail, disposition: PolicyReject, requested: PolicyReject, by: "np", policyDom: "npnone.example"},
		{name: "p for existing subdomain without sp", from: []string{"www.npnone.example"},
			result: ResultFail, disposition: PolicyNone, requested: PolicyNone, by: "p", policyDom: "npnone.example"},
		{name: "p when no sp", from: []string{"x.nosp.example"},
			result: ResultFail, disposition: PolicyQuarantine, requested: PolicyQuarantine, policyDom: "nosp.example"},
		{name: "pct sampled", from: []string{"half.example"}, sample: 49,
			result: ResultFail, disposition: PolicyReject, requested: PolicyReject, policyDom: "half.example"},
		{name: "pct not sampled lowers reject", from: []string{"half.example"}, sample: 50,
			result: ResultFail, disposition: PolicyQuarantine, requested: PolicyReject, policyDom: "half.example"},
		{name: "t=y lowers quarantine", from: []string{"testing.example"},
			result: ResultFail, disposition: PolicyNone, requested: PolicyQuarantine, policyDom: "testing.example"},
		{name: "several records", from: []string{"two.example"}, result: ResultNone, disposition: PolicyNone},
		{name: "several records at org, non-DMARC at from", from: []string{"sub.two.example"}, result: ResultNone, disposition: PolicyNone},
		{name: "non-DMARC records discarded", from: []string{"mixed.example"},
			result: ResultFail, disposition: PolicyQuarantine, requested: PolicyQuarantine, policyDom: "mixed.example"},
		{name: "invalid p", from: []string{"bad.example"}, result: ResultPermError, disposition: PolicyNone, policyDom: "bad.example"},
		{name: "invalid p with rua reads p=none", from: []string{"badrua.example"},
			result: ResultFail, disposition: PolicyNone, requested: PolicyNone, policyDom: "badrua.example"},
		{name: "no record", from: []string{"nothing.example"}, result: ResultNone, disposition: PolicyNone},
		{name: "temperror", from: []string{"tempfail.example"}, result: ResultTempError, disposition: PolicyNone},
		{name: "temperror at from, no fallback", from: []string{"sub.tempfail2.example"}, result: ResultTempError, disposition: PolicyNone},
		{name: "own record wins over org", from: []string{"own.parent.test"},
			result: ResultFail, disposition: PolicyNone, requested: PolicyNone, policyDom: "own.parent.test"},
		{name: "fallback to org", from: []string{"other.parent.test"},
			result: ResultFail, disposition: PolicyReject, requested: PolicyReject, policyDom: "parent.test"},
		{name: "public suffix from", from: []string{"co.uk"}, dkim: pass("example.co.uk"),
			result: ResultFail, disposition: PolicyReject, requested: PolicyReject, policyDom: "co.uk"},
		{name: "under public suffix, no sibling alignment", from: []string{"shop.example.co.uk"}, dkim: pass("other.co.uk"),
			result: ResultNone, disposition: PolicyNone},
		{name: "idn from", from: []string{"bücher.example"}, dkim: pass("xn--bcher-kva.example"),
			result: ResultPass, disposition: PolicyNone, requested: PolicyReject, policyDom: "xn--bcher-kva.example", dkAl: true},
		{name: "invalid from", from: []string{"exa mple.com"}, result: ResultPermError, disposition: PolicyNone},
		{name: "no from", from: nil, result: ResultPermError, disposition: PolicyNone},
		{name: "several from, strictest wins", from: []string{"example.com", "nothing.example", "strict.example"},
			dkim: pass("example.com"), result: ResultFail, disposition: PolicyQuarantine, requested: PolicyQuarantine, policyDom: "strict.example"},
		{name: "several from, all pass", from: []string{"example.com", "mail.example.com"}, dkim: pass("example.com"),
			result: ResultPass, disposition: PolicyNone, requested: PolicyReject, policyDom: "example.com", dkAl: true},
		{name: "several from, fail beats none", from: []string{"nothing.example", "npnone.example"},
			result: ResultFail, disposition: PolicyNone, requested: PolicyNone, policyDom: "npnone.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &Evaluator{Resolver: testZone(), Sample: func() int { return tt.sample }}
			v := ev.Evaluate(t.Context(), Input{FromDomains: tt.from, SPF: tt.spf, DKIM: tt.dkim})
			if v.Result != tt.result || v.Disposition != tt.disposition || v.Requested != tt.requested ||
				v.PolicyDomain != tt.policyDom || v.SPFAligned != tt.spfAl || v.DKIMAligned != tt.dkAl {
				t.Errorf("got result=%s disposition=%s requested=%s policy domain=%q spf aligned=%v dkim aligned=%v (%s)",
					v.Result, v.Disposition, v.Requested, v.PolicyDomain, v.SPFAligned, v.DKIMAligned, v.Reason)
			}
			if v.Reason == "" {
				t.Error("no reason")
			}
			if tt.by != "" && v.RequestedBy != tt.by {
				t.Errorf("requested by %q, want %q", v.RequestedBy, tt.by)
			}
		})
	}
}

func TestSampledReason(t *testing.T) {
	ev := &Evaluator{Resolver: testZone(), Sample: func() int { return 99 }}
	v := ev.Evaluate(t.Context(), Input{FromDomains: []string{"half.example"}})
	if v.Sampled || !strings.Contains(v.Reason, "not sampled (pct=50)") {
		t.Errorf("sampled=%v reason %q", v.Sampled, v.Reason)
	}
}

func TestOrganizationalDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":          "example.com",
		"a.b.example.com":      "example.com",
		"shop.example.co.uk":   "example.co.uk",
		"co.uk":                "co.uk",
		"com":                  "com",
		"sub.parent.example":   "parent.example",
		"example":              "example",
		"foo.bar.blogspot.com": "bar.blogspot.com", // private section of the list
	} {
		if got := OrganizationalDomain(in); got != want {
			t.Errorf("OrganizationalDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAligned(t *testing.T) {
	tests := []struct {
		mode        Alignment
		from, other string
		want        bool
	}{
		{Relaxed, "example.com", "mail.example.com", true},
		{Relaxed, "a.example.com", "b.example.com", true},
		{Strict, "a.example.com", "example.com", false},
		{Strict, "example.com", "EXAMPLE.com", true},
		{Relaxed, "example.com", "example.net", false},
		{Relaxed, "example.co.uk", "other.co.uk", false},
		{Relaxed, "co.uk", "example.co.uk", false},
		{Relaxed, "example.com", "notexample.com", false},
	}
	for _, tt := range tests {
		if got := Aligned(tt.mode, tt.from, tt.other); got != tt.want {
			t.Errorf("Aligned(%s, %q, %q) = %v", tt.mode, tt.from, tt.other, got)
		}
	}
}

// TestLookupDNS runs discovery against a real DNS server on loopback: NODATA
// at the From domain falls back, and SERVFAIL is temperror.
func TestLookupDNS(t *testing.T) {
	srv := dnstest.Start(t, `
_dmarc.example.org. TXT "v=DMARC1; p=quarantine; sp=reject"
www.example.org. A 192.0.2.1
_dmarc.www.example.org. TXT "google-site-verification=x"
$SERVFAIL _dmarc.broken.example.org.
_dmarc.big.example. TXT "v=DMARC1; p=reject; rua=mailto:a@big.example" "`+strings.Repeat("x", 300)+`"
`)
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Lookup(t.Context(), client, "www.example.org")
	if err != nil || f.Domain != "example.org" || f.Record.SubdomainPolicy != PolicyReject {
		t.Errorf("Lookup(www.example.org) = %+v, %v", f, err)
	}
	if _, err := Lookup(t.Context(), client, "broken.example.org"); !errors.Is(err, ErrTemporary) {
		t.Errorf("SERVFAIL: %v, want ErrTemporary", err)
	}
	if _, err := Lookup(t.Context(), client, "nowhere.example"); !errors.Is(err, ErrNoRecord) {
		t.Errorf("NXDOMAIN: %v, want ErrNoRecord", err)
	}
	// Strings of one TXT record are concatenated, over TCP if large.
	f, err = Lookup(t.Context(), client, "big.example")
	if err != nil || len(f.Record.Aggregate) != 1 || f.Record.Aggregate[0].Address != "mailto:a@big.example"+strings.Repeat("x", 300) {
		t.Errorf("Lookup(big.example) = %+v, %v", f.Record, err)
	}
}

func TestVerifyDestination(t *testing.T) {
	srv := dnstest.Start(t, `
example.com._report._dmarc.reports.example. TXT "v=DMARC1"
example.com._report._dmarc.wrong.example. TXT "v=spf1 -all"
other.example._report._dmarc.reports.example. TXT "v=DMARC1;"
$SERVFAIL example.com._report._dmarc.broken.example.
`)
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		policy, uri string
		want        error
	}{
		{"example.com", "mailto:dmarc@example.com", nil},
		{"sub.example.com", "mailto:dmarc@reports.example.com", nil}, // same organizational domain
		{"example.com", "mailto:dmarc@reports.example", nil},
		{"Example.COM", "mailto:dmarc@Reports.Example!10m", nil},
		{"example.com", "mailto:dmarc@nobody.example", ErrDestinationRefused},
		{"example.com", "mailto:dmarc@wrong.example", ErrDestinationRefused},
		{"sub.example.com", "mailto:dmarc@reports.example", ErrDestinationRefused}, // record names example.com only
		{"example.com", "mailto:dmarc@broken.example", ErrTemporary},
		{"example.com", "https://reports.example/x", ErrUnsupportedURI},
	}
	for _, tt := range tests {
		u, err := parseURI(tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		err = VerifyDestination(t.Context(), client, tt.policy, u)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("VerifyDestination(%s, %s) = %v, want %v", tt.policy, tt.uri, err, tt.want)
		}
	}
}

func TestAuthResult(t *testing.T) {
	ev := &Evaluator{Resolver: testZone(), Sample: func() int { return 99 }}
	for _, tt := range []struct {
		from, want string
	}{
		{"half.example", "dmarc=fail (p=reject dis=quarantine) header.from=half.example\r\n\tpolicy.dmarc=quarantine"},
		{"nothing.example", "dmarc=none header.from=nothing.example"},
	} {
		v := ev.Evaluate(t.Context(), Input{FromDomains: []string{tt.from}})
		h, err := authres.Header("mx.example", []authres.Result{v.AuthResult()})
		if err != nil {
			t.Fatal(err)
		}
		if want := "Authentication-Results: mx.example;\r\n\t" + tt.want + "\r\n"; h != want {
			t.Errorf("got %q, want %q", h, want)
		}
	}
}

func TestPolicyComment(t *testing.T) {
	for _, r := range policies {
		for _, d := range policies {
			if got, want := policyComment(r, d), "p="+string(r)+" dis="+string(d); got != want {
				t.Errorf("policyComment(%s, %s) = %q, want %q", r, d, got, want)
			}
		}
	}
	if got := policyComment("odd", PolicyNone); got != "p=odd dis=none" {
		t.Errorf("unknown policy: %q", got)
	}
}

// TestOrganizationalDomainLong: a name too long to be kept is still
// answered.
func TestOrganizationalDomainLong(t *testing.T) {
	long := strings.Repeat("a.", 150) + "example.com"
	if got := OrganizationalDomain(long); got != "example.com" {
		t.Errorf("got %q", got)
	}
	if got := OrganizationalDomain("mail.example.co.uk"); got != "example.co.uk" {
		t.Errorf("got %q", got)
	}
}
