package spf

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The macro language of RFC 7208 section 7.

const delimiters = ".-+,/_="

// maxExpansion bounds the text a macro-string expands to. A domain name
// needs at most 253 octets and an explanation a line; a record full of
// %{s} would otherwise grow to megabytes.
const maxExpansion = 8192

// checkMacroString checks the syntax of a macro-string (RFC 7208 section
// 7.1); explain allows the letters c, r and t, which only an explanation
// string may use.
func checkMacroString(s string, explain bool) error {
	_, err := expandMacros(s, explain, nil)
	return err
}

// expandMacros expands s; value gives the value of a macro letter
// (lower case). With value nil, only the syntax is checked.
func expandMacros(s string, explain bool, value func(letter byte) (string, error)) (string, error) {
	if !strings.Contains(s, "%") {
		// Most domain-specs (include:_spf.example.com) hold no macro: they
		// are their own expansion, and copying them would cost an
		// allocation per term of every check.
		for i := 0; i < len(s); i++ {
			if !literalChar(s[i], explain) {
				return "", fmt.Errorf("invalid character %q in macro-string", s[i])
			}
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if !literalChar(c, explain) {
				return "", fmt.Errorf("invalid character %q in macro-string", c)
			}
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", errors.New("macro-string ends with %")
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case '_':
			b.WriteByte(' ')
		case '-':
			b.WriteString("%20")
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", errors.New("unterminated macro")
			}
			out, err := expandOne(s[i+1:i+end], explain, value)
			if err != nil {
				return "", err
			}
			b.WriteString(out)
			i += end
			if b.Len() > maxExpansion {
				return "", fmt.Errorf("macro expansion longer than %d octets", maxExpansion)
			}
		default:
			return "", fmt.Errorf("invalid macro %%%c", s[i])
		}
	}
	return b.String(), nil
}

// literalChar reports whether c may stand for itself in a macro-string:
// a visible character, or a space in an explanation.
func literalChar(c byte, explain bool) bool {
	return c >= 0x21 && c <= 0x7e || explain && c == ' '
}

// expandOne expands the inside of "%{...}": macro-letter transformers
// *delimiter.
func expandOne(m string, explain bool, value func(byte) (string, error)) (string, error) {
	if m == "" {
		return "", errors.New("empty macro")
	}
	letter := m[0]
	lower := letter | 0x20
	switch {
	case strings.IndexByte("slodiphv", lower) >= 0 && isAlpha(letter):
	case explain && strings.IndexByte("crt", lower) >= 0 && isAlpha(letter):
	default:
		return "", fmt.Errorf("invalid macro letter %q", letter)
	}
	rest := m[1:]
	j := 0
	for j < len(rest) && isDigit(rest[j]) {
		j++
	}
	keep := 0 // 0: all parts
	if j > 0 {
		n, err := strconv.Atoi(rest[:min(j, 4)])
		if err != nil || n == 0 {
			return "", fmt.Errorf("invalid macro transformer %q", rest[:j])
		}
		keep = n
		if j > 4 {
			keep = 1 << 30 // more than any name has parts
		}
	}
	rest = rest[j:]
	reverse := false
	if rest != "" && rest[0]|0x20 == 'r' {
		reverse, rest = true, rest[1:]
	}
	for k := 0; k < len(rest); k++ {
		if strings.IndexByte(delimiters, rest[k]) < 0 {
			return "", fmt.Errorf("invalid macro delimiter %q", rest[k])
		}
	}
	if value == nil {
		return "", nil
	}
	v, err := value(lower)
	if err != nil {
		return "", err
	}
	v = transform(v, keep, reverse, rest)
	if letter != lower {
		v = urlEscape(v)
	}
	return v, nil
}

// transform splits v on the delimiters (default "."), reverses the parts
// if asked, keeps the rightmost keep parts and joins them with dots (RFC
// 7208 section 7.3).
func transform(v string, keep int, reverse bool, delims string) string {
	if keep == 0 && !reverse && (delims == "" || delims == ".") {
		return v
	}
	if delims == "" {
		delims = "."
	}
	parts := splitAny(v, delims)
	if reverse {
		slices.Reverse(parts)
	}
	if keep > 0 && keep < len(parts) {
		parts = parts[len(parts)-keep:]
	}
	return strings.Join(parts, ".")
}

func splitAny(v, delims string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(delims, v[i]) >= 0 {
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	return append(parts, v[start:])
}

// urlEscape escapes all but the unreserved characters of RFC 3986, for
// upper-case macro letters (RFC 7208 section 7.3).
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// expandDomain expands a domain-spec into the name to query: without a
// trailing dot, and shortened from the left to at most 253 characters by
// dropping whole labels (RFC 7208 section 7.3).
func (c *checker) expandDomain(ctx context.Context, spec string) (string, error) {
	name, err := expandMacros(spec, false, c.macroValue(ctx))
	if err != nil {
		return "", err
	}
	name = strings.TrimSuffix(name, ".")
	for len(name) > 253 {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
	return name, nil
}

// macroValue gives the values of the macro letters for the current
// evaluation (RFC 7208 section 7.2).
func (c *checker) macroValue(ctx context.Context) func(byte) (string, error) {
	return func(letter byte) (string, error) {
		switch letter {
		case 's':
			return c.sender, nil
		case 'l':
			return c.local, nil
		case 'o':
			return c.senderDomain, nil
		case 'd':
			return c.domain, nil
		case 'i':
			return dottedIP(c.args.IP), nil
		case 'c':
			return c.args.IP.String(), nil
		case 'p':
			return c.validatedName(ctx)
		case 'v':
			if c.args.IP.Is4() {
				return "in-addr", nil
			}
			return "ip6", nil
		case 'h':
			return c.args.HELO, nil
		case 'r':
			if c.args.Receiver == "" {
				return "unknown", nil
			}
			return c.args.Receiver, nil
		case 't':
			return strconv.FormatInt(c.clock().Unix(), 10), nil
		}
		return "", fmt.Errorf("invalid macro letter %q", letter)
	}
}
