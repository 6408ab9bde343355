package authres

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name, writing name.got on a difference
// so it is reviewed as a diff; -update rewrites the golden file.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		os.WriteFile(path+".got", []byte(got), 0o644)
		t.Errorf("%s differs from the golden file; see %s.got (diff them, then -update if right)", path, path)
	}
}

// readValues reads testdata/parse.txt: one value per line, lines starting
// with white space continuing the previous one (as folded header lines).
func readValues(t testing.TB) []string {
	f, err := os.Open("testdata/parse.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vals []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case (line[0] == ' ' || line[0] == '\t') && len(vals) > 0:
			vals[len(vals)-1] += "\r\n" + line
		default:
			vals = append(vals, line)
		}
	}
	return vals
}

func TestParseGolden(t *testing.T) {
	var out strings.Builder
	for _, v := range readValues(t) {
		var p Parsed
		var err error
		if arc, ok := strings.CutPrefix(v, "ARC "); ok {
			p, err = ParseARC(arc)
		} else {
			p, err = Parse(v)
		}
		js, _ := json.Marshal(p)
		fmt.Fprintf(&out, "%q\n\t%s\n", v, js)
		if err != nil {
			fmt.Fprintf(&out, "\terror: %v\n", err)
		}
	}
	golden(t, "parse.golden", out.String())
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		id, ver string
		results []Result
		err     bool
	}{
		{in: "example.org 1; none", id: "example.org", ver: "1"},
		{in: "example.com; spf=pass smtp.mailfrom=example.net", id: "example.com",
			results: []Result{{Method: "spf", Value: "pass", Props: []Prop{{"smtp", "mailfrom", "example.net"}}}}},
		{in: "x (c) ; DKIM (m) = PASS reason = \"ok (really)\" header . d = example.com ; spf=none", id: "x",
			results: []Result{
				{Method: "dkim", Value: "pass", Reason: "ok (really)", Props: []Prop{{"header", "d", "example.com"}}},
				{Method: "spf", Value: "none"},
			}},
		{in: `"a b"; spf=fail smtp.mailfrom="john smith"@example.com`, id: "a b",
			results: []Result{{Method: "spf", Value: "fail", Props: []Prop{{"smtp", "mailfrom", "john smith@example.com"}}}}},
		{in: "x; arc/1=pass", id: "x", results: []Result{{Method: "arc", Version: "1", Value: "pass"}}},
		{in: "x; spf", id: "x", err: true},
		{in: "x spf=pass", id: "x", err: true},
		{in: "(c)", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse(tt.in)
			if (err != nil) != tt.err || err != nil && !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if p.AuthservID != tt.id || p.Version != tt.ver || !reflect.DeepEqual(p.Results, tt.results) {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestParseARC(t *testing.T) {
	p, err := ParseARC(" i=3 ; mx.example.org; dkim=pass header.d=example.com")
	if err != nil || p.Instance != 3 || p.AuthservID != "mx.example.org" || len(p.Results) != 1 {
		t.Errorf("ParseARC = %+v, %v", p, err)
	}
	for _, bad := range []string{"mx.example.org; none", "i=0; x; none", "i=51; x; none", "i=1 x; none", "i=01; x; none"} {
		if _, err := ParseARC(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseARC(%q) error %v, want ErrSyntax", bad, err)
		}
	}
}

// sample is a full set of results as Sealpost writes them.
var sample = []Result{
	{Method: "iprev", Value: "pass", Props: []Prop{{"policy", "iprev", "192.0.2.1"}}},
	{Method: "spf", Value: "pass", Props: []Prop{{"smtp", "mailfrom", "bounce@example.com"}}},
	{Method: "spf", Value: "none", Props: []Prop{{"smtp", "helo", "mail.example.com"}}},
	{Method: "dkim", Value: "pass", Props: []Prop{
		{"header", "d", "example.com"}, {"header", "s", "2026a"}, {"header", "a", "ed25519-sha256"}, {"header", "b", "Lq/8w+3a"}}},
	{Method: "dkim", Value: "fail", Reason: "signature did not verify (body hash mismatch)", Props: []Prop{
		{"header", "d", "lists.example.net"}, {"header", "s", "s1"}, {"header", "a", "rsa-sha256"}, {"header", "b", "AbCdEfGh"}}},
	{Method: "dmarc", Value: "pass", Comment: "p=reject dis=none", Props: []Prop{
		{"header", "from", "example.com"}, {"policy", "dmarc", "reject"}}},
	{Method: "arc", Value: "none"},
}

func TestHeaderGolden(t *testing.T) {
	cases := []struct {
		name    string
		id      string
		results []Result
	}{
		{"none", "mx.sealpost.example", nil},
		{"full", "mx.sealpost.example", sample},
		{"hostile", "mx.sealpost.example", []Result{
			{Method: "spf", Value: "fail", Reason: "evil\r\nX-Injected: yes; dkim=pass", Props: []Prop{
				{"smtp", "mailfrom", "a\"b(c)@evil.example\r\nBcc: x@y"}}},
			{Method: "dkim", Value: "pass", Comment: "nested (comment) \\ end", Props: []Prop{
				{"header", "d", "ex;ample.com dmarc=pass"}, {"header", "s", ""}, {"header", "b", "\xff\xfe"}}},
			{Method: "dmarc", Value: "fail", Reason: strings.Repeat("long ", 100), Props: []Prop{
				{"header", "from", "bücher.example"}}},
		}},
	}
	var out strings.Builder
	for _, c := range cases {
		h, err := Header(c.id, c.results)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(&out, "== %s\n%s", c.name, strings.ReplaceAll(h, "\r\n", "\n"))
		checkField(t, h, len(c.results))
	}
	golden(t, "header.golden", out.String())
}

// checkField checks that h is one well-formed, folded field whose value
// parses back to n results under our id.
func checkField(t *testing.T, h string, n int) {
	t.Helper()
	if !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("field does not end in CRLF: %q", h)
	}
	lines := strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n")
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("bare CR or LF in %q", l)
		}
		if i > 0 && !strings.HasPrefix(l, "\t") {
			t.Errorf("line %d is not a continuation: %q", i, l)
		}
	}
	fields := Fields([]byte(h))
	if len(fields) != 1 || fields[0].Name != FieldName {
		t.Fatalf("Fields = %+v", fields)
	}
	p, err := Parse(fields[0].Value)
	if err != nil || p.AuthservID != "mx.sealpost.example" || len(p.Results) != n {
		t.Errorf("parse back = %+v, %v", p, err)
	}
}

// TestHeaderRoundTrip checks that what Header writes, Parse reads back to
// the same results.
func TestHeaderRoundTrip(t *testing.T) {
	h, err := Header("mx.sealpost.example", sample)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(Fields([]byte(h))[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]Result, len(sample))
	for i, r := range sample {
		r.Comment = "" // comments are skipped by Parse
		want[i] = r
	}
	if !reflect.DeepEqual(p.Results, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", p.Results, want)
	}
}

func TestConstructors(t *testing.T) {
	got := []Result{
		SPF("pass", "", "bounce@example.com", "mail.example.com"),
		SPF("none", "", "", "mail.example.com"),
		DKIM("pass", "", "example.com", "2026a", "ed25519-sha256", "Lq/8w+3a\r\n\tXYZ=="),
		DMARC("pass", "p=reject dis=none", "example.com", "none"),
		ARC("pass", "", "192.0.2.1"),
		IPRev("fail", "no PTR", "192.0.2.1"),
	}
	h, err := Header("mx.sealpost.example", got)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "constructors.golden", strings.ReplaceAll(h, "\r\n", "\n"))
	checkField(t, h, len(got))
}

func TestHeaderRefusesBadKeywords(t *testing.T) {
	for _, r := range []Result{
		{Method: "sp f", Value: "pass"},
		{Method: "spf", Value: "pass;dkim=pass"},
		{Method: "spf", Value: ""},
		{Method: "spf", Version: "1a", Value: "pass"},
		{Method: "spf", Value: "pass", Props: []Prop{{"smtp.x", "mailfrom", "a"}}},
	} {
		if _, err := Header("x", []Result{r}); err == nil {
			t.Errorf("Header accepted %+v", r)
		}
	}
	if _, err := Header("", nil); err == nil {
		t.Error("Header accepted an empty authserv-id")
	}
	if _, err := Header("evil\r\nX: y", nil); err != nil {
		t.Errorf("Header refused an id it can quote: %v", err)
	}
}

func TestClaiming(t *testing.T) {
	header := "Received: from x by y; Sun, 22 Nov 2026 10:00:00 +0000\r\n" +
		"Authentication-Results: mx.sealpost.example; spf=pass smtp.mailfrom=a@b\r\n" + // 1: ours
		"authentication-results: MX.SEALPOST.EXAMPLE 1;\r\n\tdkim=pass header.d=forged.example\r\n" + // 2: case, version, folded
		"Authentication-Results: (comment) \"mx.sealpost.example\"; none\r\n" + // 3: quoted, comment
		"Authentication-Results: mx.sealpost.example.; none\r\n" + // 4: trailing dot
		"Authentication-Results: mx.sealpost.example;;; garbage ===\r\n" + // 5: broken after the id
		"Authentication-Results : mx.sealpost.example; none\r\n" + // 6: space before colon
		"Authentication-Results: other.example; spf=pass\r\n" + // 7: not ours
		"Authentication-Results: mx.sealpost.example.evil; none\r\n" + // 8: not ours
		"ARC-Authentication-Results: i=1; mx.sealpost.example; none\r\n" + // 9: sealed, kept
		"X-Authentication-Results: mx.sealpost.example; none\r\n" + // 10: other field
		"Subject: hi\r\n" +
		"\r\n" +
		"Authentication-Results: mx.sealpost.example; in the body\r\n"
	got := Claiming([]byte(header), "mx.sealpost.example")
	var idx []int
	for _, f := range got {
		idx = append(idx, f.Index)
	}
	if want := []int{1, 2, 3, 4, 5, 6}; !reflect.DeepEqual(idx, want) {
		t.Fatalf("Claiming indexes %v, want %v", idx, want)
	}
	rest := string(Remove([]byte(header), got))
	want := "Received: from x by y; Sun, 22 Nov 2026 10:00:00 +0000\r\n" +
		"Authentication-Results: other.example; spf=pass\r\n" +
		"Authentication-Results: mx.sealpost.example.evil; none\r\n" +
		"ARC-Authentication-Results: i=1; mx.sealpost.example; none\r\n" +
		"X-Authentication-Results: mx.sealpost.example; none\r\n" +
		"Subject: hi\r\n" +
		"\r\n" +
		"Authentication-Results: mx.sealpost.example; in the body\r\n"
	if rest != want {
		t.Errorf("Remove left:\n%s", rest)
	}
}

func TestFieldsLF(t *testing.T) {
	fs := Fields([]byte("A: 1\n continued\nB:2\n\nbody"))
	if len(fs) != 2 || fs[0].Value != " 1\n continued\n" || fs[1].Name != "B" || fs[1].End != 20 {
		t.Errorf("Fields = %+v", fs)
	}
}
