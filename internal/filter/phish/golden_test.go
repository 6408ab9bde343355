package phish

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestReasonsGolden runs the checks listed in testdata/reasons.txt and
// compares their findings with testdata/reasons.golden. On a difference
// it writes testdata/reasons.got, to be reviewed and copied over.
func TestReasonsGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/reasons.txt")
	if err != nil {
		t.Fatal(err)
	}
	k := known.Prepare()
	var out strings.Builder
	for line := range strings.Lines(string(in)) {
		line = strings.TrimRight(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		var fs []Finding
		switch {
		case f[0] == "domain" && len(f) == 2:
			fs = LookalikeDomain(f[1], k)
		case f[0] == "name" && len(f) == 3:
			fs = DisplayName(Person{f[1], f[2]}, k)
		case f[0] == "link" && len(f) == 3:
			u, _ := url.Parse(f[2])
			host := ""
			if u != nil {
				host = u.Hostname()
			}
			fs = Links([]Link{{Text: f[1], Href: f[2], Host: host, HTML: true}}, k)
		case f[0] == "form" && len(f) == 2:
			fs = Links([]Link{{Href: f[1], Host: strings.TrimPrefix(strings.Split(f[1], "/")[2], ""), HTML: true, Form: true}}, k)
		case f[0] == "wording" && len(f) == 3:
			fs = Wording(f[1], f[2])
		case f[0] == "dmarc" && len(f) == 4:
			fs = DMARCReject(f[1], f[2], f[3])
		default:
			t.Fatalf("bad line %q", line)
		}
		fmt.Fprintf(&out, "%s\n", line)
		if len(fs) == 0 {
			t.Errorf("%q: no finding", line)
		}
		for _, x := range fs {
			fmt.Fprintf(&out, "\t%s %.1f: %s\n", x.Name, x.Score, x.Reason)
		}
	}
	want, _ := os.ReadFile("testdata/reasons.golden")
	if out.String() != string(want) {
		if err := os.WriteFile("testdata/reasons.got", []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Errorf("findings differ from testdata/reasons.golden: see testdata/reasons.got")
	}
}
