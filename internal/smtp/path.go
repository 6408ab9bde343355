package smtp

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Limits of RFC 5321 section 4.5.3.1, in octets.
const (
	MaxLocalPart = 64  // section 4.5.3.1.1, as written on the wire
	MaxDomain    = 255 // section 4.5.3.1.2
	MaxPath      = 256 // section 4.5.3.1.3, brackets and route included
	maxLabel     = 63  // RFC 1035 section 2.3.4
)

// Path is a parsed reverse-path or forward-path (RFC 5321 section
// 4.1.2), or a mailbox given without angle brackets.
//
// Exactly one of these holds: the path is null ("<>": everything empty);
// it is the bare "<Postmaster>" of RFC 5321 section 4.1.1.3 (Local set,
// Domain empty, IPLiteral invalid); Domain is set; or IPLiteral is valid.
type Path struct {
	// Local is the local part with quoting and quoted-pairs removed: for
	// <"a@evil"@ours.example> it is `a@evil`. Its case is kept: only the
	// receiving domain may interpret it (RFC 5321 section 2.4).
	Local string
	// Quoted reports that the local part was a Quoted-string on the wire.
	// A relay check must treat such local parts as opaque; never re-parse
	// Local as an address.
	Quoted bool
	// Domain is the domain as sent: case kept, ASCII or, with SMTPUTF8,
	// U-labels (RFC 6531 section 3.3). It is empty for an address
	// literal. Compare domains case-insensitively; converting U-labels to
	// A-labels is the caller's job.
	Domain string
	// IPLiteral is the address of an address literal ("[192.0.2.1]",
	// "[IPv6:2001:db8::1]"), as written: an IPv4-mapped IPv6 literal stays
	// an IPv6 address. Zones and general address literals are refused.
	IPLiteral netip.Addr
	// HadRoute reports that an obsolete source route ("@a,@b:") preceded
	// the mailbox. It was checked for syntax and dropped, as RFC 5321
	// section 4.1.2 and appendix C require.
	HadRoute bool
}

// PathOptions says what ParsePath accepts beyond an ordinary mailbox.
type PathOptions struct {
	// UTF8 allows non-ASCII UTF-8 in the local part and domain
	// (RFC 6531 section 3.3); set it only when the transaction's MAIL
	// command carried SMTPUTF8.
	UTF8 bool
	// Null allows the null reverse-path "<>" (MAIL FROM).
	Null bool
	// Postmaster allows "<Postmaster>" without a domain (RCPT TO, RFC 5321
	// section 4.1.1.3). The local part is matched case-insensitively and
	// returned as sent.
	Postmaster bool
}

// IsNull reports whether p is the null path "<>".
func (p Path) IsNull() bool {
	return p.Local == "" && p.Domain == "" && !p.IPLiteral.IsValid()
}

// IsPostmaster reports whether p is the domain-less "<Postmaster>".
func (p Path) IsPostmaster() bool {
	return p.Local != "" && p.Domain == "" && !p.IPLiteral.IsValid()
}

// UTF8 reports whether the path holds non-ASCII characters, so that
// sending it requires SMTPUTF8 (RFC 6531 section 3.4).
func (p Path) UTF8() bool {
	return !isASCII(p.Local) || !isASCII(p.Domain)
}

// String returns the mailbox in canonical wire form, without angle
// brackets: the local part as a Dot-string when it is one, otherwise
// quoted with only `"` and `\` escaped (RFC 5321 section 4.1.2 asks for
// the Dot-string form where possible); then "@" and the domain or address
// literal. The null path gives "" and <Postmaster> gives its local part.
// Route information is not reproduced.
func (p Path) String() string {
	if p.IsNull() {
		return ""
	}
	var b strings.Builder
	b.Grow(len(p.Local) + len(p.Domain) + 8)
	if isDotString(p.Local) {
		b.WriteString(p.Local)
	} else {
		b.WriteByte('"')
		for i := 0; i < len(p.Local); i++ {
			if c := p.Local[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p.Local[i])
		}
		b.WriteByte('"')
	}
	if p.IsPostmaster() {
		return b.String()
	}
	b.WriteByte('@')
	switch {
	case p.Domain != "":
		b.WriteString(p.Domain)
	case p.IPLiteral.Is4():
		b.WriteString("[" + p.IPLiteral.String() + "]")
	default:
		b.WriteString("[IPv6:" + p.IPLiteral.String() + "]")
	}
	return b.String()
}

// ParsePath parses a Path in angle brackets, as in "<user@example.org>".
// Errors are *Reply values with code 501 and enhanced code 5.1.3, or 553
// 5.6.7 for non-ASCII without opt.UTF8 (RFC 6531 section 3.5).
func ParsePath(s string, opt PathOptions) (Path, error) {
	p, rest, err := parsePath(s, opt)
	if err != nil {
		return Path{}, err
	}
	if rest != "" {
		return Path{}, pathErr("unexpected text after the path")
	}
	return p, nil
}

// ParseMailbox parses a Mailbox without angle brackets or route, as in
// configuration and alias targets: "user@example.org".
func ParseMailbox(s string, utf8 bool) (Path, error) {
	if err := checkChars(s, utf8); err != nil {
		return Path{}, err
	}
	p, rest, err := parseMailbox(s)
	if err != nil {
		return Path{}, err
	}
	if rest != "" {
		return Path{}, pathErr("unexpected text after the address")
	}
	return p, nil
}

func pathErr(why string) *Reply {
	return &Reply{Code: 501, Enhanced: "5.1.3", Text: "Bad address syntax: " + why}
}

// parsePath parses "<...>" at the start of s and returns what follows.
func parsePath(s string, opt PathOptions) (Path, string, error) {
	end := pathEnd(s)
	if end < 0 {
		return Path{}, "", pathErr("path must be in angle brackets")
	}
	if end+1 > MaxPath {
		return Path{}, "", &Reply{Code: 501, Enhanced: "5.1.3", Text: "Path too long"}
	}
	inner, rest := s[1:end], s[end+1:]
	if err := checkChars(inner, opt.UTF8); err != nil {
		return Path{}, "", err
	}
	if inner == "" {
		if !opt.Null {
			return Path{}, "", pathErr("null path not allowed here")
		}
		return Path{}, rest, nil
	}
	if opt.Postmaster && strings.EqualFold(inner, "postmaster") {
		return Path{Local: inner}, rest, nil
	}
	var p Path
	if inner[0] == '@' {
		colon := strings.IndexByte(inner, ':')
		if colon < 0 || !validRoute(inner[:colon]) {
			return Path{}, "", pathErr("bad source route")
		}
		p.HadRoute = true
		inner = inner[colon+1:]
	}
	mb, tail, err := parseMailbox(inner)
	if err != nil {
		return Path{}, "", err
	}
	if tail != "" {
		return Path{}, "", pathErr("unexpected text after the address")
	}
	mb.HadRoute = p.HadRoute
	return mb, rest, nil
}

// pathEnd finds the ">" closing a path that starts at s[0], skipping
// quoted strings; -1 if s does not start with "<" or has no end.
func pathEnd(s string) int {
	if s == "" || s[0] != '<' {
		return -1
	}
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return i
		}
	}
	return -1
}

// checkChars refuses controls everywhere and non-ASCII unless allowed.
func checkChars(s string, allowUTF8 bool) error {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == 0x7f {
			return pathErr("control character")
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return nil
	}
	if !allowUTF8 {
		return &Reply{Code: 553, Enhanced: "5.6.7", Text: "Non-ASCII address requires SMTPUTF8"}
	}
	if !utf8.ValidString(s) {
		return pathErr("invalid UTF-8")
	}
	return nil
}

func validRoute(s string) bool {
	for _, at := range strings.Split(s, ",") {
		if len(at) < 2 || at[0] != '@' || !validDomain(at[1:]) {
			return false
		}
	}
	return true
}

// parseMailbox parses Local-part "@" (Domain / address-literal) at the
// start of s (RFC 5321 section 4.1.2) and returns what follows.
func parseMailbox(s string) (Path, string, error) {
	var p Path
	var rest string
	if strings.HasPrefix(s, `"`) {
		local, n, ok := parseQuoted(s)
		if !ok {
			return Path{}, "", pathErr("bad quoted local part")
		}
		if n > MaxLocalPart {
			return Path{}, "", pathErr("local part too long")
		}
		p.Local, p.Quoted, rest = local, true, s[n:]
	} else {
		at := strings.IndexByte(s, '@')
		if at < 0 {
			return Path{}, "", pathErr("address must be qualified with a domain")
		}
		if !isDotString(s[:at]) {
			return Path{}, "", pathErr("bad local part")
		}
		if at > MaxLocalPart {
			return Path{}, "", pathErr("local part too long")
		}
		p.Local, rest = s[:at], s[at:]
	}
	if p.Local == "" {
		return Path{}, "", pathErr("empty local part")
	}
	if !strings.HasPrefix(rest, "@") {
		return Path{}, "", pathErr("address must be qualified with a domain")
	}
	dom := rest[1:]
	end := domainEnd(dom)
	dom, rest = dom[:end], dom[end:]
	if strings.HasPrefix(dom, "[") {
		ip, ok := parseAddrLiteral(dom)
		if !ok {
			return Path{}, "", pathErr("bad address literal")
		}
		p.IPLiteral = ip
		return p, rest, nil
	}
	if !validDomain(dom) {
		return Path{}, "", pathErr("bad domain")
	}
	p.Domain = dom
	return p, rest, nil
}

// domainEnd returns the length of the domain or literal at the start of
// s: up to a character that cannot appear in either.
func domainEnd(s string) int {
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			return i + 1
		}
		return len(s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '>' || c == ' ' || c == ',' || c == '@' || c == ':' {
			return i
		}
	}
	return len(s)
}

// parseQuoted parses a Quoted-string (RFC 5321 section 4.1.2, extended
// by RFC 6531) at the start of s. It returns the content without quotes
// and escapes, and the length consumed.
func parseQuoted(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, true
		case c == '\\':
			// quoted-pairSMTP = %d92 %d32-126
			if i+1 >= len(s) || s[i+1] < 32 || s[i+1] > 126 {
				return "", 0, false
			}
			i++
			b.WriteByte(s[i])
		case c >= 32 && c <= 126 || c >= 0x80:
			// qtextSMTP is %d32-33 / %d35-91 / %d93-126; '"' and '\'
			// were handled above. Non-ASCII passed checkChars.
			b.WriteByte(c)
		default:
			return "", 0, false
		}
	}
	return "", 0, false
}

// isDotString reports whether s is a Dot-string: atoms of atext joined
// by single dots (RFC 5321 section 4.1.2; RFC 6531 adds UTF-8).
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && !isAtext(c) {
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	return isAlnum(c) || c >= 0x80 || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c)
}

// validDomain checks Domain (RFC 5321 section 4.1.2): dot-separated
// labels of letters, digits and inner hyphens, at most 63 octets each,
// 255 in all, no trailing dot. Non-ASCII octets are allowed (U-labels,
// RFC 6531); whether they were permitted was decided by checkChars.
func validDomain(s string) bool {
	if s == "" || len(s) > MaxDomain {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > maxLabel || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' && c < 0x80 {
				return false
			}
		}
	}
	return true
}

// parseAddrLiteral parses "[IPv4]" or "[IPv6:addr]" (RFC 5321 section
// 4.1.3). General-address-literals are refused: nothing can deliver to them.
func parseAddrLiteral(s string) (netip.Addr, bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, false
	}
	inner := s[1 : len(s)-1]
	if len(inner) > 5 && strings.EqualFold(inner[:5], "IPv6:") {
		ip, err := netip.ParseAddr(inner[5:])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return netip.Addr{}, false
		}
		return ip, true
	}
	ip, err := netip.ParseAddr(inner)
	if err != nil || !ip.Is4() {
		return netip.Addr{}, false
	}
	return ip, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
