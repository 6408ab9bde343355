package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

func verifyIn(t *testing.T, r dnsx.Resolver, ip, mailFrom string) (Received, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return Verify(ctx, r, Args{IP: netip.MustParseAddr(ip), MailFrom: mailFrom, HELO: "mail.example.org", Receiver: "mx.sealpost.example"})
}

// The examples of RFC 7208 section 7.4.
func TestMacroExamples(t *testing.T) {
	tests := []struct{ ip, spec, want string }{
		{"192.0.2.3", "%{s}", "strong-bad@email.example.com"},
		{"192.0.2.3", "%{o}", "email.example.com"},
		{"192.0.2.3", "%{d}", "email.example.com"},
		{"192.0.2.3", "%{d4}", "email.example.com"},
		{"192.0.2.3", "%{d3}", "email.example.com"},
		{"192.0.2.3", "%{d2}", "example.com"},
		{"192.0.2.3", "%{d1}", "com"},
		{"192.0.2.3", "%{dr}", "com.example.email"},
		{"192.0.2.3", "%{d2r}", "example.email"},
		{"192.0.2.3", "%{l}", "strong-bad"},
		{"192.0.2.3", "%{l-}", "strong.bad"},
		{"192.0.2.3", "%{lr}", "strong-bad"},
		{"192.0.2.3", "%{lr-}", "bad.strong"},
		{"192.0.2.3", "%{l1r-}", "strong"},
		{"192.0.2.3", "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"192.0.2.3", "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"192.0.2.3", "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"192.0.2.3", "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"192.0.2.3", "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{"2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}", "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"},
		// Beyond the RFC's examples: escapes, URL encoding, big digits.
		{"192.0.2.3", "%%%_%-", "% %20"},
		{"192.0.2.3", "%{S}", "strong-bad%40email.example.com"},
		{"192.0.2.3", "%{d99999}", "email.example.com"},
		{"192.0.2.3", "%{l+-}", "strong.bad"},
		{"192.0.2.3", "%{p}", "unknown"},
	}
	for _, tt := range tests {
		c := &checker{r: newZone(), args: Args{IP: netip.MustParseAddr(tt.ip)}}
		c.sender, c.local, c.senderDomain = splitSender("strong-bad@email.example.com")
		c.domain = c.senderDomain
		got, err := expandMacros(tt.spec, false, c.macroValue(t.Context()))
		if err != nil || got != tt.want {
			t.Errorf("%s with %s: %q, %v; want %q", tt.spec, tt.ip, got, err, tt.want)
		}
	}
}

func TestMacroSyntaxErrors(t *testing.T) {
	for _, spec := range []string{"%", "%{", "%{x}", "%{d0}", "%{dx}", "%{d!}", "%a", "%{c}", "%{t}", "%{r}", "a b", "caf\xc3\xa9"} {
		if err := checkMacroString(spec, false); err == nil {
			t.Errorf("%q: no error", spec)
		}
	}
	for _, spec := range []string{"%{c} %{r} %{t}", "%{T}", "%{t10r.}", "plain words"} {
		if err := checkMacroString(spec, true); err != nil {
			t.Errorf("explanation %q: %v", spec, err)
		}
	}
}

func TestSplitSender(t *testing.T) {
	tests := []struct{ sender, s, local, domain string }{
		{"user@example.com", "user@example.com", "user", "example.com"},
		{"user@example.com.", "user@example.com", "user", "example.com"},
		{"@example.com", "postmaster@example.com", "postmaster", "example.com"},
		{"example.com", "postmaster@example.com", "postmaster", "example.com"},
		{"a@b@example.com", "a@b@example.com", "a@b", "example.com"},
		{"user@", "user@", "user", ""},
	}
	for _, tt := range tests {
		s, local, domain := splitSender(tt.sender)
		if s != tt.s || local != tt.local || domain != tt.domain {
			t.Errorf("splitSender(%q) = %q, %q, %q; want %q, %q, %q", tt.sender, s, local, domain, tt.s, tt.local, tt.domain)
		}
	}
}

func TestRecordSyntax(t *testing.T) {
	valid := []string{
		"v=spf1",
		"v=spf1 -all",
		"V=SPF1 +A MX/24 ~PTR ?ip4:192.0.2.0/24 ip6:2001:db8::/32 -all",
		"v=spf1 a:example.com/24//64 mx:%{d}//0 exists:%{ir}.%{v}.bl.example",
		"v=spf1 include:_spf.example.com redirect=_spf.example.net exp=exp.%{d}",
		"v=spf1 foo=bar ra=%{d} -all",
		"v=spf1 a:example.com. -all",
		"v=spf1 a:x.1-2",
	}
	for _, r := range valid {
		if _, err := parseRecord(r); err != nil {
			t.Errorf("%q: %v", r, err)
		}
	}
	invalid := []string{
		"v=spf1 -all:foo", "v=spf1 ip4:192.0.2.300", "v=spf1 ip4:192.0.2.1/33", "v=spf1 ip4:192.0.2.01",
		"v=spf1 ip6:2001:db8::/129", "v=spf1 ip4:2001:db8::1", "v=spf1 ip6:192.0.2.1", "v=spf1 a:example.com/024",
		"v=spf1 include", "v=spf1 include:", "v=spf1 exists", "v=spf1 a:example", "v=spf1 a:example.123",
		"v=spf1 mx:foo.com:8080", "v=spf1 bogus", "v=spf1 =all", "v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example", "v=spf1 a:\x80.example", "v=spf1 a\r\n", "v=spf1 foo=%{x}",
		"v=spf1 ptr/24", "v=spf1 ip4:192.0.2.1//64", "v=spf1 redirect=", "v=spf10",
	}
	for _, r := range invalid {
		if _, err := parseRecord(r); err == nil {
			t.Errorf("%q: no error", r)
		}
	}
}

// hostileZone builds a zone whose every name n0..n(count-1) includes the
// next one.
func chainZone(count int, loop bool) *zone {
	z := newZone()
	for i := range count {
		next := i + 1
		if loop && next == count {
			next = 0
		}
		z.add(fmt.Sprintf("n%d.example", i), "TXT", fmt.Sprintf("v=spf1 include:n%d.example -all", next))
	}
	return z
}

func TestHostileDNS(t *testing.T) {
	t.Run("thousands of includes", func(t *testing.T) {
		z := chainZone(5000, false)
		rcv, err := verifyIn(t, z, "192.0.2.1", "a@n0.example")
		if rcv.Result != Permerror || !errors.Is(err, ErrPermanent) {
			t.Fatalf("%s, %v", rcv.Result, err)
		}
		if q := z.queries.Load(); q > MaxDNSTerms+1 {
			t.Errorf("%d queries", q)
		}
	})
	t.Run("include loop", func(t *testing.T) {
		rcv, _ := verifyIn(t, chainZone(2, true), "192.0.2.1", "a@n0.example")
		if rcv.Result != Permerror || !strings.Contains(rcv.Problem, "DNS-querying terms") {
			t.Fatalf("%s %s", rcv.Result, rcv.Problem)
		}
	})
	t.Run("void lookups", func(t *testing.T) {
		z := newZone()
		z.add("v.example", "TXT", "v=spf1 a:no1.v.example a:no2.v.example a:no3.v.example +all")
		rcv, _ := verifyIn(t, z, "192.0.2.1", "a@v.example")
		if rcv.Result != Permerror || !strings.Contains(rcv.Problem, "void") {
			t.Fatalf("%s %s", rcv.Result, rcv.Problem)
		}
	})
	t.Run("too many MX", func(t *testing.T) {
		z := newZone()
		z.add("m.example", "TXT", "v=spf1 mx -all")
		for i := range 11 {
			z.add("m.example", "MX", fmt.Sprintf("%d mx%d.m.example", i, i))
		}
		rcv, _ := verifyIn(t, z, "192.0.2.1", "a@m.example")
		if rcv.Result != Permerror {
			t.Fatalf("%s %s", rcv.Result, rcv.Problem)
		}
	})
	t.Run("PTR names beyond 10 ignored", func(t *testing.T) {
		z := newZone()
		z.add("p.example", "TXT", "v=spf1 ptr -all")
		for i := range 30 {
			z.add("1.2.0.192.in-addr.arpa", "PTR", fmt.Sprintf("h%d.p.example", i))
			z.add(fmt.Sprintf("h%d.p.example", i), "A", "192.0.2.1")
		}
		rcv, _ := verifyIn(t, z, "192.0.2.1", "a@p.example")
		if rcv.Result != Pass {
			t.Fatalf("%s %s", rcv.Result, rcv.Problem)
		}
		// TXT, PTR, and the first name's A and AAAA: a match needs no more,
		// and never more than 10 names are looked up.
		if q := z.queries.Load(); q > 2+2*MaxNames {
			t.Errorf("%d queries", q)
		}
	})
	t.Run("oversize TXT", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("v=spf1")
		for i := range 4000 {
			fmt.Fprintf(&b, " ip4:10.%d.%d.0/24", i/250, i%250)
		}
		b.WriteString(" ip4:192.0.2.1 -all")
		z := newZone()
		z.add("big.example", "TXT", b.String())
		rcv, _ := verifyIn(t, z, "192.0.2.1", "a@big.example")
		if rcv.Result != Pass || rcv.Mechanism != "ip4:192.0.2.1" {
			t.Fatalf("%s %s %s", rcv.Result, rcv.Mechanism, rcv.Problem)
		}
	})
	t.Run("many DNS terms", func(t *testing.T) {
		z := newZone()
		z.add("many.example", "TXT", "v=spf1"+strings.Repeat(" a:x.many.example", 3000)+" -all")
		z.add("x.many.example", "A", "192.0.2.9")
		rcv, _ := verifyIn(t, z, "192.0.2.1", "a@many.example")
		if rcv.Result != Permerror || z.queries.Load() > 2*MaxDNSTerms+1 {
			t.Fatalf("%s %s after %d queries", rcv.Result, rcv.Problem, z.queries.Load())
		}
	})
	t.Run("huge macro expansion", func(t *testing.T) {
		z := newZone()
		z.add("x.example", "TXT", "v=spf1 a:"+strings.Repeat("%{s}", 5000)+".x.example -all")
		rcv, _ := verifyIn(t, z, "192.0.2.1", strings.Repeat("l", 64)+"@x.example")
		if rcv.Result != Permerror || !strings.Contains(rcv.Problem, "longer than") {
			t.Fatalf("%s %s", rcv.Result, rcv.Problem)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		z := newZone()
		z.add("t.example", "TXT", "v=spf1 include:slow.example -all")
		z.add("slow.example", "TIMEOUT", "")
		rcv, err := verifyIn(t, z, "192.0.2.1", "a@t.example")
		if rcv.Result != Temperror || !errors.Is(err, dnsx.ErrTemporary) {
			t.Fatalf("%s, %v", rcv.Result, err)
		}
	})
	t.Run("budget", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		rcv, err := Verify(ctx, hangingResolver{newZone()}, Args{IP: netip.MustParseAddr("192.0.2.1"), MailFrom: "a@hang.example"})
		if rcv.Result != Temperror || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s, %v", rcv.Result, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
}

// hangingResolver answers nothing until the context ends.
type hangingResolver struct{ *zone }

func (hangingResolver) LookupTXT(ctx context.Context, name string) ([]string, dnsx.Result, error) {
	<-ctx.Done()
	return nil, dnsx.Result{}, fmt.Errorf("%w: %w", dnsx.ErrTemporary, ctx.Err())
}

func TestInvalidArgs(t *testing.T) {
	if _, err := Verify(t.Context(), newZone(), Args{MailFrom: "a@example.com"}); err == nil {
		t.Error("no error without IP")
	}
	rcv, err := Verify(t.Context(), newZone(), Args{IP: netip.MustParseAddr("::ffff:192.0.2.1"), HELO: "[192.0.2.1]"})
	if err != nil || rcv.Result != None || !rcv.ClientIP.Is4() || rcv.Sender != "postmaster@[192.0.2.1]" {
		t.Errorf("%+v, %v", rcv, err)
	}
}

func TestHELO(t *testing.T) {
	z := newZone()
	z.add("mail.example.org", "TXT", "v=spf1 a -all")
	z.add("mail.example.org", "A", "192.0.2.7")
	args := Args{IP: netip.MustParseAddr("192.0.2.7"), MailFrom: "x@elsewhere.example", HELO: "mail.example.org"}
	rcv, err := VerifyHELO(t.Context(), z, args)
	if err != nil || rcv.Result != Pass || rcv.Identity != IdentityHELO || rcv.Domain != "mail.example.org" {
		t.Fatalf("%+v, %v", rcv, err)
	}
	if got, want := rcv.AuthResult(), "spf=pass smtp.helo=mail.example.org"; got != want {
		t.Errorf("AuthResult %q, want %q", got, want)
	}
}

// The Received-SPF header and Authentication-Results text of each result
// are kept in testdata/received-spf.golden.
func TestHeaders(t *testing.T) {
	z := newZone()
	z.add("example.com", "TXT", `v=spf1 ip4:192.0.2.1 ~ip4:192.0.2.2 ?ip4:192.0.2.3 -ip4:192.0.2.4 include:tmp.example.com -all exp=why.example.com`)
	z.add("why.example.com", "TXT", "%{c} may not send for %{d} (see %{r})")
	z.add("tmp.example.com", "TIMEOUT", "")
	z.add("bad.example", "TXT", "v=spf1 ip4:192.0.2.300")
	var out strings.Builder
	for _, c := range []struct{ ip, from string }{
		{"192.0.2.1", "user@example.com"}, {"192.0.2.2", "user@example.com"},
		{"192.0.2.3", "user@example.com"}, {"192.0.2.4", "user@example.com"},
		{"192.0.2.5", `"odd\"user"@example.com`},
		{"2001:db8::1", "user@bad.example"}, {"192.0.2.1", "user@none.example"},
	} {
		rcv, _ := verifyIn(t, z, c.ip, c.from)
		fmt.Fprintf(&out, "%s%s\n%s\n\n", rcv.Header(), rcv.AuthResult(), rcv.Explanation)
	}
	golden := filepath.Join("testdata", "received-spf.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// halfFailing fails the AAAA half of every address lookup, as dnsx
// reports it: the A addresses with an error wrapping ErrTemporary.
type halfFailing struct{ *zone }

func (h halfFailing) LookupIP(ctx context.Context, name string) ([]netip.Addr, dnsx.Result, error) {
	addrs, _, _ := h.zone.LookupIP(ctx, name)
	var v4 []netip.Addr
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, a)
		}
	}
	return v4, dnsx.Result{}, fmt.Errorf("%w: AAAA timed out", dnsx.ErrTemporary)
}

func TestHalfFailedAddressLookup(t *testing.T) {
	z := newZone()
	z.add("a.example", "TXT", "v=spf1 a:h.example -all")
	z.add("e.example", "TXT", "v=spf1 exists:e.h.example -all")
	z.add("e.h.example", "A", "127.0.0.2")
	z.add("h.example", "A", "192.0.2.1")
	for _, tt := range []struct {
		ip, from string
		want     Status
	}{
		{"192.0.2.1", "x@a.example", Pass},
		{"192.0.2.2", "x@a.example", Fail},
		{"2001:db8::1", "x@e.example", Pass},
		// No IPv6 address was had: the failed half may have held it.
		{"2001:db8::1", "x@a.example", Temperror},
	} {
		rcv, _ := verifyIn(t, halfFailing{z}, tt.ip, tt.from)
		if rcv.Result != tt.want {
			t.Errorf("%s from %s: %s %s, want %s", tt.from, tt.ip, rcv.Result, rcv.Problem, tt.want)
		}
	}
}
