package arc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// scenario is one YAML document of the ValiMail ARC test suite.
type scenario struct {
	Description string            `yaml:"description"`
	Tests       yaml.Node         `yaml:"tests"`
	TXTRecords  map[string]string `yaml:"txt-records"`
	Domain      string            `yaml:"domain"`
	Selector    string            `yaml:"sel"`
	PrivateKey  string            `yaml:"privatekey"`
}

type suiteCase struct {
	Description string `yaml:"description"`
	Message     string `yaml:"message"`
	CV          string `yaml:"cv"`
	// Signing cases.
	T          int64  `yaml:"t"`
	SigHeaders string `yaml:"sig-headers"`
	SrvID      string `yaml:"srv-id"`
	AS         string `yaml:"AS"`
	AMS        string `yaml:"AMS"`
	AAR        string `yaml:"AAR"`
}

func readScenarios(t *testing.T, name string) []scenario {
	t.Helper()
	f, err := os.Open(filepath.Join(conformanceDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var out []scenario
	for {
		var s scenario
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, s)
	}
	return out
}

func scenarioDNS(s scenario) *fakeDNS {
	dns := newFakeDNS()
	for name, txt := range s.TXTRecords {
		dns.add(name, strings.Join(strings.Fields(txt), " "))
	}
	return dns
}

// namedCase is a case with its name. The validation file gives four names
// twice in one mapping (a YAML error that PyYAML, the suite's own reader,
// resolves by keeping the last); both are run, the first named NAME#1.
type namedCase struct {
	name string
	suiteCase
}

// cases decodes a scenario's tests mapping in file order.
func (s scenario) cases(t *testing.T) []namedCase {
	t.Helper()
	n := &s.Tests
	if n.Kind != yaml.MappingNode {
		t.Fatalf("tests is not a mapping")
	}
	var out []namedCase
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		var c suiteCase
		if err := n.Content[i+1].Decode(&c); err != nil {
			t.Fatalf("test %s: %v", n.Content[i].Value, err)
		}
		out = append(out, namedCase{n.Content[i].Value, c})
		seen[n.Content[i].Value]++
	}
	count := map[string]int{}
	for i := range out {
		name := out[i].name
		count[name]++
		if seen[name] > 1 && count[name] < seen[name] {
			out[i].name = fmt.Sprintf("%s#%d", name, count[name])
		}
	}
	return out
}

// validationSkips lists the validation cases not run, with the reason.
// None is skipped.
var validationSkips = map[string]string{}

// validationOverrides are the cases where Sealpost follows RFC 8617 rather
// than the suite. The suite leaves cv empty for a chain in which an
// ARC-Seal says cv=fail (dkimpy returns None: "the chain is terminated");
// RFC 8617 section 5.2 steps 2 and 3 make that chain "fail", which a
// receiver treats like no chain at all (section 5.2, last paragraph).
var validationOverrides = map[string]Status{
	"cv_fail_i1_as_cv_fail": StatusFail, // AS(1) cv=fail: step 3
	"cv_fail_i2_as2_fail":   StatusFail, // latest AS cv=fail: step 2
	"cv_fail_i2_as1_fail":   StatusFail, // AS(1) cv=fail under AS(2) cv=pass: step 3
}

func TestConformanceValidation(t *testing.T) {
	scenarios := readScenarios(t, "arc-draft-validation-tests.yml")
	total, ran := 0, 0
	for _, s := range scenarios {
		dns := scenarioDNS(s)
		for _, tc := range s.cases(t) {
			name := tc.name
			total++
			t.Run(name, func(t *testing.T) {
				if why, ok := validationSkips[name]; ok {
					t.Skip(why)
				}
				ran++
				want := Status(strings.ToLower(strings.TrimSpace(tc.CV)))
				if over, ok := validationOverrides[name]; ok {
					if want != "" {
						t.Fatalf("override of %s no longer needed: the suite expects %q", name, want)
					}
					want = over
				}
				v := &Validator{Resolver: dns}
				res, err := v.Validate(context.Background(), strings.NewReader(crlf(tc.Message)))
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if res.Status != want {
					t.Errorf("%s: status %s (%s), want %s", tc.Description, res.Status, res.Reason, want)
				}
			})
		}
	}
	if total != 175 {
		t.Errorf("read %d validation cases, the suite has 175 (171 names, four given twice)", total)
	}
	t.Logf("%d of %d validation cases run", ran, total)
}
