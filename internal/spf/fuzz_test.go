package spf

import (
	"net/netip"
	"strings"
	"testing"
)

var fuzzRecords = []string{
	"v=spf1 -all",
	"v=spf1 +a mx/24 ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 -all",
	"v=spf1 a:%{d}/24//64 exists:%{ir}.%{v}.%{l1r-}.bl.example include:_spf.%{d2} redirect=%{o} exp=exp.%{d}",
	"v=spf1 foo=%{S}%%%_%- a:macro%%percent.example.com",
	"v=spf1 ip4:192.0.2.300 a:example",
}

func FuzzParseRecord(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := parseRecord(txt)
		if err != nil {
			return
		}
		if !isSPFRecord(txt) {
			t.Fatalf("%q parsed but is not an SPF record", txt)
		}
		for _, d := range rec.directives {
			if d.domain != "" {
				if err := checkDomainSpec(d.domain); err != nil {
					t.Fatalf("%q: accepted domain-spec %q: %v", txt, d.domain, err)
				}
			}
		}
	})
}

func FuzzExpandMacros(f *testing.F) {
	for _, s := range []string{"%{ir}.%{v}._spf.%{d2}", "%{l1r-}", "%{S}%%%_%-", "%{d99999r+-,/_=}", "%{c} %{r} %{t}", "%{p}"} {
		f.Add(s, true)
	}
	for _, s := range []string{"_spf.example.com", "a b", "caf\xc3\xa9.example", "tab\there"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, spec string, explain bool) {
		c := &checker{r: newZone(), args: Args{IP: netip.MustParseAddr("2001:db8::1"), HELO: "helo.example", Receiver: "r.example"}}
		c.sender, c.local, c.senderDomain = splitSender("a-b.c@sub.example.com")
		c.domain = c.senderDomain
		checkErr := checkMacroString(spec, explain)
		out, err := expandMacros(spec, explain, c.macroValue(t.Context()))
		if err != nil && checkErr == nil && strings.Contains(err.Error(), "longer than") {
			return
		}
		if (checkErr == nil) != (err == nil) {
			t.Fatalf("%q: check says %v, expansion %v", spec, checkErr, err)
		}
		// A spec without macros takes a shortcut; "%%" in front forces
		// the general path, which must agree with it.
		if out2, err2 := expandMacros("%%"+spec, explain, c.macroValue(t.Context())); (err == nil) != (err2 == nil) || err == nil && out2 != "%"+out {
			t.Fatalf("%q expands to %q, %v but with %%%% in front to %q, %v", spec, out, err, out2, err2)
		}
		if err == nil && len(out) > maxExpansion+1024 {
			t.Fatalf("%q expanded to %d bytes", spec, len(out))
		}
		if err == nil && !explain {
			name, err := c.expandDomain(t.Context(), spec)
			if err != nil || (len(name) > 253 && strings.Contains(name, ".")) {
				t.Fatalf("%q: %q, %v", spec, name, err)
			}
		}
	})
}

// FuzzVerify evaluates a fuzzed record in a small world: never a panic,
// and always one of the seven results.
func FuzzVerify(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add(r, "192.0.2.1")
	}
	f.Fuzz(func(t *testing.T, txt, ip string) {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		z := newZone()
		z.add("example.com", "TXT", txt)
		z.add("example.com", "A", "192.0.2.1")
		z.add("example.com", "MX", "10 mx.example.com")
		z.add("mx.example.com", "AAAA", "2001:db8::1")
		z.add("_spf.example.com", "TXT", "v=spf1 include:example.com")
		rcv, _ := Verify(t.Context(), z, Args{IP: addr, MailFrom: "u@example.com", HELO: "h.example"})
		switch rcv.Result {
		case None, Neutral, Pass, Fail, Softfail, Temperror, Permerror:
		default:
			t.Fatalf("result %q", rcv.Result)
		}
		if z.queries.Load() > 3*MaxDNSTerms+10 {
			t.Fatalf("%d queries", z.queries.Load())
		}
	})
}

// refValidDomain is validDomain as first written: split into labels.
func refValidDomain(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if len(name) > 253 || !strings.Contains(name, ".") {
		return false
	}
	for l := range strings.SplitSeq(name, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c >= 0x7f || c == '[' || c == ']' {
			return false
		}
	}
	return true
}

// FuzzValidDomain compares validDomain, one pass over the bytes, with
// refValidDomain.
func FuzzValidDomain(f *testing.F) {
	for _, s := range []string{"example.com", "example.com.", "a..b", ".a", "a.", "a..", "com", "", "[x].y",
		strings.Repeat("a", 63) + ".b", strings.Repeat("a", 64) + ".b", strings.Repeat("a.", 127) + "bc", "a b.c", "a\x7f.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := validDomain(name), refValidDomain(name); got != want {
			t.Fatalf("validDomain(%q) = %v, want %v", name, got, want)
		}
	})
}
