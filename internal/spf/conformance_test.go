package spf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The openspf.org test suites, as kept in pyspf (see SOURCE.txt beside
// them), read in place.
const conformanceDir = "../../../shared/conformance/spf"

type suiteScenario struct {
	Description string               `yaml:"description"`
	Tests       map[string]suiteTest `yaml:"tests"`
	Zonedata    map[string][]any     `yaml:"zonedata"`
}

type suiteTest struct {
	Helo        string `yaml:"helo"`
	Host        string `yaml:"host"`
	MailFrom    string `yaml:"mailfrom"`
	Result      any    `yaml:"result"`
	Explanation string `yaml:"explanation"`
	Spec        any    `yaml:"spec"`
}

// suiteCase is one test with the zone of its scenario.
type suiteCase struct {
	file, scenario, name string
	test                 suiteTest
	zonedata             map[string][]any
}

func (c suiteCase) id() string { return c.file + "/" + c.name }

func (c suiteCase) results() []Status {
	switch r := c.test.Result.(type) {
	case string:
		return []Status{Status(r)}
	case []any:
		var out []Status
		for _, v := range r {
			out = append(out, Status(fmt.Sprint(v)))
		}
		return out
	}
	return nil
}

func readSuite(t testing.TB, file string) []suiteCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(conformanceDir, file))
	if errors.Is(err, os.ErrNotExist) && os.Getenv("CI") == "" {
		t.Skipf("conformance data missing: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var cases []suiteCase
	for {
		var sc suiteScenario
		err := dec.Decode(&sc)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		names := make([]string, 0, len(sc.Tests))
		for name := range sc.Tests {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			cases = append(cases, suiteCase{file, sc.Description, name, sc.Tests[name], sc.Zonedata})
		}
	}
	return cases
}

// zoneFrom builds the resolver of a scenario as pyspf's test driver does:
// records of type SPF (99) are served as TXT unless the name has a TXT
// entry; a TXT of NONE means "no TXT record".
func zoneFrom(t testing.TB, zonedata map[string][]any) *zone {
	z := newZone()
	for name, entries := range zonedata {
		var spf []string
		hasTXT := false
		for _, e := range entries {
			m, ok := e.(map[string]any)
			if !ok {
				if e != "TIMEOUT" {
					t.Fatalf("zone %s: unknown entry %v", name, e)
				}
				z.add(name, "TIMEOUT", "")
				continue
			}
			for typ, v := range m {
				switch typ {
				case "SPF":
					spf = append(spf, txtValue(v))
					continue
				case "TXT":
					hasTXT = true
					if v == "NONE" {
						continue
					}
					v = txtValue(v)
				case "MX":
					l, ok := v.([]any)
					if !ok || len(l) != 2 {
						t.Fatalf("zone %s: bad MX %v", name, v)
					}
					v = fmt.Sprintf("%v %v", l[0], l[1])
				}
				z.add(name, typ, fmt.Sprint(v))
			}
		}
		if !hasTXT {
			for _, v := range spf {
				z.add(name, "TXT", v)
			}
		}
	}
	return z
}

// txtValue joins the strings of a TXT record given as a list.
func txtValue(v any) string {
	if l, ok := v.([]any); ok {
		var b strings.Builder
		for _, s := range l {
			b.WriteString(fmt.Sprint(s))
		}
		return b.String()
	}
	return fmt.Sprint(v)
}

// runCase checks one suite case with our implementation.
func runCase(t testing.TB, c suiteCase, r *zone) Received {
	ip, err := netip.ParseAddr(c.test.Host)
	if err != nil {
		t.Fatalf("%s: bad host %q", c.id(), c.test.Host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rcv, _ := Verify(ctx, r, Args{IP: ip, MailFrom: c.test.MailFrom, HELO: c.test.Helo, Receiver: "receiver.example"})
	return rcv
}

// multipleResults lists the cases where the suite allows more than one
// result: the suite's reason, and what Sealpost returns (pyspf returns the
// same, see TestPyspfDifferential).
var multipleResults = map[string]string{
	"rfc7208-tests.yml/multispf1":                     "identical records may be merged by caches; permerror (two records)",
	"rfc7208-tests.yml/invalid-domain-empty-label":    "an empty label cannot be queried, the RFC is unclear; fail (treated as a void lookup of a non-existent name)",
	"rfc7208-tests.yml/invalid-domain-long":           "a label over 63 octets cannot be queried; fail (non-existent name)",
	"rfc7208-tests.yml/invalid-domain-long-via-macro": "a label over 63 octets from a macro; fail (non-existent name)",
	"rfc7208-tests.yml/p-macro-multiple":              "%{p} may pick any validated name; pass (a name under <domain> is preferred, as the RFC says SHOULD)",
	"rfc7208-tests.yml/ptr-limit":                     "which 10 PTR names are checked is not specified; neutral (the first 10)",
	"rfc4408-tests.yml/nospftxttimeout":               "RFC 4408 SPF-type lookups; temperror (only TXT is asked, RFC 7208 section 3.1)",
	"rfc4408-tests.yml/spfonly":                       "RFC 4408 SPF-type records; none (type SPF is never asked, RFC 7208 section 3.1)",
	"rfc4408-tests.yml/spftimeout":                    "RFC 4408 SPF-type lookups; fail (the TXT record)",
	"rfc4408-tests.yml/txtonly":                       "RFC 4408 SPF-type lookups; fail (the TXT record)",
	"rfc4408-tests.yml/txttimeout":                    "RFC 4408 SPF-type lookups; temperror (TXT timed out)",
	"rfc4408-tests.yml/multispf1":                     "identical records may be merged by caches; permerror",
	"rfc4408-tests.yml/multispf2":                     "RFC 4408 SPF-type records; pass (the one TXT record)",
	"rfc4408-tests.yml/multitxt1":                     "RFC 4408 SPF-type records; permerror (two TXT records)",
	"rfc4408-tests.yml/spfoverride":                   "RFC 4408 SPF-type records; fail (the TXT record)",
	"rfc4408-tests.yml/invalid-domain-empty-label":    "as in RFC 7208; fail",
	"rfc4408-tests.yml/invalid-domain-long":           "as in RFC 7208; fail",
	"rfc4408-tests.yml/invalid-domain-long-via-macro": "as in RFC 7208; fail",
	"rfc4408-tests.yml/exists-dnserr":                 "RFC 4408 left DNS errors in exists open; temperror (RFC 7208 section 5)",
	"rfc4408-tests.yml/cidr6-0-ip4":                   "RFC 4408 was unclear on ip6 prefixes for IPv4 clients; neutral (RFC 7208: an IPv4 client only matches IPv4 data)",
	"rfc4408-tests.yml/cidr6-ip4":                     "as cidr6-0-ip4; neutral",
	"rfc4408-tests.yml/p-macro-multiple":              "as in RFC 7208; pass",
	"rfc4408-tests.yml/mx-limit":                      "RFC 4408 allowed ignoring MX names past 10; permerror (RFC 7208 section 4.6.4)",
	"rfc4408-tests.yml/ptr-limit":                     "as in RFC 7208; neutral",
}

// skipped lists the cases not run, with the reason.
var skipped = map[string]string{
	"test.yml/default-modifier":       "pyspf's lax mode honours the obsolete default= modifier, which RFC 7208 does not define (an unknown modifier is ignored)",
	"test.yml/default-modifier-harsh": "pyspf's harsh mode result \"ambiguous\" is not an RFC 7208 result",
}

func TestRFC7208Suite(t *testing.T) { runSuite(t, "rfc7208-tests.yml") }
func TestRFC4408Suite(t *testing.T) { runSuite(t, "rfc4408-tests.yml") }
func TestPyspfSuite(t *testing.T)   { runSuite(t, "test.yml") }

func runSuite(t *testing.T, file string) {
	cases := readSuite(t, file)
	if len(cases) == 0 {
		t.Fatal("no cases read")
	}
	ran := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if reason, ok := skipped[c.id()]; ok {
				t.Skip(reason)
			}
			want := c.results()
			if len(want) > 1 {
				if _, ok := multipleResults[c.id()]; !ok {
					t.Errorf("%s allows %v but is not listed in multipleResults", c.id(), want)
				}
			}
			rcv := runCase(t, c, zoneFrom(t, c.zonedata))
			ran++
			if !slices.Contains(want, rcv.Result) {
				t.Errorf("%s (%s): got %s (%s), want %v", c.id(), c.test.Spec, rcv.Result, rcv.Problem, want)
			}
			if exp := c.test.Explanation; exp != "" && rcv.Result == Fail {
				if exp == "DEFAULT" {
					exp = ""
				}
				if rcv.Explanation != exp {
					t.Errorf("%s: explanation %q, want %q", c.id(), rcv.Explanation, exp)
				}
			}
		})
	}
	t.Logf("%s: %d cases, %d run", file, len(cases), ran)
}
