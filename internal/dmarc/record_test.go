package dmarc

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares got with testdata/name. On a difference it writes
// testdata/name.got, so the change is reviewed as a diff; -update rewrites
// the golden file instead.
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

// TestParseGolden parses every record of testdata/records.txt and compares
// the whole outcome with testdata/records.golden.
func TestParseGolden(t *testing.T) {
	f, err := os.Open("testdata/records.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fmt.Fprintf(&out, "%s\n", line)
		r, err := Parse(line)
		if err != nil {
			fmt.Fprintf(&out, "\terror: %v\n", err)
			continue
		}
		js, _ := json.Marshal(r)
		fmt.Fprintf(&out, "\t%s\n\t%s\n", r, js)
	}
	golden(t, "records.golden", out.String())
}

func TestParse(t *testing.T) {
	tests := []struct {
		txt     string
		err     error
		policy  Policy
		sub     Policy
		np      Policy
		pct     int
		dkim    Alignment
		rua     []URI
		invalid bool
	}{
		{txt: "v=DMARC1; p=reject", policy: PolicyReject, pct: 100, dkim: Relaxed},
		{txt: "V=DMARC1;P=Quarantine;SP=NONE", policy: PolicyQuarantine, sub: PolicyNone, pct: 100, dkim: Relaxed},
		{txt: "v=DMARC1; p=none; np=reject; pct=0; adkim=S", policy: PolicyNone, np: PolicyReject, pct: 0, dkim: Strict},
		{txt: "v=DMARC1; p=reject; pct=101; adkim=x", policy: PolicyReject, pct: 100, dkim: Relaxed},
		{txt: "v=dmarc1; p=reject", err: ErrNotDMARC},
		{txt: "p=reject; v=DMARC1", err: ErrNotDMARC},
		{txt: "", err: ErrNotDMARC},
		{txt: "v=DMARC1", err: ErrNoPolicy},
		{txt: "v=DMARC1; p=bogus", err: ErrNoPolicy},
		{txt: "v=DMARC1; p=reject; sp=bogus", err: ErrNoPolicy},
		{txt: "v=DMARC1; p=bogus; rua=bogus", err: ErrNoPolicy},
		{txt: "v=DMARC1; rua=mailto:d@example.com!2k", policy: PolicyNone, pct: 100, dkim: Relaxed,
			rua: []URI{{"mailto:d@example.com", 2048}}, invalid: true},
		{txt: "v=DMARC1; p=reject; sp=x; rua=mailto:d@example.com", policy: PolicyNone, pct: 100, dkim: Relaxed,
			rua: []URI{{"mailto:d@example.com", 0}}, invalid: true},
		{txt: "v=DMARC1; p=reject; rua=mailto:a@x.example!1t, mailto:b@y.example!3", policy: PolicyReject, pct: 100, dkim: Relaxed,
			rua: []URI{{"mailto:a@x.example", 1 << 40}, {"mailto:b@y.example", 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.txt, func(t *testing.T) {
			r, err := Parse(tt.txt)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Parse error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Policy != tt.policy || r.SubdomainPolicy != tt.sub || r.NonexistentPolicy != tt.np ||
				r.Percent != tt.pct || r.DKIM != tt.dkim || r.PolicyInvalid != tt.invalid {
				t.Errorf("got %+v", r)
			}
			if fmt.Sprint(r.Aggregate) != fmt.Sprint(tt.rua) {
				t.Errorf("rua %v, want %v", r.Aggregate, tt.rua)
			}
		})
	}
}

// TestStringRoundTrip checks that a formatted record parses back the same.
func TestStringRoundTrip(t *testing.T) {
	for _, txt := range []string{
		"v=DMARC1; p=reject",
		"v=DMARC1; p=quarantine; sp=none; np=reject; pct=20; t=y; adkim=s; aspf=s; rua=mailto:a@example.com!10,mailto:b@example.net; ruf=mailto:c@example.org; fo=1:d; ri=3600",
	} {
		r, err := Parse(txt)
		if err != nil {
			t.Fatal(err)
		}
		if r.String() != txt {
			t.Errorf("String() = %q, want %q", r.String(), txt)
		}
	}
}

func TestURIMailboxDomain(t *testing.T) {
	for in, want := range map[string]string{
		"mailto:a@Example.COM":           "example.com",
		"mailto:a@example.com?subject=x": "example.com",
		"mailto:a%40b@example.net":       "example.net",
		"https://example.com/r":          "",
		"mailto:nodomain":                "",
		"mailto:a@":                      "",
	} {
		if got := (URI{Address: in}).MailboxDomain(); got != want {
			t.Errorf("MailboxDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIsDMARCRecord: the test discovery uses agrees with splitTags, which
// Parse uses.
func TestIsDMARCRecord(t *testing.T) {
	for _, tt := range []struct {
		txt  string
		want bool
	}{
		{"v=DMARC1; p=reject", true},
		{"v=DMARC1", true},
		{" ; ;V = DMARC1 ;p=none", true},
		{"\tv=DMARC1\r\n", true},
		{"v=DMARC1; garbage", true},
		{"v=dmarc1; p=reject", false},
		{"v=DMARC10; p=reject", false},
		{"p=reject; v=DMARC1", false},
		{"v DMARC1; p=reject", false},
		{"garbage; v=DMARC1", false},
		{"v=spf1 -all", false},
		{"", false},
		{" ; ", false},
	} {
		_, err := splitTags(tt.txt)
		if got := isDMARCRecord(tt.txt); got != tt.want || got != (err == nil) {
			t.Errorf("isDMARCRecord(%q) = %v, want %v (splitTags: %v)", tt.txt, got, tt.want, err)
		}
	}
}
