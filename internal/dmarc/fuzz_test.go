package dmarc

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that any record it accepts
// formats to a record that parses back to the same form.
func FuzzParse(f *testing.F) {
	if fh, err := os.Open("testdata/records.txt"); err == nil {
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
				f.Add(line)
			}
		}
		fh.Close()
	}
	f.Fuzz(func(t *testing.T, txt string) {
		if _, err := splitTags(txt); (err == nil) != isDMARCRecord(txt) {
			t.Fatalf("%q: splitTags says %v, isDMARCRecord %v", txt, err, isDMARCRecord(txt))
		}
		r, err := Parse(txt)
		if err != nil {
			return
		}
		if r.Policy == "" || r.Percent < 0 || r.Percent > 100 {
			t.Fatalf("accepted %q as %+v", txt, r)
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %v, from %q", r.String(), err, txt)
		}
		if again.String() != r.String() {
			t.Fatalf("round trip %q -> %q", r.String(), again.String())
		}
	})
}

// FuzzEvaluate checks that no From, SPF or DKIM domain, however malformed,
// makes Evaluate panic or return a verdict outside the RFC's words.
func FuzzEvaluate(f *testing.F) {
	f.Add("example.com", "bounce@example.com", "mail.example.com")
	f.Add("co.uk", "", "..")
	f.Add("bücher.example", "@", "xn--")
	f.Add("a..b", "x@y@z", strings.Repeat("a.", 200))
	ev := &Evaluator{Resolver: testZone(), Sample: func() int { return 50 }}
	f.Fuzz(func(t *testing.T, from, spfDomain, dkimDomain string) {
		v := ev.Evaluate(t.Context(), Input{
			FromDomains: []string{from, dkimDomain},
			SPF:         SPF{Result: "pass", Domain: spfDomain},
			DKIM:        []DKIM{{Result: "pass", Domain: dkimDomain}},
		})
		switch v.Result {
		case ResultPass, ResultFail, ResultNone, ResultTempError, ResultPermError:
		default:
			t.Fatalf("result %q", v.Result)
		}
		if v.Disposition == "" || v.Reason == "" {
			t.Fatalf("verdict %+v", v)
		}
	})
}

// FuzzNormalizeDomain checks that a domain normalized takes for done
// already is one that normalizing leaves as it is.
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.com", "Example.COM", "a.b.", " a.b", "a..b", "_dmarc.x-y.z", "a", "", ".", "xn--bcher-kva.example",
		"bücher.example", "a-.b", "a/b", strings.Repeat("a", 63) + ".b", strings.Repeat("a", 64) + ".b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, domain string) {
		want, err := normalizeDomain(domain)
		if normalized(domain) && (err != nil || want != domain) {
			t.Fatalf("normalized(%q), but normalizeDomain gives %q, %v", domain, want, err)
		}
		if got, gotErr := NormalizeDomain(domain); got != want || (gotErr == nil) != (err == nil) {
			t.Fatalf("NormalizeDomain(%q) = %q, %v; want %q, %v", domain, got, gotErr, want, err)
		}
	})
}
