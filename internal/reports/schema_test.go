package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The shape of an aggregate report after RFC 7489 Appendix C: for each
// element, its children with their occurrence bounds, or for a leaf, the
// check of its text. checkFeedbackSchema holds a document to it.
type xsChild struct {
	name     string
	min, max int // max -1: unbounded
}

var (
	xsChildren = map[string][]xsChild{
		"feedback":          {{"version", 0, 1}, {"report_metadata", 1, 1}, {"policy_published", 1, 1}, {"record", 1, -1}},
		"report_metadata":   {{"org_name", 1, 1}, {"email", 1, 1}, {"extra_contact_info", 0, 1}, {"report_id", 1, 1}, {"date_range", 1, 1}, {"error", 0, -1}},
		"date_range":        {{"begin", 1, 1}, {"end", 1, 1}},
		"policy_published":  {{"domain", 1, 1}, {"adkim", 0, 1}, {"aspf", 0, 1}, {"p", 1, 1}, {"sp", 1, 1}, {"pct", 1, 1}, {"fo", 1, 1}},
		"record":            {{"row", 1, 1}, {"identifiers", 1, 1}, {"auth_results", 1, 1}},
		"row":               {{"source_ip", 1, 1}, {"count", 1, 1}, {"policy_evaluated", 1, 1}},
		"policy_evaluated":  {{"disposition", 1, 1}, {"dkim", 1, 1}, {"spf", 1, 1}, {"reason", 0, -1}},
		"reason":            {{"type", 1, 1}, {"comment", 0, 1}},
		"identifiers":       {{"envelope_to", 0, 1}, {"envelope_from", 1, 1}, {"header_from", 1, 1}},
		"auth_results":      {{"dkim", 0, -1}, {"spf", 1, -1}},
		"auth_results/dkim": {{"domain", 1, 1}, {"selector", 0, 1}, {"result", 1, 1}, {"human_result", 0, 1}},
		"auth_results/spf":  {{"domain", 1, 1}, {"scope", 0, 1}, {"result", 1, 1}},
	}
	disposition = enum("none", "quarantine", "reject")
	alignment   = enum("r", "s")
	xsLeaves    = map[string]func(string) error{
		"version": decimal, "begin": integer, "end": integer, "count": integer, "pct": integer,
		"org_name": nonEmpty, "email": nonEmpty, "report_id": nonEmpty, "domain": nonEmpty,
		"header_from": nonEmpty, "source_ip": nonEmpty,
		"p": disposition, "sp": disposition, "disposition": disposition, "adkim": alignment, "aspf": alignment,
		"policy_evaluated/dkim": enum("pass", "fail"), "policy_evaluated/spf": enum("pass", "fail"),
		"type":        enum("forwarded", "sampled_out", "trusted_forwarder", "mailing_list", "local_policy", "other"),
		"dkim/result": enum("none", "pass", "fail", "policy", "neutral", "temperror", "permerror"),
		"spf/result":  enum("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"),
		"scope":       enum("helo", "mfrom"),
	}
)

func enum(vals ...string) func(string) error {
	return func(s string) error {
		if !slices.Contains(vals, s) {
			return fmt.Errorf("%q is not one of %v", s, vals)
		}
		return nil
	}
}

func integer(s string) error { _, err := strconv.ParseInt(s, 10, 64); return err }
func decimal(s string) error { _, err := strconv.ParseFloat(s, 64); return err }
func nonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty")
	}
	return nil
}

type xsNode struct {
	name     string
	text     strings.Builder
	children []*xsNode
}

// checkFeedbackSchema reports the first way doc departs from the shape of
// an aggregate report.
func checkFeedbackSchema(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var stack []*xsNode
	var root *xsNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Space != "" {
				return fmt.Errorf("element %s in namespace %s", tok.Name.Local, tok.Name.Space)
			}
			n := &xsNode{name: tok.Name.Local}
			if len(stack) == 0 {
				root = n
			} else {
				top := stack[len(stack)-1]
				top.children = append(top.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(tok)
			}
		}
	}
	if root == nil || root.name != "feedback" {
		return fmt.Errorf("root is not feedback")
	}
	return checkNode(root, "")
}

func checkNode(n *xsNode, parent string) error {
	path := n.name
	qualified := parent + "/" + n.name
	spec, ok := xsChildren[qualified]
	if !ok {
		spec, ok = xsChildren[n.name]
	}
	if n.name == "dkim" || n.name == "spf" {
		spec, ok = xsChildren[qualified], parent == "auth_results"
	}
	if !ok {
		if len(n.children) > 0 {
			return fmt.Errorf("%s: leaf with children", qualified)
		}
		check := xsLeaves[qualified]
		if check == nil && (n.name == "result") {
			check = xsLeaves[parent+"/result"]
		}
		if check == nil {
			check = xsLeaves[path]
		}
		if check != nil {
			if err := check(strings.TrimSpace(n.text.String())); err != nil {
				return fmt.Errorf("%s: %v", qualified, err)
			}
		}
		return nil
	}
	counts := map[string]int{}
	for _, c := range n.children {
		counts[c.name]++
		if !slices.ContainsFunc(spec, func(s xsChild) bool { return s.name == c.name }) {
			return fmt.Errorf("%s: unexpected child %s", qualified, c.name)
		}
		if err := checkNode(c, n.name); err != nil {
			return err
		}
	}
	for _, s := range spec {
		if counts[s.name] < s.min || (s.max >= 0 && counts[s.name] > s.max) {
			return fmt.Errorf("%s: %d %s, want %d to %d", qualified, counts[s.name], s.name, s.min, s.max)
		}
	}
	if n.name == "feedback" {
		var order []string
		for _, c := range n.children {
			order = append(order, c.name)
		}
		want := slices.Clone(order)
		rank := map[string]int{"version": 0, "report_metadata": 1, "policy_published": 2, "record": 3}
		slices.SortStableFunc(want, func(a, b string) int { return rank[a] - rank[b] })
		if !slices.Equal(order, want) {
			return fmt.Errorf("feedback: children in order %v, the schema's sequence is %v", order, want)
		}
	}
	return nil
}

// TestFeedbackSchemaCheck shows that the schema check rejects reports that
// depart from the schema, so that its passing means something.
func TestFeedbackSchemaCheck(t *testing.T) {
	good, err := os.ReadFile("testdata/example.com.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFeedbackSchema(good); err != nil {
		t.Fatalf("golden report: %v", err)
	}
	tests := []struct{ name, from, to string }{
		{"no report_metadata", "<report_metadata>", "<report_metadatx>"},
		{"missing org_name", "<org_name>mail.example.org</org_name>", ""},
		{"bad disposition", "<disposition>reject</disposition>", "<disposition>drop</disposition>"},
		{"bad aligned result", "<dkim>pass</dkim>", "<dkim>softfail</dkim>"},
		{"count not an integer", "<count>2</count>", "<count>two</count>"},
		{"missing header_from", "<header_from>example.com</header_from>", ""},
		{"bad SPF scope", "<scope>mfrom</scope>", "<scope>pra</scope>"},
		{"no SPF result", "<spf>\n        <domain>spammer.example</domain>\n        <scope>mfrom</scope>\n        <result>softfail</result>\n      </spf>", ""},
		{"bad reason", "<type>sampled_out</type>", "<type>because</type>"},
		{"records before the policy", "<policy_published>", "<record><row/></record><policy_published>"},
	}
	for _, tc := range tests {
		bad := strings.Replace(string(good), tc.from, tc.to, 1)
		if tc.name == "no report_metadata" {
			bad = strings.Replace(bad, "</report_metadata>", "</report_metadatx>", 1)
		}
		if bad == string(good) {
			t.Fatalf("%s: the mutation changed nothing", tc.name)
		}
		if err := checkFeedbackSchema([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
