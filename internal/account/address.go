package account

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// ErrInvalid is wrapped by every error that rejects input: a malformed
// address, domain or password, a negative quota. Callers map it to exit
// code 2 on the command line and to SMTP reply 501.
var ErrInvalid = errors.New("invalid")

// Limits on address lengths, in octets of the normalised form.
const (
	// MaxLocalLength is the longest local part (RFC 5321 section 4.5.3.1.1).
	MaxLocalLength = 64
	// MaxDomainLength is the longest domain name without a trailing dot
	// (RFC 1035 section 2.3.4: 255 octets on the wire).
	MaxDomainLength = 253
	// MaxLabelLength is the longest domain label (RFC 1035 section 2.3.4).
	MaxLabelLength = 63
	// MaxAddressLength is the longest address: a path holds at most 256
	// octets including the angle brackets (RFC 5321 section 4.5.3.1.3).
	MaxAddressLength = 254
)

// maxInput bounds the work done on input that cannot possibly be valid:
// normalisation can shrink text, but not by this much.
const maxInput = 4 * MaxAddressLength

// Address is a normalised mail address. Local is the local part without
// quoting, NFC-normalised and lower case; Domain is the A-label form, lower
// case, without a trailing dot. A catch-all address (see ParseCatchAll) has
// an empty Local.
type Address struct {
	Local  string
	Domain string
}

// String returns the address as written in SMTP: the local part quoted only
// when it is not a dot-atom (RFC 5321 section 4.1.2), "@domain" for a
// catch-all.
func (a Address) String() string {
	return quoteLocal(a.Local) + "@" + a.Domain
}

// IsCatchAll reports whether a stands for every address of its domain.
func (a Address) IsCatchAll() bool { return a.Local == "" }

// invalidf returns an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w "+format, append([]any{ErrInvalid}, args...)...)
}

// ParseAddress parses and normalises a mail address such as
// "User@Bücher.example" (giving "user@xn--bcher-kva.example"). The local part
// is a dot-atom or a quoted string (RFC 5321 section 4.1.2) and may contain
// UTF-8 (RFC 6531 section 3.3); the domain is a host name, never an address
// literal, since only names are hosted. Angle brackets, comments and
// surrounding spaces are not accepted: callers strip the SMTP path syntax.
func ParseAddress(s string) (Address, error) {
	if len(s) > maxInput {
		return Address{}, invalidf("address: longer than %d octets", MaxAddressLength)
	}
	if !utf8.ValidString(s) {
		return Address{}, invalidf("address %q: not valid UTF-8", s)
	}
	local, domain, err := splitAddress(s)
	if err != nil {
		return Address{}, invalidf("address %q: %v", s, err)
	}
	a, err := normalizeAddress(local, domain)
	if err != nil {
		return Address{}, invalidf("address %q: %v", s, err)
	}
	return a, nil
}

// ParseCatchAll parses "@domain", the address of a catch-all alias, and
// returns it with an empty Local.
func ParseCatchAll(s string) (Address, error) {
	if len(s) > maxInput {
		return Address{}, invalidf("catch-all: longer than %d octets", MaxAddressLength)
	}
	rest, ok := strings.CutPrefix(s, "@")
	if !ok {
		return Address{}, invalidf("catch-all %q: does not start with @", s)
	}
	d, err := normalizeDomain(rest)
	if err != nil {
		return Address{}, invalidf("catch-all %q: %v", s, err)
	}
	return Address{Domain: d}, nil
}

// NormalizeDomain returns the A-label form of a domain name to be hosted:
// mapped and checked with the IDNA 2008 lookup profile (RFC 5891 section 5,
// with the UTS #46 mapping of golang.org/x/net/idna), lower case, one
// trailing dot removed. It rejects address literals and IP addresses, empty
// or over-long labels, names longer than 253 octets, single-label names (RFC
// 7085: they do not work for mail) and all-numeric top-level labels.
func NormalizeDomain(s string) (string, error) {
	if len(s) > maxInput {
		return "", invalidf("domain: longer than %d octets", MaxDomainLength)
	}
	d, err := normalizeDomain(strings.TrimSuffix(s, "."))
	if err != nil {
		return "", invalidf("domain %q: %v", s, err)
	}
	return d, nil
}

// splitAddress separates the local part (unquoted) from the domain. The
// local part ends at its closing quote or, for a dot-atom, at the first "@",
// since "@" is not atext.
func splitAddress(s string) (local, domain string, err error) {
	if strings.HasPrefix(s, `"`) {
		local, n, err := unquote(s)
		if err != nil {
			return "", "", err
		}
		rest, ok := strings.CutPrefix(s[n:], "@")
		if !ok {
			return "", "", errors.New(`quoted local part not followed by "@"`)
		}
		if local == "" {
			return "", "", errors.New("empty local part")
		}
		return local, rest, nil
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok {
		return "", "", errors.New(`no "@"`)
	}
	if strings.Contains(domain, "@") {
		return "", "", errors.New(`more than one "@"`)
	}
	if err := checkDotAtom(local); err != nil {
		return "", "", err
	}
	return local, domain, nil
}

// unquote decodes the quoted string at the start of s and returns its
// content and the length of the quoted string, quotes included.
// Quoted-string, QcontentSMTP and quoted-pairSMTP are from RFC 5321 section
// 4.1.2; RFC 6531 section 3.3 adds UTF-8 to qtextSMTP.
func unquote(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			return b.String(), i + 1, nil
		case r == '\\':
			if i+1 >= len(s) || s[i+1] < 32 || s[i+1] > 126 {
				return "", 0, errors.New("bad quoted pair in local part")
			}
			b.WriteByte(s[i+1])
			i += 2
			continue
		case r < utf8.RuneSelf && (r < 32 || r > 126):
			return "", 0, fmt.Errorf("control character %U in local part", r)
		case r >= utf8.RuneSelf && !validUTF8Char(r):
			return "", 0, fmt.Errorf("character %U not allowed in local part", r)
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return "", 0, errors.New("unterminated quoted local part")
}

// checkDotAtom checks s is a Dot-string (RFC 5321 section 4.1.2): atoms of
// atext, UTF-8 included (RFC 6531 section 3.3), joined by single dots.
func checkDotAtom(s string) error {
	if s == "" {
		return errors.New("empty local part")
	}
	for atom := range strings.SplitSeq(s, ".") {
		if atom == "" {
			return errors.New("empty atom in local part (leading, trailing or double dot)")
		}
		for _, r := range atom {
			if !isAtext(r) {
				return fmt.Errorf("character %q not allowed in unquoted local part", r)
			}
		}
	}
	return nil
}

// isAtext reports whether r is atext (RFC 5322 section 3.2.3) or acceptable
// UTF-8.
func isAtext(r rune) bool {
	if r >= utf8.RuneSelf {
		return validUTF8Char(r)
	}
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// validUTF8Char accepts a non-ASCII rune if it is printable. RFC 6531 allows
// any UTF-8 here; Sealpost refuses invisible and control characters (C1
// controls, format characters, odd spaces) because two addresses that look
// the same must be the same. Callers have checked the text is valid UTF-8,
// so U+FFFD here is the real character.
func validUTF8Char(r rune) bool {
	return unicode.IsPrint(r)
}

// normalizeAddress normalises an unquoted local part and a domain and checks
// the lengths of the result.
//
// The local part is NFC-normalised (RFC 6532 section 3.1 recommends NFC) and
// lower-cased. RFC 5321 section 2.4 lets the receiving host treat local parts
// as case-sensitive; Sealpost does not, because no one expects "Anna" and
// "anna" to be different people, and one mailbox per spelling invites
// misdelivery and impersonation. Lower-casing again after NFC, and NFC again
// after that, makes the result a fixed point, so parsing String() gives the
// same Address.
func normalizeAddress(local, domain string) (Address, error) {
	local = foldLocal(local)
	d, err := normalizeDomain(domain)
	if err != nil {
		return Address{}, err
	}
	a := Address{Local: local, Domain: d}
	if err := checkLocal(a.Local); err != nil {
		return Address{}, err
	}
	if n := len(a.String()); n > MaxAddressLength {
		return Address{}, fmt.Errorf("address is %d octets, more than %d", n, MaxAddressLength)
	}
	return a, nil
}

// foldLocal applies NFC and lower-casing until nothing changes (at most a
// few rounds: each round only moves towards the fixed point).
func foldLocal(s string) string {
	for range 4 {
		t := norm.NFC.String(strings.ToLower(norm.NFC.String(s)))
		if t == s {
			break
		}
		s = t
	}
	return s
}

// checkLocal checks the normalised local part: still valid text, and within
// the length limit once quoted as it will be sent.
func checkLocal(local string) error {
	if local == "" {
		return errors.New("empty local part")
	}
	for _, r := range local {
		if r < utf8.RuneSelf && (r < 32 || r > 126) {
			return fmt.Errorf("control character %U in local part", r)
		}
		if r >= utf8.RuneSelf && !validUTF8Char(r) {
			return fmt.Errorf("character %U not allowed in local part", r)
		}
	}
	if n := len(quoteLocal(local)); n > MaxLocalLength {
		return fmt.Errorf("local part is %d octets, more than %d", n, MaxLocalLength)
	}
	return nil
}

// quoteLocal returns the local part as a dot-atom when it is one, else as a
// quoted string with '"' and '\' escaped.
func quoteLocal(local string) string {
	if local == "" || checkDotAtom(local) == nil {
		return local
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range local {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// normalizeDomain does the work of NormalizeDomain on a name without a
// trailing dot.
func normalizeDomain(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty domain")
	}
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	if strings.HasPrefix(s, "[") {
		return "", errors.New("address literals are not hosted")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", errors.New("an IP address is not a domain name")
	}
	d, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("domain: %v", err)
	}
	d = strings.ToLower(d)
	if err := checkHostname(d); err != nil {
		return "", err
	}
	return d, nil
}

// checkHostname checks an A-label domain against RFC 1035 section 2.3.1 (as
// relaxed by RFC 1123 section 2.1) and the limits of section 2.3.4.
func checkHostname(d string) error {
	if len(d) > MaxDomainLength {
		return fmt.Errorf("domain is %d octets, more than %d", len(d), MaxDomainLength)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return errors.New("single-label domain names are not usable for mail")
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return err
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return errors.New("all-numeric top-level label")
	}
	return nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return errors.New("empty label in domain")
	case len(l) > MaxLabelLength:
		return fmt.Errorf("label of %d octets, more than %d", len(l), MaxLabelLength)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("character %q not allowed in domain", c)
		}
	}
	return nil
}
