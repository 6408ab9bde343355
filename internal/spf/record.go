package spf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"sealpost.dev/sealpost/internal/textcache"
)

// A record as published in DNS (RFC 7208 section 4.6 and 12): the terms
// in order, and the two modifiers with a meaning. Domain specifications are
// kept unexpanded: macros are expanded during evaluation.
type record struct {
	directives []directive
	redirect   string // domain-spec, "" if absent
	exp        string // domain-spec, "" if absent
}

type mechanism string

const (
	mechAll     mechanism = "all"
	mechInclude mechanism = "include"
	mechA       mechanism = "a"
	mechMX      mechanism = "mx"
	mechPTR     mechanism = "ptr"
	mechIP4     mechanism = "ip4"
	mechIP6     mechanism = "ip6"
	mechExists  mechanism = "exists"
)

// A directive is a qualifier and a mechanism (RFC 7208 section 4.6.2).
type directive struct {
	text      string // as written, for the Received-SPF mechanism key
	qualifier Status
	mech      mechanism
	domain    string       // domain-spec of include, a, mx, ptr, exists
	prefix    netip.Prefix // ip4, ip6
	cidr4     int          // a, mx: prefix length for IPv4 clients
	cidr6     int          // a, mx: prefix length for IPv6 clients
}

// queriesDNS reports whether the mechanism counts against the limit of
// RFC 7208 section 4.6.4.
func (d directive) queriesDNS() bool {
	switch d.mech {
	case mechInclude, mechA, mechMX, mechPTR, mechExists:
		return true
	}
	return false
}

// isSPFRecord reports whether a TXT string is an SPF version 1 record
// (RFC 7208 section 4.5): "v=spf1" alone or followed by a space.
func isSPFRecord(txt string) bool {
	return len(txt) >= 6 && strings.EqualFold(txt[:6], "v=spf1") && (len(txt) == 6 || txt[6] == ' ')
}

// parseRecord parses an SPF record. Any syntax error anywhere makes the
// whole record invalid (RFC 7208 section 4.6), reported as an error.
// parsedRecords keeps parsed records by their text: a record is parsed
// once, not for every message (package textcache).
var parsedRecords = textcache.New(4096, parseRecord)

func parseRecord(txt string) (*record, error) {
	if !isSPFRecord(txt) {
		return nil, errors.New("not an SPF version 1 record")
	}
	for i := 0; i < len(txt); i++ {
		if c := txt[i]; c < 0x20 || c > 0x7e {
			return nil, fmt.Errorf("invalid character %q in record", c)
		}
	}
	rec := &record{}
	for _, term := range strings.Split(txt[6:], " ") {
		if term == "" {
			continue // terms are separated by one or more spaces
		}
		if name, value, ok := splitModifier(term); ok {
			if err := rec.addModifier(name, value); err != nil {
				return nil, err
			}
			continue
		}
		d, err := parseDirective(term)
		if err != nil {
			return nil, err
		}
		rec.directives = append(rec.directives, d)
	}
	return rec, nil
}

// splitModifier splits a modifier (name "=" macro-string); name is
// ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
func splitModifier(term string) (name, value string, ok bool) {
	for i := 0; i < len(term); i++ {
		c := term[i]
		switch {
		case isAlpha(c):
		case i > 0 && (isDigit(c) || c == '-' || c == '_' || c == '.'):
		case i > 0 && c == '=':
			return strings.ToLower(term[:i]), term[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

func (rec *record) addModifier(name, value string) error {
	switch name {
	case "redirect", "exp":
		if err := checkDomainSpec(value); err != nil {
			return fmt.Errorf("%s=: %w", name, err)
		}
		field := &rec.redirect
		if name == "exp" {
			field = &rec.exp
		}
		if *field != "" {
			return fmt.Errorf("%s= appears more than once", name)
		}
		*field = value
		return nil
	}
	// Unknown modifiers are ignored (RFC 7208 section 6), but their value
	// must still be a valid macro-string.
	if err := checkMacroString(value, false); err != nil {
		return fmt.Errorf("modifier %s=: %w", name, err)
	}
	return nil
}

func parseDirective(term string) (directive, error) {
	d := directive{text: term, qualifier: Pass}
	rest := term
	switch rest[0] {
	case '+':
		rest = rest[1:]
	case '-':
		d.qualifier, rest = Fail, rest[1:]
	case '~':
		d.qualifier, rest = Softfail, rest[1:]
	case '?':
		d.qualifier, rest = Neutral, rest[1:]
	}
	i := strings.IndexAny(rest, ":/")
	if i < 0 {
		i = len(rest)
	}
	d.mech = mechanism(strings.ToLower(rest[:i]))
	rest = rest[i:]
	arg, hasArg := strings.CutPrefix(rest, ":")
	var err error
	switch d.mech {
	case mechAll:
		if rest != "" {
			err = errors.New("all takes no argument")
		}
	case mechInclude, mechExists:
		if !hasArg {
			err = fmt.Errorf("%s needs a domain", d.mech)
		} else {
			d.domain, err = arg, checkDomainSpec(arg)
		}
	case mechPTR:
		if hasArg {
			d.domain, err = arg, checkDomainSpec(arg)
		} else if rest != "" {
			err = errors.New("ptr takes no prefix length")
		}
	case mechA, mechMX:
		err = d.parseHostArg(rest, hasArg)
	case mechIP4, mechIP6:
		if !hasArg {
			err = fmt.Errorf("%s needs an address", d.mech)
		} else {
			d.prefix, err = parseNetwork(d.mech, arg)
		}
	default:
		err = errors.New("unknown mechanism")
	}
	if err != nil {
		return directive{}, fmt.Errorf("%q: %w", term, err)
	}
	return d, nil
}

// parseHostArg parses the [":" domain-spec] [dual-cidr-length] of a and mx.
func (d *directive) parseHostArg(rest string, hasArg bool) error {
	d.cidr4, d.cidr6 = 32, 128
	if hasArg {
		rest = rest[1:]
	}
	rest, c6, ok6, err := cutCIDR(rest, "//", 128)
	if err != nil {
		return err
	}
	rest, c4, ok4, err := cutCIDR(rest, "/", 32)
	if err != nil {
		return err
	}
	if ok6 {
		d.cidr6 = c6
	}
	if ok4 {
		d.cidr4 = c4
	}
	if !hasArg {
		if rest != "" {
			return errors.New("invalid prefix length")
		}
		return nil
	}
	d.domain = rest
	return checkDomainSpec(rest)
}

// cutCIDR removes a trailing sep + length, if there is one.
func cutCIDR(s, sep string, max int) (rest string, n int, ok bool, err error) {
	i := strings.LastIndex(s, sep)
	if i < 0 || (sep == "/" && i > 0 && s[i-1] == '/') {
		return s, 0, false, nil
	}
	digits := s[i+len(sep):]
	if !isDecimal(digits) {
		return s, 0, false, nil // part of a domain-spec, or a syntax error found later
	}
	n, err = parseLength(digits, max)
	return s[:i], n, true, err
}

// parseLength parses a prefix length: "0" or a number without leading
// zeros (RFC 7208 section 12), at most max.
func parseLength(digits string, max int) (int, error) {
	if digits == "" || (len(digits) > 1 && digits[0] == '0') || len(digits) > 3 {
		return 0, fmt.Errorf("invalid prefix length %q", digits)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > max {
		return 0, fmt.Errorf("invalid prefix length %q", digits)
	}
	return n, nil
}

func parseNetwork(m mechanism, arg string) (netip.Prefix, error) {
	addrText, lenText, hasLen := strings.Cut(arg, "/")
	max := 32
	if m == mechIP6 {
		max = 128
	}
	bits := max
	if hasLen {
		var err error
		if bits, err = parseLength(lenText, max); err != nil {
			return netip.Prefix{}, err
		}
	}
	addr, err := netip.ParseAddr(addrText)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid address %q", addrText)
	}
	if (m == mechIP4) != addr.Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an %s address", addrText, m)
	}
	return addr.Prefix(bits)
}

// checkDomainSpec checks a domain-spec (RFC 7208 section 7.1):
// a macro-string ending in a macro-expand or in "." toplabel ["."].
func checkDomainSpec(s string) error {
	if s == "" {
		return errors.New("empty domain-spec")
	}
	if err := checkMacroString(s, false); err != nil {
		return err
	}
	if strings.HasSuffix(s, "}") {
		// Ends with a macro-expand "%{...}" if the brace closes one.
		if i := strings.LastIndex(s, "%{"); i >= 0 && !strings.Contains(s[i:len(s)-1], "}") && !escapedPercent(s, i) {
			return nil
		}
	}
	if len(s) >= 2 && s[len(s)-2] == '%' && strings.ContainsRune("%_-", rune(s[len(s)-1])) && !escapedPercent(s, len(s)-2) {
		return nil
	}
	name := strings.TrimSuffix(s, ".")
	i := strings.LastIndexByte(name, '.')
	if i < 0 || !isTopLabel(name[i+1:]) {
		return fmt.Errorf("domain-spec %q does not end with a top-level label", s)
	}
	return nil
}

// escapedPercent reports whether the % at s[i] is the second half of a
// "%%".
func escapedPercent(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '%'; j-- {
		n++
	}
	return n%2 == 1
}

// isTopLabel: ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ).
func isTopLabel(l string) bool {
	if l == "" {
		return false
	}
	hasAlpha := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case isAlpha(c):
			hasAlpha = true
		case isDigit(c):
		case c == '-' && i > 0 && i < len(l)-1:
			hasAlpha = true // the second form: a hyphen inside
		default:
			return false
		}
	}
	return hasAlpha
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
