package authres

import (
	"fmt"
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

// FuzzClaiming checks that Fields covers the header block without gaps and
// that after Remove no field claims the id any more.
func FuzzClaiming(f *testing.F) {
	f.Add("Authentication-Results: mx.example; none\r\nSubject: x\r\n\r\nbody")
	f.Add("authentication-results : (c) \"MX.EXAMPLE\" 1;\n spf=pass\nA: b\n")
	f.Add("Authentication-Results: mx.example\r\n\t; dkim=pass\r\nX:\r\n")
	f.Fuzz(func(t *testing.T, header string) {
		fields := Fields([]byte(header))
		pos := 0
		for _, fl := range fields {
			if fl.Start != pos || fl.End <= fl.Start {
				t.Fatalf("field %+v after offset %d", fl, pos)
			}
			pos = fl.End
		}
		rest := Remove([]byte(header), Claiming([]byte(header), "mx.example"))
		if again := Claiming(rest, "mx.example"); len(again) != 0 {
			t.Fatalf("after Remove, still claiming: %+v in %q", again, rest)
		}
	})
}

// FuzzPrintableASCII compares printableASCII, eight bytes at a time, with
// its definition.
func FuzzPrintableASCII(f *testing.F) {
	for _, s := range []string{"", "plain text", "tab\there", "del\x7f", "é", "0123456789abcdef\x1f", " ~~~~~~~~~~~~~~~", "\x20\x7e\x20\x7e\x20\x7e\x20\x7e\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f })
		if got := printableASCII(s); got != want {
			t.Fatalf("printableASCII(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzHeaderReference compares Header with its definition before keywords
// were checked as they are written (referenceHeader): the same field, or
// the same error, for keywords and values from outside.
func FuzzHeaderReference(f *testing.F) {
	f.Add("mx.example", "spf", "pass", "", "smtp", "mailfrom", "joe@example.com", "matched ip4:192.0.2.0/24", "")
	f.Add("mx.example", "DKIM", "Fail", "1", "header", "d", "example.com", "", "p=reject dis=none")
	f.Add("mx example", "dmarc", "pass", "x", "header", "from", "exa mple.com", "", "")
	f.Add("mx.example", "arc", "p_ss", "", "Header", "b", "abc/+=de", "", "")
	f.Add("mx.example", "a-b", "none", "", "", "n", "é.example", "", "")
	f.Fuzz(func(t *testing.T, id, method, value, version, ptype, pname, pvalue, reason, comment string) {
		results := []Result{
			{Method: "spf", Value: "pass", Props: []Prop{{"smtp", "helo", pvalue}}},
			{Method: method, Version: version, Value: value, Reason: reason, Comment: comment,
				Props: []Prop{{"header", "d", pvalue}, {ptype, pname, pvalue}, {"header", "s", reason}}},
			{Method: "dmarc", Value: value, Props: []Prop{{ptype, "from", comment}}},
		}
		for n := 0; n <= len(results); n++ {
			got, gotErr := Header(id, results[:n])
			want, wantErr := referenceHeader(id, results[:n])
			if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("Header(%q, %+v) =\n%q, %v\nwant\n%q, %v", id, results[:n], got, gotErr, want, wantErr)
			}
		}
	})
}
