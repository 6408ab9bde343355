package imap

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// RFC 3501 §5.1.3: modified BASE64 uses "," instead of "/" and no padding.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// ErrBadUTF7 is returned by DecodeMailboxUTF7 for a name that is not in
// canonical modified UTF-7.
var ErrBadUTF7 = errors.New("imap: invalid modified UTF-7 mailbox name")

// EncodeMailboxUTF7 encodes a UTF-8 mailbox name in modified UTF-7
// (RFC 3501 §5.1.3), for IMAP4rev1 clients that have not enabled
// UTF8=ACCEPT. Invalid UTF-8 bytes are encoded as U+FFFD.
func EncodeMailboxUTF7(name string) string {
	var b strings.Builder
	var run []uint16
	flush := func() {
		if run == nil {
			return
		}
		buf := make([]byte, 0, 2*len(run))
		for _, u := range run {
			buf = append(buf, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = nil
	}
	for _, r := range name {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			if run == nil {
				run = []uint16{}
			}
			run = utf16.AppendRune(run, r)
		}
	}
	flush()
	return b.String()
}

// DecodeMailboxUTF7 decodes a modified UTF-7 mailbox name to UTF-8. Names
// that are not in the canonical form EncodeMailboxUTF7 produces (8-bit or
// control bytes, printable ASCII or lone surrogates inside base64, bad
// padding bits, adjacent encoded runs) are refused with ErrBadUTF7.
func DecodeMailboxUTF7(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrBadUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", ErrBadUTF7
		}
		enc := s[i+1 : i+1+end]
		i += end + 1
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := mutf7.Strict().DecodeString(enc)
		if err != nil || len(raw)%2 != 0 {
			return "", ErrBadUTF7
		}
		units := make([]uint16, len(raw)/2)
		for j := range units {
			units[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		for j := 0; j < len(units); j++ {
			r := rune(units[j])
			if utf16.IsSurrogate(r) {
				if j+1 >= len(units) {
					return "", ErrBadUTF7
				}
				r = utf16.DecodeRune(r, rune(units[j+1]))
				j++
				if r == utf8.RuneError {
					return "", ErrBadUTF7
				}
			}
			if r >= 0x20 && r <= 0x7e {
				return "", ErrBadUTF7
			}
			b.WriteRune(r)
		}
	}
	out := b.String()
	// Canonical form only: one name, one spelling (RFC 3501 §5.1.3 forbids
	// adjacent encoded runs and encoded printable ASCII).
	if EncodeMailboxUTF7(out) != s {
		return "", ErrBadUTF7
	}
	return out, nil
}
