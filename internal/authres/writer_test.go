package authres

import (
	"fmt"
	"strings"
	"testing"
)

// writeAll writes results with a Writer, the reason split after cut bytes
// into the two parts Writer.Reason takes, and reports whether every part
// went through.
func writeAll(authservID string, results []Result, cut int) (string, bool) {
	var w Writer
	dst, ok := w.Begin(nil, authservID)
	for _, r := range results {
		var ok1, ok2, ok3 bool
		dst, ok1 = w.Result(dst, r.Method, r.Value)
		dst, ok2 = w.Comment(dst, r.Comment)
		c := min(cut, len(r.Reason))
		dst, ok3 = w.Reason(dst, r.Reason[:c], r.Reason[c:])
		ok = ok && ok1 && ok2 && ok3
		for i, p := range r.Props {
			var okp bool
			if i%2 == 0 {
				dst, okp = w.Prop(dst, p.Type, p.Name, p.Value)
			} else {
				// Every other through a PropName.
				n, err := NewPropName(p.Type, p.Name)
				dst, okp = w.PropNamed(dst, n, p.Value)
				if err != nil && okp {
					panic("PropNamed wrote a property NewPropName refused")
				}
			}
			ok = ok && okp
		}
	}
	return string(w.End(dst)), ok
}

func TestWriter(t *testing.T) {
	long := fmt.Sprintf("%0200d", 0)
	for _, tc := range []struct {
		name    string
		results []Result
		cut     int
		ok      bool
	}{
		{"usual", []Result{
			{Method: "spf", Value: "pass", Reason: "matched ip4:192.0.2.10", Props: []Prop{{"smtp", "mailfrom", "joe@bench.example"}}},
			{Method: "dkim", Value: "pass", Reason: "signature verified", Props: []Prop{{"header", "d", "bench.example"},
				{"header", "s", "sel"}, {"header", "a", "rsa-sha256"}, {"header", "b", "zv/Oo1wh"}}},
			{Method: "arc", Value: "none", Reason: "no ARC sets"},
			{Method: "dmarc", Value: "pass", Comment: "p=reject dis=none", Props: []Prop{{"header", "from", "bench.example"}, {"policy", "dmarc", "none"}}},
		}, 8, true},
		{"folds on the last word with its semicolon", []Result{
			{Method: "spf", Value: "pass", Reason: "matched a:" + long[:44], Props: []Prop{{"smtp", "mailfrom", "abcdefghijklmnopqrstuvwxyz"}}},
			{Method: "arc", Value: "none"},
		}, 8, true},
		{"a word longer than a line", []Result{{Method: "dkim", Value: "fail", Reason: long[:100], Props: []Prop{{"header", "d", long[:90]}}}}, 0, true},
		{"quoted address", []Result{{Method: "spf", Value: "pass", Props: []Prop{{"smtp", "mailfrom", `"a b"@example.com`}}}}, 0, true},
		{"upper-case keywords", []Result{{Method: "SPF", Value: "Pass", Props: []Prop{{"SMTP", "MailFrom", "a@b"}}}}, 0, true},
		{"reason to cut", []Result{{Method: "spf", Value: "pass", Reason: long + "x"}}, 0, false},
		{"reason to clean", []Result{{Method: "spf", Value: "pass", Reason: "a\r\nb"}}, 0, false},
		{"reason trimmed across its parts", []Result{{Method: "spf", Value: "pass", Reason: "matched "}}, 8, false},
		{"reason trimmed, no head", []Result{{Method: "spf", Value: "pass", Reason: " all "}}, 0, true},
		{"not a keyword", []Result{{Method: "sp f", Value: "pass"}}, 0, false},
		{"comment to clean", []Result{{Method: "dmarc", Value: "pass", Comment: "p=\x00"}}, 0, false},
		{"value to clean", []Result{{Method: "dkim", Value: "pass", Props: []Prop{{"header", "d", "\xff"}}}}, 0, false},
		{"second property not keywords", []Result{{Method: "dkim", Value: "pass", Props: []Prop{{"header", "d", "a"}, {"he ader", "s", "b"}}}}, 0, false},
		{"second property upper case", []Result{{Method: "dkim", Value: "pass", Props: []Prop{{"header", "d", "a"}, {"HEADER", "S", "b"}}}}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := writeAll("mx.sealpost.test", tc.results, tc.cut)
			if ok != tc.ok {
				t.Fatalf("Writer ok = %v, want %v\n%s", ok, tc.ok, got)
			}
			want, err := Header("mx.sealpost.test", tc.results)
			if ok && (err != nil || got != want) {
				t.Fatalf("Writer wrote\n%q\nHeader\n%q, %v", got, want, err)
			}
		})
	}
}

// FuzzWriter compares what a Writer writes, when it writes it all, with
// Header's field for the same results: byte for byte, and never a field
// where Header finds an error.
func FuzzWriter(f *testing.F) {
	f.Add("mx.sealpost.test", "spf", "pass", "", "matched ip4:192.0.2.10", "smtp", "mailfrom", "joe@bench.example", uint8(8))
	f.Add("mx", "dmarc", "pass", "p=reject dis=none", "", "header", "from", "bench.example", uint8(2))
	f.Add("mx", "dkim", "pass", "", "signature verified", "header", "b", "zv/Oo1wh", uint8(0x43))
	f.Add("m x", "DKIM", "Fail", "(x)", " a \"b\" ", "Header", "D", "\"q w\"@example.com", uint8(0xff))
	f.Fuzz(func(t *testing.T, id, method, value, comment, reason, ptype, pname, pvalue string, shape uint8) {
		// shape: results (1 to 3), properties of each (0 to 3), and
		// where the reason is cut in two.
		nres, nprops, cut := 1+int(shape&3)%3, int(shape>>2)&3, int(shape>>4)
		var results []Result
		for i := range nres {
			r := Result{Method: method, Value: value, Comment: comment, Reason: reason}
			if i == 1 {
				r.Comment, r.Reason = reason, comment
			}
			for j := range nprops {
				v := pvalue
				if j == 1 {
					v = reason
				}
				r.Props = append(r.Props, Prop{ptype, pname, v})
			}
			results = append(results, r)
		}
		for _, s := range []string{reason, comment, pvalue} {
			if got, want := plainQuoted(s), !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f || r == '"' || r == '\\' }); got != want {
				t.Fatalf("plainQuoted(%q) = %v, want %v", s, got, want)
			}
		}
		got, ok := writeAll(id, results, cut)
		want, err := Header(id, results)
		if ok && (err != nil || got != want) {
			t.Fatalf("Writer wrote\n%q\nHeader\n%q, %v", got, want, err)
		}
	})
}
