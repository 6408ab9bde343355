package dkim

import (
	"errors"
	"fmt"
	"strings"
)

// Tag is one tag=value pair of a tag list (RFC 6376 section 3.2).
type Tag struct {
	Name  string
	Value string // folding whitespace at both ends removed, inner kept
}

// TagList is a parsed tag list in the order the tags appeared. DKIM-Signature
// fields, DKIM key records and the ARC header fields (RFC 8617) use it.
type TagList []Tag

// ErrSyntax is wrapped by every error about malformed signatures, key
// records and tag lists.
var ErrSyntax = errors.New("dkim: syntax error")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// ParseTagList parses s, a tag list such as "v=1; a=rsa-sha256; ...". Tag
// names are case-sensitive (section 3.2); a name given twice is an error, as
// is a character outside the grammar. Empty tag specifications (";;" or a
// trailing ";") are ignored.
func ParseTagList(s string) (TagList, error) {
	return parseTagList(s, nil)
}

// parseTagList is ParseTagList, leaving out the check of control
// characters for the tags that checked reports: those whose own parser
// refuses every character the check would.
func parseTagList(s string, checked func(name string) bool) (TagList, error) {
	list, _, err := parseTagListSpan(s, checked)
	return list, err
}

// span is where a tag's value is written in its tag list, from the byte
// after '=' to the ';' that ends it (or the end), white space included.
type span struct{ start, end int }

// parseTagListSpan is parseTagList, also telling where the value of the
// b= tag is written, as StripSignatureValue would remove it; a zero span
// when there is none.
func parseTagListSpan(s string, checked func(name string) bool) (TagList, span, error) {
	return parseTagListInto(make(TagList, 0, 16), s, checked)
}

// parseTagListInto is parseTagListSpan appending the tags to list, which
// the caller may have made with room for them in a larger allocation
// (sigBlock).
func parseTagListInto(list TagList, s string, checked func(name string) bool) (TagList, span, error) {
	var seen tagSet
	var b span
	for rest, more := s, true; more; {
		// A loop on IndexByte rather than strings.SplitSeq, whose
		// iterator was a third of the time of this function.
		// IndexByte rather than strings.Cut, whose separator is a
		// string: a call less per tag and per '='.
		spec := rest
		specStart := len(s) - len(rest)
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			spec, rest = rest[:i], rest[i+1:]
		} else {
			more = false
		}
		if isFWSOnly(spec) {
			continue
		}
		eq := strings.IndexByte(spec, '=')
		if eq < 0 {
			return nil, span{}, syntaxErr("tag %q has no '='", trimFWS(spec))
		}
		name, value := spec[:eq], spec[eq+1:]
		if name = trimFWS(name); name == "b" {
			b = span{specStart + len(spec) - len(value), specStart + len(spec)}
		}
		if !validTagName(name) {
			return nil, span{}, syntaxErr("invalid tag name %q", name)
		}
		value = trimFWS(value)
		if checked != nil && checked(name) {
			// Checked later, by its own parser.
		} else if err := checkTagValue(value); err != nil {
			return nil, span{}, fmt.Errorf("tag %s: %w", name, err)
		}
		if seen.add(name, list) {
			return nil, span{}, syntaxErr("tag %s given twice", name)
		}
		list = append(list, Tag{Name: name, Value: value})
	}
	return list, b, nil
}

// tagSet tells which tags a list already has. Most tag names are one
// letter, kept as bits; longer ones are looked for in the list.
type tagSet uint64

// add records name and reports whether list already had it.
func (s *tagSet) add(name string, list TagList) bool {
	if len(name) != 1 {
		_, dup := list.Lookup(name)
		return dup
	}
	bit := tagSet(1) << (name[0] & 63) // distinct for A-Z and a-z
	dup := *s&bit != 0
	*s |= bit
	return dup
}

// Lookup returns the value of the tag named name and whether it is present.
func (l TagList) Lookup(name string) (string, bool) {
	for _, t := range l {
		if t.Name == name {
			return t.Value, true
		}
	}
	return "", false
}

// Get returns the value of the tag named name, or "" when it is absent.
func (l TagList) Get(name string) string {
	v, _ := l.Lookup(name)
	return v
}

func isFWS(c byte) bool { return fwsByte[c] }

// fwsByte tells the bytes of folding white space (isFWS): a look-up is
// cheaper than four comparisons in the loops over tag values and h=. It is
// never written after init.
var fwsByte = func() (t [256]bool) {
	for _, c := range []byte{' ', '\t', '\r', '\n'} {
		t[c] = true
	}
	return t
}()

func isFWSOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isFWS(s[i]) {
			return false
		}
	}
	return true
}

func trimFWS(s string) string {
	for len(s) > 0 && isFWS(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isFWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// validTagName checks tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC being ALPHA,
// DIGIT or "_".
func validTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// checkTagValue refuses control characters other than folding whitespace.
// Bytes above 0x7e are let through: the grammar has no room for them, but
// refusing them would only make notes (n=) in key records fail. Eight
// bytes are looked at together, and one at a time only where a word holds
// a byte below 0x21 or a DEL: b= and p= values run to hundreds of bytes.
func checkTagValue(s string) error {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if w := load64(s, i); hasBelow(w, 0x21) || hasByte(w, 0x7f) {
			if err := checkTagBytes(s[i : i+8]); err != nil {
				return err
			}
		}
	}
	return checkTagBytes(s[i:])
}

func checkTagBytes(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !tagValueByte[c] {
			return syntaxErr("control character %#02x in value", c)
		}
	}
	return nil
}

// indexBelow returns the index of the first byte of s below n (at most
// 0x80), or -1.
func indexBelow[T string | []byte](s T, n byte) int {
	i := 0
	for ; i+8 <= len(s) && !hasBelow(load64(s, i), n); i += 8 {
	}
	for ; i < len(s); i++ {
		if s[i] < n {
			return i
		}
	}
	return -1
}

// load64 reads the eight bytes of s at i as one little-endian word; the
// compiler makes it a single load.
func load64[T string | []byte](s T, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// tailWord returns the bytes of s from i on, fewer than eight, as one
// little-endian word with fill in the bytes past the end of s: the end of
// a scan eight bytes a step, for a test that fill passes.
func tailWord[T string | []byte](s T, i int, fill byte) uint64 {
	var w uint64
	if len(s) >= 8 {
		w = load64(s, len(s)-8) >> (8 * (i + 8 - len(s)))
	} else {
		for k := i; k < len(s); k++ {
			w |= uint64(s[k]) << (8 * (k - i))
		}
	}
	return w | ones*uint64(fill)<<(8*(len(s)-i))
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasBelow reports whether a byte of w is below n, for n at most 0x80: a
// byte below n borrows in w - n, and a byte of 0x80 or more has its high
// bit masked off by ^w.
func hasBelow(w uint64, n byte) bool { return (w-ones*uint64(n))&^w&highs != 0 }

// hasByte reports whether a byte of w equals c.
func hasByte(w uint64, c byte) bool { return hasBelow(w^(ones*uint64(c)), 1) }

// tagValueByte tells the bytes checkTagValue lets through: one look-up per
// byte, for b= and p= values of hundreds of bytes. It is never written
// after init.
var tagValueByte = func() (ok [256]bool) {
	for c := range ok {
		ok[c] = (c >= 0x21 || isFWS(byte(c))) && c != 0x7f
	}
	return ok
}()

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// removeFWS deletes all folding whitespace, for base64 values (b=, bh=, p=).
func removeFWS(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if !isFWS(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// splitColonList splits a colon-separated list such as h= or q=, trimming
// folding whitespace around each element.
func splitColonList(s string) []string {
	parts := strings.Split(s, ":")
	for i, p := range parts {
		parts[i] = trimFWS(p)
	}
	return parts
}
