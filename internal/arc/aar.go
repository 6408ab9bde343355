package arc

import (
	"strings"
)

// AuthResults is a parsed ARC-Authentication-Results field (RFC 8617
// section 4.1.1): an instance followed by an Authentication-Results value
// (RFC 8601). Only what ARC and the DMARC override need is taken apart: the
// authserv-id and each result's method and result word.
type AuthResults struct {
	Instance   int    // i=
	AuthservID string // lower case
	Results    []MethodResult
}

// MethodResult is one resinfo of an Authentication-Results value.
type MethodResult struct {
	Method string // lower case, without a /version
	Result string // lower case
	Text   string // the resinfo as written, unfolded
}

// ParseAuthResults parses the value of an ARC-Authentication-Results
// field: "i=N; authserv-id [version]; method=result ...; ...". The i= must
// come first (section 4.2.1). A resinfo without "method=result" is kept
// with an empty Method rather than failing the field: ARC binds these
// results, it does not interpret them.
func ParseAuthResults(value string) (*AuthResults, error) {
	parts := splitResults(value)
	if len(parts) < 2 {
		return nil, syntaxErr("ARC-Authentication-Results needs i= and an authserv-id")
	}
	name, val, ok := strings.Cut(stripComments(parts[0]), "=")
	if !ok || strings.TrimSpace(name) != "i" {
		return nil, syntaxErr("ARC-Authentication-Results does not start with i=")
	}
	a := &AuthResults{}
	var err error
	if a.Instance, err = parseInstance(strings.TrimSpace(val)); err != nil {
		return nil, err
	}
	id := strings.Fields(stripComments(parts[1]))
	if len(id) == 0 {
		return nil, syntaxErr("ARC-Authentication-Results has no authserv-id")
	}
	a.AuthservID = strings.ToLower(id[0])
	for _, p := range parts[2:] {
		r := parseResinfo(p)
		if r.Method == "none" && r.Result == "" {
			continue // "none": no results (RFC 8601 section 2.2)
		}
		a.Results = append(a.Results, r)
	}
	return a, nil
}

// Lookup returns the results of method (lower case), in order.
func (a *AuthResults) Lookup(method string) []MethodResult {
	var out []MethodResult
	for _, r := range a.Results {
		if r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

func parseResinfo(text string) MethodResult {
	r := MethodResult{Text: unfold(text)}
	bare := strings.TrimSpace(stripComments(text))
	method, rest, ok := strings.Cut(bare, "=")
	if !ok {
		r.Method = strings.ToLower(bare)
		return r
	}
	method, _, _ = strings.Cut(method, "/")
	r.Method = strings.ToLower(strings.TrimSpace(method))
	if f := strings.Fields(rest); len(f) > 0 {
		r.Result = strings.ToLower(f[0])
	}
	return r
}

// splitResults splits an Authentication-Results value at the semicolons
// that are outside comments and quoted strings. Empty parts (a trailing
// semicolon) are dropped.
func splitResults(s string) []string {
	var parts []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (depth > 0 || quoted):
			i++
		case quoted:
			quoted = c != '"'
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == ';' && depth == 0:
			parts = appendPart(parts, s[start:i])
			start = i + 1
		}
	}
	return appendPart(parts, s[start:])
}

func appendPart(parts []string, p string) []string {
	if strings.TrimSpace(p) == "" {
		return parts
	}
	return append(parts, p)
}

// stripComments removes RFC 5322 comments, nested ones included, keeping
// quoted strings as they are and putting a space where a comment was.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case depth > 0:
			switch c {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					b.WriteByte(' ')
				}
			}
		case quoted:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
			quoted = c != '"'
		case c == '(':
			depth++
		default:
			quoted = c == '"'
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unfold joins folded lines and trims the ends, keeping inner whitespace
// runs as single spaces.
func unfold(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
