package smtp

import (
	"strconv"
	"strings"
)

// Extensions are the service extensions a server announced in its EHLO
// reply (RFC 5321 section 4.1.1.1). Keywords are compared
// case-insensitively, as the RFC requires.
type Extensions struct {
	// Domain is the first word of the first line: the server's name.
	Domain string
	ext    map[string][]string
}

// ParseEHLO interprets the lines of a 250 reply to EHLO, as returned by
// ReadReply. Lines that are not a well-formed ehlo-line are ignored. The
// obsolete "AUTH=mech" form some servers still send is read as AUTH.
func ParseEHLO(lines []string) Extensions {
	e := Extensions{ext: make(map[string][]string)}
	if len(lines) == 0 {
		return e
	}
	if f := strings.Fields(lines[0]); len(f) > 0 {
		e.Domain = f[0]
	}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		kw := strings.ToUpper(f[0])
		params := f[1:]
		if rest, ok := strings.CutPrefix(kw, "AUTH="); ok {
			kw, params = "AUTH", append([]string{rest}, params...)
		}
		if !validKeyword(kw) {
			continue
		}
		if kw == "AUTH" {
			for i := range params {
				params[i] = strings.ToUpper(params[i])
			}
			e.ext[kw] = append(e.ext[kw], params...)
			continue
		}
		if _, dup := e.ext[kw]; !dup {
			e.ext[kw] = params
		}
	}
	return e
}

// Has reports whether keyword was announced.
func (e Extensions) Has(keyword string) bool {
	_, ok := e.ext[strings.ToUpper(keyword)]
	return ok
}

// Params returns the parameters announced with keyword.
func (e Extensions) Params(keyword string) []string {
	return e.ext[strings.ToUpper(keyword)]
}

// Size returns the SIZE limit (RFC 1870 section 4) and whether SIZE was
// announced. A limit of 0 means the server announced none.
func (e Extensions) Size() (int64, bool) {
	p, ok := e.ext["SIZE"]
	if !ok {
		return 0, false
	}
	if len(p) == 0 {
		return 0, true
	}
	n, err := strconv.ParseInt(p[0], 10, 64)
	if err != nil || n < 0 {
		return 0, true
	}
	return n, true
}

// AuthMechanisms returns the SASL mechanisms announced with AUTH
// (RFC 4954 section 3), in upper case.
func (e Extensions) AuthMechanisms() []string {
	return e.ext["AUTH"]
}
