package authres

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse, ParseARC and ClaimsID never panic, that an
// authserv-id Parse reads is one ClaimsID recognizes, and that what Parse
// reads, Header writes back into a value that parses to the same results.
func FuzzParse(f *testing.F) {
	for _, v := range readValues(f) {
		f.Add(strings.TrimPrefix(v, "ARC "))
	}
	f.Fuzz(func(t *testing.T, v string) {
		ParseARC(v)
		p, err := Parse(v)
		if p.AuthservID != "" && !ClaimsID(v, p.AuthservID) {
			t.Fatalf("ClaimsID(%q, %q) = false", v, p.AuthservID)
		}
		if err != nil || p.AuthservID == "" {
			return
		}
		h, err := Header(p.AuthservID, p.Results)
		if err != nil {
			return // a keyword Header refuses, such as "_" in a method
		}
		again, err := Parse(Fields([]byte(h))[0].Value)
		if err != nil {
			t.Fatalf("Parse(Header(%q)) = %v\n%s", v, err, h)
		}
		if len(again.Results) != len(p.Results) {
			t.Fatalf("results %d, after Header %d\n%s", len(p.Results), len(again.Results), h)
		}
	})
}

// FuzzHeader checks that no outside text given to Header can break the
// field: it stays one field, folded with CRLF TAB only, and parses back to
// the results it was given.
func FuzzHeader(f *testing.F) {
	f.Add("example.com", "user@example.com", "good signature", "p=reject")
	f.Add("a\r\nX: y", "\"q\"@x", "bad; dkim=pass", "(x")
	f.Fuzz(func(t *testing.T, domain, addr, reason, comment string) {
		results := []Result{
			{Method: "spf", Value: "pass", Reason: reason, Props: []Prop{{"smtp", "mailfrom", addr}}},
			{Method: "dkim", Value: "fail", Comment: comment, Props: []Prop{{"header", "d", domain}, {"header", "b", reason}}},
			{Method: "dmarc", Value: "pass", Props: []Prop{{"header", "from", domain}}},
		}
		h, err := Header("mx.sealpost.example", results)
		if err != nil {
			t.Fatal(err)
		}
		checkField(t, h, len(results))
	})
}
