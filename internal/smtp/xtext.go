package smtp

import (
	"errors"
	"strings"
)

// ErrBadXtext is returned by DecodeXtext for malformed input.
var ErrBadXtext = errors.New("smtp: malformed xtext")

// DecodeXtext decodes xtext (RFC 3461 section 4): printable ASCII other
// than "+" and "=" stands for itself, and "+" followed by two upper-case
// hexadecimal digits stands for that octet. ENVID and ORCPT values use it.
func DecodeXtext(s string) (string, error) {
	if strings.IndexByte(s, '+') < 0 {
		for i := 0; i < len(s); i++ {
			if !isXchar(s[i]) {
				return "", ErrBadXtext
			}
		}
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
				return "", ErrBadXtext
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		case isXchar(c):
			b.WriteByte(c)
		default:
			return "", ErrBadXtext
		}
	}
	return b.String(), nil
}

// EncodeXtext encodes s as xtext (RFC 3461 section 4).
func EncodeXtext(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; isXchar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('+')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
	}
	return b.String()
}

func isXchar(c byte) bool { return c >= '!' && c <= '~' && c != '+' && c != '=' }

func isUpperHex(c byte) bool { return isDigit(c) || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c - 'A' + 10
}
