package authres

import (
	"fmt"
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
	id := clean(authservID, maxValueLen)
	if id == "" {
		return "", fmt.Errorf("authres: invalid authserv-id %q", authservID)
	}
	if !isToken(id) {
		id = quote(id)
	}
	var f folder
	f.b.Grow(128 + 96*len(results))
	f.b.WriteString(FieldName + ": ")
	f.b.WriteString(id)
	f.b.WriteString(";")
	if len(results) == 0 {
		f.b.WriteString(" none")
	}
	var buf [8]string
	for i, r := range results {
		words, err := resultWords(buf[:0], r)
		if err != nil {
			return "", err
		}
		f.newLine()
		for j, w := range words {
			end := ""
			if j == len(words)-1 && i < len(results)-1 {
				end = ";"
			}
			f.word(w, end)
		}
	}
	f.b.WriteString("\r\n")
	return f.b.String(), nil
}

// resultWords appends to words those of one resinfo; folding happens only
// between them.
func resultWords(words []string, r Result) ([]string, error) {
	for _, k := range []string{r.Method, r.Value} {
		if !isKeyword(k) {
			return nil, fmt.Errorf("authres: %q is not a keyword", k)
		}
	}
	method := strings.ToLower(r.Method)
	if r.Version != "" {
		if strings.Trim(r.Version, "0123456789") != "" {
			return nil, fmt.Errorf("authres: invalid method version %q", r.Version)
		}
		method += "/" + r.Version
	}
	words = append(words, method+"="+strings.ToLower(r.Value))
	if r.Comment != "" {
		words = append(words, "("+commentText(r.Comment)+")")
	}
	if r.Reason != "" {
		words = append(words, "reason="+quote(clean(r.Reason, maxReasonLen)))
	}
	for _, p := range r.Props {
		if !isKeyword(p.Type) || !isKeyword(p.Name) {
			return nil, fmt.Errorf("authres: property %q.%q is not made of keywords", p.Type, p.Name)
		}
		words = append(words, strings.ToLower(p.Type)+"."+strings.ToLower(p.Name)+"="+formatValue(p.Value, maxValueLen))
	}
	return words, nil
}

// folder writes words into folded lines of at most foldAt columns where it
// can (the tab that starts a line counted as one); a single word longer
// than that stays on its own line.
type folder struct {
	b   strings.Builder
	cur int // length of the current line after its tab; 0 before a word
}

func (f *folder) newLine() {
	f.b.WriteString("\r\n\t")
	f.cur = 0
}

// word writes w and then end, which stays on w's line.
func (f *folder) word(w, end string) {
	n := len(w) + len(end)
	switch {
	case f.cur == 0:
	case 1+f.cur+1+n > foldAt:
		f.newLine()
	default:
		f.b.WriteByte(' ')
		f.cur++
	}
	f.b.WriteString(w)
	f.b.WriteString(end)
	f.cur += n
}

// formatValue writes a property value (pvalue) as a token, as
// local-part@domain when it is an address whose domain is a token, or else
// as a quoted-string.
func formatValue(s string, max int) string {
	s = clean(s, max)
	if isToken(s) {
		return s
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 && isToken(s[at+1:]) {
		local := s[:at]
		if local == "" || isDotAtom(local) {
			return s
		}
		return quote(local) + s[at:]
	}
	return quote(s)
}

// clean replaces what must never reach a header field and cuts s to at
// most max bytes on a rune boundary.
func clean(s string, max int) string {
	if len(s) <= max && printableASCII(s) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	for i, r := range s {
		if b.Len() >= max {
			break
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				b.WriteByte('?')
				continue
			}
		}
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || r >= 0x80 && !unicode.IsPrint(r):
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func quote(s string) string {
	return `"` + quotedEscaper.Replace(s) + `"`
}

func commentText(s string) string {
	return commentEscaper.Replace(clean(s, maxCommentLen))
}

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

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isDotAtom reports whether s is a dot-atom (RFC 5322 section 3.2.3),
// which an address's local-part may be written as without quotes.
func isDotAtom(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c <= ' ' || c == 0x7f || strings.ContainsRune(`()<>[]:;@\,."`, rune(c)) {
				return false
			}
		}
	}
	return true
}

// The escapers of quoted strings and comments (RFC 5322 section 3.2.4,
// 3.2.2), built once.
var (
	quotedEscaper  = strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	commentEscaper = strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
)
