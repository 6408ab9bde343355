package authres

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldName is the header field name this package writes.
const FieldName = "Authentication-Results"

// Result is one method's result (resinfo, RFC 8601 section 2.2).
type Result struct {
	// Method is the authentication method ("spf", "dkim", "dmarc",
	// "arc", "iprev", "auth"), lower case.
	Method string
	// Version is the method version; "" for the default, 1.
	Version string
	// Value is the result keyword ("pass", "fail", ...), lower case.
	Value string
	// Comment is written as a comment after the result, e.g.
	// "p=reject dis=none" for DMARC.
	Comment string
	// Reason is the reason text, written as reason="..."; "" for none.
	Reason string
	// Props are the properties, in order.
	Props []Prop
}

// Prop is one property (propspec): Type.Name=Value, e.g.
// header.d=example.com or smtp.mailfrom=user@example.com.
type Prop struct {
	Type, Name, Value string
}

// Prop returns the value of the first property type.name, or "".
func (r Result) Prop(ptype, name string) string {
	for _, p := range r.Props {
		if strings.EqualFold(p.Type, ptype) && strings.EqualFold(p.Name, name) {
			return p.Value
		}
	}
	return ""
}

// Limits on text from outside, so that a hostile domain or reason cannot
// make the header field unreasonably long.
const (
	maxValueLen   = 255
	maxReasonLen  = 200
	maxCommentLen = 200
	foldAt        = 78
)

// Header returns one Authentication-Results header field for authservID
// with the given results, folded at 78 columns (RFC 5322 section 2.2.3)
// and ending in CRLF. With no results it says "none" (RFC 8601 section
// 2.2).
//
// Every result starts on its own line. Method, result, property type and
// property names must be keywords; a result with any other is an error,
// as it can only come from a bug. Values, reasons and comments may come
// from outside (domains, addresses, DNS text): they are written as tokens
// when they can be and as quoted-strings otherwise, with control
// characters (including CR and LF), invalid UTF-8 and unprintable runes
// replaced by "?", and cut to a bounded length, so they can neither end
// the field, nor start another result or property.
func Header(authservID string, results []Result) (string, error) {
	// The field is built in buffers on the stack, so that the string
	// returned is the only allocation unless the field is unusually long
	// (a usual one is 300 to 600 bytes). text holds one cleaned value at a
	// time, before it is quoted or escaped; appendClean cuts values to at
	// most maxValueLen+utf8.UTFMax-1 bytes, so text never grows.
	var outBuf [1024]byte
	var textBuf [maxValueLen + utf8.UTFMax]byte
	text := appendClean(textBuf[:0], authservID, maxValueLen)
	if len(text) == 0 {
		return "", fmt.Errorf("authres: invalid authserv-id %q", authservID)
	}
	out := append(outBuf[:0], FieldName+": "...)
	if isToken(text) {
		out = append(out, text...)
	} else {
		out = appendQuoted(out, text)
	}
	out = append(out, ';')
	if len(results) == 0 {
		out = append(out, " none"...)
	}
	for i, r := range results {
		end := ";"
		if i == len(results)-1 {
			end = ""
		}
		var err error
		if out, err = appendResult(out, text, r, end); err != nil {
			return "", err
		}
	}
	out = append(out, "\r\n"...)
	return string(out), nil
}

// The errors of the parts of a result written as they are. They quote
// copies of the words (strconv.Quote) rather than the words themselves
// (fmt): so a Result, its Props included, does not escape, and a caller may
// keep its results and their properties on the stack.

func keywordError(k string) error {
	return errors.New("authres: " + strconv.Quote(k) + " is not a keyword")
}

func versionError(v string) error {
	return errors.New("authres: invalid method version " + strconv.Quote(v))
}

func propError(p Prop) error {
	return errors.New("authres: property " + strconv.Quote(p.Type) + "." + strconv.Quote(p.Name) + " is not made of keywords")
}

// appendResult appends one resinfo on a new line, followed by end. text
// is scratch space for cleaned values.
//
// The keywords (method, result, property types and names) are checked as
// they are written, in the order an error names the first bad one:
// method, result, version, then the properties. A result with a bad one
// is an error, and the field is not returned, so what was written of it
// does not matter.
//
// The words are folded into lines of at most foldAt columns where they can
// (the tab that starts a line counted as one); a single word longer than
// that stays on its own line. Each word is written in place, and the
// space before it turned into a fold if the word, with end when it is the
// last, does not fit.
func appendResult(dst, text []byte, r Result, end string) ([]byte, error) {
	dst = append(dst, "\r\n\t"...)
	cur := 0 // length of the line after its tab
	left := 1 + len(r.Props)
	if r.Comment != "" {
		left++
	}
	if r.Reason != "" {
		left++
	}
	// begin and finish bracket each word: the space that separates it
	// from the word before, then end after the last word, then the fold.
	var start int
	begin := func() {
		if cur > 0 {
			dst = append(dst, ' ')
		}
		start = len(dst)
	}
	finish := func() {
		if left--; left == 0 {
			dst = append(dst, end...)
		}
		dst, cur = fold(dst, start, cur)
	}

	begin()
	var ok bool
	if dst, ok = appendKeyword(dst, r.Method); !ok {
		return dst, keywordError(r.Method)
	}
	if r.Version != "" {
		// The result is checked before the version: see above.
		if !isKeyword(r.Value) {
			return dst, keywordError(r.Value)
		}
		if strings.Trim(r.Version, "0123456789") != "" {
			return dst, versionError(r.Version)
		}
		dst = append(dst, '/')
		dst = append(dst, r.Version...)
	}
	dst = append(dst, '=')
	if dst, ok = appendKeyword(dst, r.Value); !ok {
		return dst, keywordError(r.Value)
	}
	finish()
	// A text that needs nothing replaced nor cut is written from where
	// it is (clean); any other is cleaned into text first.
	if r.Comment != "" {
		begin()
		dst = append(dst, '(')
		if c, ok := clean(r.Comment, maxCommentLen); ok {
			dst = appendEscaped(dst, c, commentSpecials)
		} else {
			dst = appendEscaped(dst, appendClean(text[:0], r.Comment, maxCommentLen), commentSpecials)
		}
		dst = append(dst, ')')
		finish()
	}
	if r.Reason != "" {
		begin()
		dst = append(dst, "reason="...)
		if c, ok := clean(r.Reason, maxReasonLen); ok {
			dst = appendQuoted(dst, c)
		} else {
			dst = appendQuoted(dst, appendClean(text[:0], r.Reason, maxReasonLen))
		}
		finish()
	}
	for _, p := range r.Props {
		begin()
		// The comment and reason cannot fail: a bad property is the
		// first error of the result all the same.
		var typeOK, nameOK bool
		dst, typeOK = appendKeyword(dst, p.Type)
		dst = append(dst, '.')
		dst, nameOK = appendKeyword(dst, p.Name)
		if !typeOK || !nameOK {
			return dst, propError(p)
		}
		dst = append(dst, '=')
		if isPlainToken(p.Value) {
			// Nearly every value (a domain, a selector, an algorithm):
			// nothing to clean, cut or quote.
			dst = append(dst, p.Value...)
		} else if c, ok := clean(p.Value, maxValueLen); ok {
			dst = appendValue(dst, c)
		} else {
			dst = appendValue(dst, appendClean(text[:0], p.Value, maxValueLen))
		}
		finish()
	}
	return dst, nil
}

// clean returns what appendClean makes of s, and true, when that is a part
// of s: s is no longer than max and has nothing to replace.
func clean(s string, max int) (string, bool) {
	if len(s) <= max && printableASCII(s) {
		return strings.Trim(s, " "), true
	}
	return "", false
}

// fold takes the word that ends dst and starts at start, on a line of
// length cur before it; if the word does not fit there, the space before
// it becomes a fold. It returns dst and the new length of the line.
func fold(dst []byte, start, cur int) ([]byte, int) {
	n := len(dst) - start
	switch {
	case cur == 0:
	case 1+cur+1+n > foldAt:
		// CRLF TAB is two bytes longer than the space it replaces:
		// make room, move the word along, and write it.
		dst = append(dst, "\r\n"...)
		copy(dst[start+2:], dst[start:len(dst)-2])
		copy(dst[start-1:], "\r\n\t")
		cur = 0
	default:
		cur++
	}
	return dst, cur + n
}

// appendValue appends a cleaned property value (pvalue) as a token, as
// local-part@domain when it is an address whose domain is a token, or else
// as a quoted-string.
func appendValue[T string | []byte](dst []byte, s T) []byte {
	if isToken(s) {
		return append(dst, s...)
	}
	if at := lastIndexByte(s, '@'); at >= 0 && isToken(s[at+1:]) {
		local := s[:at]
		if len(local) == 0 || isDotAtom(local) {
			return append(dst, s...)
		}
		return append(appendQuoted(dst, local), s[at:]...)
	}
	return appendQuoted(dst, s)
}

// appendClean appends s with what must never reach a header field
// replaced, cut to at most max bytes on a rune boundary (the last rune may
// end up to utf8.UTFMax-1 bytes past it) and trimmed of spaces.
func appendClean(dst []byte, s string, max int) []byte {
	start := len(dst)
	if len(s) <= max && printableASCII(s) {
		// The common case: nothing to replace, and only ' ' to trim.
		return append(dst, strings.Trim(s, " ")...)
	}
	for i, r := range s {
		if len(dst)-start >= max {
			break
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				dst = append(dst, '?')
				continue
			}
		}
		switch {
		case r == '\t':
			dst = append(dst, ' ')
		case r < 0x20 || r == 0x7f || r >= 0x80 && !unicode.IsPrint(r):
			dst = append(dst, '?')
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	// Every other space rune became "?" above: only ' ' is left to trim.
	cleaned := bytes.Trim(dst[start:], " ")
	n := copy(dst[start:], cleaned)
	return dst[:start+n]
}

// printableASCII reports whether s is all printable ASCII or space. Eight
// bytes are looked at together: every value of every message's field goes
// through here.
func printableASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte below 0x20 borrows when 0x20 is taken from it; one of
		// 0x7f or more carries into its high bit when 0x01 is added.
		if ((w-0x2020202020202020)|(w+0x0101010101010101)|w)&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// The characters escaped with a backslash in quoted strings and comments
// (RFC 5322 sections 3.2.4 and 3.2.2).
var (
	quotedSpecials  = specialSet(`\"`)
	commentSpecials = specialSet(`\()`)
)

// specialSet is a table of the bytes of chars.
func specialSet(chars string) *[256]bool {
	var t [256]bool
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return &t
}

func appendQuoted[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s, quotedSpecials)
	return append(dst, '"')
}

// appendEscaped appends s with a backslash before each of specials: runs
// without one are appended whole.
func appendEscaped[T string | []byte](dst []byte, s T, specials *[256]bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; specials[c] {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', c)
			start = i + 1
		}
	}
	return append(dst, s[start:]...)
}

// appendKeyword appends the keyword s in lower case and reports whether
// it is a keyword: one look at each byte tells both. Keywords are written
// in lower case almost always: then s is appended whole.
func appendKeyword(dst []byte, s string) ([]byte, bool) {
	if s == "" {
		return dst, false
	}
	var seen byte
	for i := 0; i < len(s); i++ {
		k := keywordClass[s[i]]
		if k == 0 {
			return dst, false
		}
		seen |= k
	}
	if seen&keywordUpper == 0 {
		return append(dst, s...), true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// keywordClass tells a keyword's characters (keywordChar) and among them
// the upper-case letters (keywordUpper too); 0 for any other byte.
const (
	keywordChar  = 1
	keywordUpper = 2
)

var keywordClass = func() (t [256]byte) {
	for c := range 256 {
		if isKeywordChar(byte(c)) {
			t[c] = keywordChar
			if 'A' <= c && c <= 'Z' {
				t[c] |= keywordUpper
			}
		}
	}
	return t
}()

// isPlainToken reports whether s is a token of printable ASCII no longer
// than maxValueLen: what appendValue writes as it is, with nothing to
// clean, trim or cut.
func isPlainToken(s string) bool {
	if s == "" || len(s) > maxValueLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !plainTokenChars[s[i]] {
			return false
		}
	}
	return true
}

// plainTokenChars are the token characters that are ASCII (tokenChars
// takes octets above 127 too, which a value cleans).
var plainTokenChars = func() (t [256]bool) {
	for c := range 128 {
		t[c] = tokenChars[c]
	}
	return t
}()

func isKeyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isKeywordChar(s[i]) {
			return false
		}
	}
	return true
}

func isToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func lastIndexByte[T string | []byte](s T, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// isDotAtom reports whether s is a dot-atom (RFC 5322 section 3.2.3),
// which an address's local-part may be written as without quotes: atext
// runs separated by single dots.
func isDotAtom[T string | []byte](s T) bool {
	if len(s) == 0 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '.' {
			if s[i-1] == '.' {
				return false
			}
		} else if !atextChars[c] {
			return false
		}
	}
	return true
}

// atextChars are the characters of an atom (RFC 5322 section 3.2.3);
// octets above 127 are accepted too, for internationalized addresses (RFC
// 6532).
var atextChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c > ' ' && c != 0x7f && !strings.ContainsRune(`()<>[]:;@\,."`, rune(c))
	}
	return t
}()
