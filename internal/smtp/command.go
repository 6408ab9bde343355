package smtp

import (
	"net/netip"
	"strconv"
	"strings"
)

// Command verbs recognised by ParseCommand.
const (
	VerbEHLO     = "EHLO"
	VerbHELO     = "HELO"
	VerbMAIL     = "MAIL"
	VerbRCPT     = "RCPT"
	VerbDATA     = "DATA"
	VerbBDAT     = "BDAT"
	VerbRSET     = "RSET"
	VerbNOOP     = "NOOP"
	VerbQUIT     = "QUIT"
	VerbVRFY     = "VRFY"
	VerbEXPN     = "EXPN"
	VerbHELP     = "HELP"
	VerbSTARTTLS = "STARTTLS"
	VerbAUTH     = "AUTH"
)

// Command is one parsed command line. Which fields are set depends on Verb.
type Command struct {
	// Verb is the command verb in upper case, one of the Verb* constants.
	Verb string
	// Arg is the argument text after the verb, trimmed of spaces: the
	// domain or address literal of EHLO/HELO (not validated: see
	// ValidDomain), the string of VRFY, EXPN, HELP and NOOP, and the whole
	// argument of AUTH. Empty for the other verbs.
	Arg string
	// Path is the reverse-path of MAIL or the forward-path of RCPT.
	Path Path
	// Params are the ESMTP parameters of MAIL or RCPT, in order.
	Params Params
	// Size is the chunk size of BDAT (RFC 3030 section 2).
	Size int64
	// Last reports the LAST marker of BDAT.
	Last bool
	// Mechanism is the SASL mechanism of AUTH in upper case.
	Mechanism string
	// InitialResponse is AUTH's initial response as sent, still base64;
	// "=" stands for an empty response (RFC 4954 section 4).
	// HasInitialResponse tells an absent one from an empty one.
	InitialResponse    string
	HasInitialResponse bool
}

// Param is one ESMTP parameter of MAIL or RCPT (RFC 5321 section 4.1.2,
// esmtp-param). Keyword is in upper case; Value is as sent, still xtext-
// encoded where the extension says so (see DecodeXtext), and empty when
// the parameter has no "=value".
type Param struct {
	Keyword string
	Value   string
}

// Params is an ordered list of parameters with distinct keywords.
type Params []Param

// Get returns the value of the parameter with the given keyword (compared
// case-insensitively) and whether it is present.
func (ps Params) Get(keyword string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Keyword, keyword) {
			return p.Value, true
		}
	}
	return "", false
}

// String formats the parameters for a command line, each preceded by a
// space, or "" when there are none.
func (ps Params) String() string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteByte(' ')
		b.WriteString(p.Keyword)
		if p.Value != "" {
			b.WriteByte('=')
			b.WriteString(p.Value)
		}
	}
	return b.String()
}

// ParseCommand parses one command line, without its CRLF. Paths and
// parameters must be ASCII, except in a MAIL command that carries the
// SMTPUTF8 parameter. Errors are *Reply values to send as they are.
func ParseCommand(line []byte) (Command, error) {
	return parseCommand(line, false)
}

// ParseCommandUTF8 is ParseCommand for the rest of a transaction whose MAIL
// command carried SMTPUTF8: RCPT paths and parameter values may hold UTF-8
// (RFC 6531 section 3.3).
func ParseCommandUTF8(line []byte) (Command, error) {
	return parseCommand(line, true)
}

func syntaxErr(text string) *Reply {
	return &Reply{Code: 501, Enhanced: "5.5.4", Text: "Syntax error: " + text}
}

func parseCommand(line []byte, utf8 bool) (Command, error) {
	for _, c := range line {
		if c < ' ' || c == 0x7f {
			return Command{}, &Reply{Code: 500, Enhanced: "5.5.2", Text: "Syntax error: control character in command"}
		}
	}
	s := string(line)
	verb, arg, _ := strings.Cut(s, " ")
	if len(verb) > 8 {
		return Command{}, ErrUnknownCommand
	}
	cmd := Command{Verb: strings.ToUpper(verb)}
	arg = strings.Trim(arg, " ")
	switch cmd.Verb {
	case VerbEHLO, VerbHELO, VerbVRFY, VerbEXPN:
		if arg == "" {
			return Command{}, syntaxErr(cmd.Verb + " requires an argument")
		}
		cmd.Arg = arg
	case VerbNOOP, VerbHELP:
		cmd.Arg = arg
	case VerbDATA, VerbRSET, VerbQUIT, VerbSTARTTLS:
		if arg != "" {
			return Command{}, syntaxErr(cmd.Verb + " takes no arguments")
		}
	case VerbMAIL:
		return parseMailRcpt(cmd, arg, "FROM:", utf8)
	case VerbRCPT:
		return parseMailRcpt(cmd, arg, "TO:", utf8)
	case VerbBDAT:
		return parseBDAT(cmd, arg)
	case VerbAUTH:
		return parseAuth(cmd, arg)
	default:
		return Command{}, ErrUnknownCommand
	}
	return cmd, nil
}

// parseMailRcpt parses "FROM:<path> params" or "TO:<path> params" (RFC 5321
// sections 4.1.1.2 and 4.1.1.3). A space after the colon is tolerated;
// many clients send it.
func parseMailRcpt(cmd Command, arg, prefix string, utf8 bool) (Command, error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return Command{}, syntaxErr(cmd.Verb + " requires " + prefix + "<address>")
	}
	arg = strings.TrimLeft(arg[len(prefix):], " ")
	end := pathEnd(arg)
	if end < 0 {
		return Command{}, syntaxErr("address must be in angle brackets")
	}
	rawPath, rest := arg[:end+1], arg[end+1:]
	if rest != "" && rest[0] != ' ' {
		return Command{}, syntaxErr("space required after the address")
	}
	params, err := parseParams(rest)
	if err != nil {
		return Command{}, err
	}
	if cmd.Verb == VerbMAIL {
		if _, ok := params.Get("SMTPUTF8"); ok {
			utf8 = true
		}
	}
	if !utf8 {
		for _, p := range params {
			if !isASCII(p.Value) {
				return Command{}, &Reply{Code: 501, Enhanced: "5.5.4", Text: "Non-ASCII parameter requires SMTPUTF8"}
			}
		}
	}
	opt := PathOptions{UTF8: utf8, Null: cmd.Verb == VerbMAIL, Postmaster: cmd.Verb == VerbRCPT}
	p, err := ParsePath(rawPath, opt)
	if err != nil {
		if r, ok := err.(*Reply); ok && cmd.Verb == VerbMAIL && r.Enhanced == "5.1.3" {
			// RFC 3463 X.1.7: bad sender's mailbox address syntax.
			err = &Reply{Code: r.Code, Enhanced: "5.1.7", Text: r.Text}
		}
		return Command{}, err
	}
	cmd.Path, cmd.Params = p, params
	return cmd, nil
}

// parseParams parses esmtp-params (RFC 5321 section 4.1.2): keyword
// (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"), optionally "=" and a value of
// printable characters other than "=" and SP (UTF-8 per RFC 6531 is
// checked by the caller). Runs of spaces are tolerated. A repeated
// keyword is refused with 555 (RFC 5321 section 4.1.1.11): which of two
// SIZE values to believe is not ours to guess.
func parseParams(s string) (Params, error) {
	var ps Params
	for word := range strings.FieldsSeq(s) {
		kw, val, hasVal := strings.Cut(word, "=")
		if !validKeyword(kw) {
			return nil, &Reply{Code: 501, Enhanced: "5.5.4", Text: "Syntax error: bad parameter keyword"}
		}
		if hasVal && !validParamValue(val) {
			return nil, &Reply{Code: 501, Enhanced: "5.5.4", Text: "Syntax error: bad value for parameter " + strings.ToUpper(kw)}
		}
		if _, dup := ps.Get(kw); dup {
			return nil, &Reply{Code: 555, Enhanced: "5.5.4", Text: "Duplicate parameter " + strings.ToUpper(kw)}
		}
		ps = append(ps, Param{Keyword: strings.ToUpper(kw), Value: val})
	}
	return ps, nil
}

func validKeyword(s string) bool {
	if s == "" || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

func validParamValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '=' || c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// parseBDAT parses "chunk-size [SP LAST]" (RFC 3030 section 2).
func parseBDAT(cmd Command, arg string) (Command, error) {
	fields := strings.Fields(arg)
	if len(fields) == 0 || len(fields) > 2 {
		return Command{}, syntaxErr("BDAT requires a size and optionally LAST")
	}
	size, ok := parseDigits(fields[0])
	if !ok {
		return Command{}, syntaxErr("bad BDAT size")
	}
	cmd.Size = size
	if len(fields) == 2 {
		if !strings.EqualFold(fields[1], "LAST") {
			return Command{}, syntaxErr("BDAT end marker must be LAST")
		}
		cmd.Last = true
	}
	return cmd, nil
}

// parseDigits parses 1*DIGIT into a non-negative int64, refusing overflow.
func parseDigits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseAuth parses "mechanism [SP initial-response]" (RFC 4954 section 4).
// Mechanism names are 1 to 20 of upper-case letters, digits, "-" and "_"
// (RFC 4422 section 3.1), accepted in any case.
func parseAuth(cmd Command, arg string) (Command, error) {
	fields := strings.Fields(arg)
	if len(fields) == 0 || len(fields) > 2 {
		return Command{}, syntaxErr("AUTH requires a mechanism and optionally an initial response")
	}
	mech := strings.ToUpper(fields[0])
	if len(mech) > 20 {
		return Command{}, syntaxErr("bad SASL mechanism name")
	}
	for i := 0; i < len(mech); i++ {
		if c := mech[i]; !(c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_') {
			return Command{}, syntaxErr("bad SASL mechanism name")
		}
	}
	cmd.Arg, cmd.Mechanism = arg, mech
	if len(fields) == 2 {
		cmd.InitialResponse, cmd.HasInitialResponse = fields[1], true
	}
	return cmd, nil
}

// ValidDomain reports whether s is a syntactically valid Domain of
// RFC 5321 section 4.1.2 (ASCII only; use for EHLO arguments).
func ValidDomain(s string) bool {
	return isASCII(s) && validDomain(s)
}

// ParseAddressLiteral parses "[192.0.2.1]" or "[IPv6:2001:db8::1]" as in
// EHLO arguments (RFC 5321 section 4.1.3).
func ParseAddressLiteral(s string) (netip.Addr, bool) {
	return parseAddrLiteral(s)
}
