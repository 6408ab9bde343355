package authres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Parsed is an Authentication-Results or ARC-Authentication-Results field
// value.
type Parsed struct {
	// Instance is the ARC i= tag; 0 for Authentication-Results.
	Instance int
	// AuthservID is the authserv-id, as written (unquoted).
	AuthservID string
	// Version is the authres-version after the id, "" when absent.
	Version string
	// Results are the method results; empty for "none".
	Results []Result
}

// ErrSyntax reports a field value that does not follow RFC 8601 section
// 2.2. Parse returns what it read before the error together with it.
var ErrSyntax = errors.New("authres: syntax error")

// Parse reads an Authentication-Results field value (RFC 8601 section
// 2.2), unfolded or not. Comments and white space are skipped wherever CFWS
// is allowed. When a result cannot be read, the results before it are
// returned with an error wrapping ErrSyntax; the authserv-id, once read, is
// always returned.
func Parse(value string) (Parsed, error) {
	p := &parser{s: value}
	return p.parseAR()
}

// ParseARC reads an ARC-Authentication-Results field value (RFC 8617
// section 4.1.1): "i=" instance ";" followed by an Authentication-Results
// value.
func ParseARC(value string) (Parsed, error) {
	p := &parser{s: value}
	p.cfws()
	if !p.consumeFold("i") {
		return Parsed{}, p.errorf("missing i= tag")
	}
	p.cfws()
	if !p.consume('=') {
		return Parsed{}, p.errorf("missing = after i")
	}
	p.cfws()
	digits := p.run(isDigit)
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > 50 || digits[0] == '0' {
		return Parsed{}, p.errorf("invalid instance %q", digits)
	}
	p.cfws()
	if !p.consume(';') {
		return Parsed{}, p.errorf("missing ; after i=%d", n)
	}
	res, err := p.parseAR()
	res.Instance = n
	return res, err
}

// AuthservID returns the authserv-id of an Authentication-Results value,
// reading no further than needed.
func AuthservID(value string) (string, error) {
	p := &parser{s: value}
	return p.authservID()
}

type parser struct {
	s   string
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) done() bool { return p.pos >= len(p.s) }

func (p *parser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.pos]
}

func (p *parser) consume(c byte) bool {
	if p.peek() == c {
		p.pos++
		return true
	}
	return false
}

// consumeFold consumes word case-insensitively if it is followed by a
// character that cannot continue a keyword.
func (p *parser) consumeFold(word string) bool {
	end := p.pos + len(word)
	if end > len(p.s) || !strings.EqualFold(p.s[p.pos:end], word) {
		return false
	}
	if end < len(p.s) && isKeywordChar(p.s[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) run(ok func(byte) bool) string {
	start := p.pos
	for !p.done() && ok(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// cfws skips white space, line breaks and comments (RFC 5322 section
// 3.2.2). An unterminated comment runs to the end.
func (p *parser) cfws() {
	for !p.done() {
		switch c := p.s[p.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.pos++
		case c == '(':
			p.comment()
		default:
			return
		}
	}
}

func (p *parser) comment() {
	depth := 0
	for !p.done() {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '\\':
			if !p.done() {
				p.pos++
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return
			}
		}
	}
}

// value reads a token or a quoted-string (RFC 2045 section 5.1).
func (p *parser) value() (string, error) {
	if p.peek() == '"' {
		return p.quoted()
	}
	tok := p.run(isTokenChar)
	if tok == "" {
		return "", p.errorf("expected a value")
	}
	return tok, nil
}

// quoted reads a quoted-string, unescaping quoted-pairs and unfolding.
func (p *parser) quoted() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for !p.done() {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.done() {
				break
			}
			b.WriteByte(p.s[p.pos])
			p.pos++
		case '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	p.pos = start
	return "", p.errorf("unterminated quoted-string")
}

func (p *parser) authservID() (string, error) {
	p.cfws()
	id, err := p.value()
	if err != nil {
		return "", err
	}
	return id, nil
}

func (p *parser) parseAR() (Parsed, error) {
	var res Parsed
	id, err := p.authservID()
	if err != nil {
		return res, err
	}
	res.AuthservID = id
	p.cfws()
	res.Version = p.run(isDigit)
	p.cfws()
	if p.done() {
		// RFC 8601 requires "; none" for no results; a bare id is
		// read leniently as the same.
		return res, nil
	}
	if !p.consume(';') {
		return res, p.errorf("expected ; after authserv-id")
	}
	p.cfws()
	if p.consumeFold("none") {
		p.cfws()
		p.consume(';')
		p.cfws()
		if !p.done() {
			return res, p.errorf("text after none")
		}
		return res, nil
	}
	for {
		p.cfws()
		if p.done() {
			return res, nil
		}
		r, err := p.resinfo()
		if err != nil {
			return res, err
		}
		res.Results = append(res.Results, r)
		p.cfws()
		if p.done() {
			return res, nil
		}
		if !p.consume(';') {
			return res, p.errorf("expected ; between results")
		}
	}
}

// resinfo reads methodspec [reasonspec] *propspec.
func (p *parser) resinfo() (Result, error) {
	var r Result
	r.Method = strings.ToLower(p.run(isKeywordChar))
	if r.Method == "" {
		return r, p.errorf("expected a method")
	}
	p.cfws()
	if p.consume('/') {
		p.cfws()
		r.Version = p.run(isDigit)
		p.cfws()
	}
	if !p.consume('=') {
		return r, p.errorf("expected = after method %s", r.Method)
	}
	p.cfws()
	r.Value = strings.ToLower(p.run(isKeywordChar))
	if r.Value == "" {
		return r, p.errorf("expected a result for %s", r.Method)
	}
	for {
		p.cfws()
		if p.done() || p.peek() == ';' {
			return r, nil
		}
		if err := p.property(&r); err != nil {
			return r, err
		}
	}
}

// property reads a reasonspec or a propspec.
func (p *parser) property(r *Result) error {
	ptype := strings.ToLower(p.run(isKeywordChar))
	if ptype == "" {
		return p.errorf("expected a property")
	}
	p.cfws()
	if ptype == "reason" && p.consume('=') {
		p.cfws()
		v, err := p.value()
		r.Reason = v
		return err
	}
	if !p.consume('.') {
		return p.errorf("expected . after %s", ptype)
	}
	p.cfws()
	name := strings.ToLower(p.run(isKeywordChar))
	if name == "" {
		return p.errorf("expected a property name after %s.", ptype)
	}
	p.cfws()
	if !p.consume('=') {
		return p.errorf("expected = after %s.%s", ptype, name)
	}
	p.cfws()
	v, err := p.pvalue()
	if err != nil {
		return err
	}
	r.Props = append(r.Props, Prop{Type: ptype, Name: name, Value: v})
	return nil
}

// pvalue reads value / [[local-part] "@"] domain-name (RFC 8601 section
// 2.2): a quoted local-part may precede "@domain".
func (p *parser) pvalue() (string, error) {
	var b strings.Builder
	if p.peek() == '"' {
		q, err := p.quoted()
		if err != nil {
			return "", err
		}
		if p.peek() != '@' {
			return q, nil
		}
		b.WriteString(q)
	}
	b.WriteString(p.run(isPvalueChar))
	if b.Len() == 0 {
		return "", p.errorf("expected a property value")
	}
	return b.String(), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isKeywordChar accepts the characters of a Keyword (RFC 5321 section
// 4.1.2: letters, digits, hyphen); "_" too, as some methods use it.
func isKeywordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_'
}

// isTokenChar accepts the characters of an RFC 2045 token: printable
// US-ASCII except tspecials. Octets above 127 are accepted too, for
// internationalized domain names (RFC 6532).
func isTokenChar(c byte) bool { return tokenChars[c] }

var tokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c > ' ' && c != 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
	}
	return t
}()

// isPvalueChar accepts what a property value may hold beside a token:
// the "@" of an address and the "/", "+", "=" of a header.b prefix that
// senders often leave unquoted.
func isPvalueChar(c byte) bool {
	return isTokenChar(c) || c == '@' || c == '/' || c == '=' || c == ':' || c == '?' || c == '[' || c == ']'
}
