package authres

import "strings"

// Writer writes an Authentication-Results field a result at a time, in the
// bytes Header writes for the same results, into the caller's buffer: for
// a caller whose results are not a []Result already (the inbound check
// writes one field for every message), putting the list together cost
// about as much as writing it.
//
// Each method appends to dst and returns it, with false for anything it
// does not write as Header would: a word that is not a keyword, a text
// that needs characters replaced or to be cut. The caller then writes the
// field with Header, which writes every case, or tells the error; what a
// Writer wrote is then to be thrown away. The usual field, with domains,
// addresses and short reasons of printable ASCII, is written through.
//
// The parts of a result come in Header's order: Result (method and
// value), Comment, Reason, then each Prop; End finishes the field. The
// zero Writer is ready for Begin.
type Writer struct {
	cur   int // length of the current line after its tab
	start int // where the last word written starts, before it is folded; -1 for none
}

// Begin appends "Authentication-Results: authservID;".
func (w *Writer) Begin(dst []byte, authservID string) ([]byte, bool) {
	w.start = -1
	if !isPlainToken(authservID) {
		return dst, false
	}
	dst = append(dst, FieldName+": "...)
	dst = append(dst, authservID...)
	return append(dst, ';'), true
}

// Result starts a result, method=value on a new line (Header writes no
// method version); the result before it, if any, is ended with ';'.
func (w *Writer) Result(dst []byte, method, value string) ([]byte, bool) {
	dst = w.endResult(dst, ";")
	dst = append(dst, "\r\n\t"...)
	w.cur = 0
	dst = w.word(dst)
	dst, ok := appendKeyword(dst, method)
	dst = append(dst, '=')
	dst, ok2 := appendKeyword(dst, value)
	return dst, ok && ok2
}

// Comment writes the result's comment; "" writes none.
func (w *Writer) Comment(dst []byte, comment string) ([]byte, bool) {
	if comment == "" {
		return dst, true
	}
	c, ok := clean(comment, maxCommentLen)
	if !ok {
		return dst, false
	}
	dst = w.word(dst)
	dst = append(dst, '(')
	dst = appendEscaped(dst, c, commentSpecials)
	return append(dst, ')'), true
}

// Reason writes the reason head+tail, without making the string: a
// reason is often a fixed start and a part from elsewhere ("matched " and
// an SPF mechanism). "" writes none.
func (w *Writer) Reason(dst []byte, head, tail string) ([]byte, bool) {
	if len(head)+len(tail) <= maxReasonLen && (head != "" || tail != "") && plainQuoted(head) && plainQuoted(tail) &&
		(head == "" || head[0] != ' ') && (tail == "" || tail[len(tail)-1] != ' ') &&
		(head != "" || tail[0] != ' ') && (tail != "" || head[len(head)-1] != ' ') {
		// The usual reason: nothing to clean, trim nor escape.
		dst = w.word(dst)
		dst = append(dst, `reason="`...)
		dst = append(dst, head...)
		dst = append(dst, tail...)
		return append(dst, '"'), true
	}
	switch {
	case head == "" && tail == "":
		return dst, true
	case len(head)+len(tail) > maxReasonLen || !printableASCII(head) || !printableASCII(tail):
		return dst, false
	case head == "":
		tail = strings.Trim(tail, " ")
	case head[0] == ' ' || tail == "" || tail[len(tail)-1] == ' ':
		// Trimming would cross from one part into the other.
		return dst, false
	}
	dst = w.word(dst)
	dst = append(dst, `reason="`...)
	dst = appendEscaped(dst, head, quotedSpecials)
	dst = appendEscaped(dst, tail, quotedSpecials)
	return append(dst, '"'), true
}

// Prop writes the property ptype.name=value. Header writes every property
// it is given, one with an empty value too: leave out those a constructor
// (DKIM, DMARC) leaves out.
func (w *Writer) Prop(dst []byte, ptype, name, value string) ([]byte, bool) {
	dst = w.word(dst)
	dst, typeOK := appendKeyword(dst, ptype)
	dst = append(dst, '.')
	dst, nameOK := appendKeyword(dst, name)
	dst = append(dst, '=')
	dst, ok := appendPropValue(dst, value)
	return dst, ok && typeOK && nameOK
}

// PropName is a property's type and name, checked as keywords and written
// in lower case once (NewPropName), for a caller that writes the same
// properties into every field: telling keywords was a fifth of a Writer's
// work.
type PropName struct {
	prefix string // "type.name="
}

// NewPropName checks ptype and name as Header does a property's.
func NewPropName(ptype, name string) (PropName, error) {
	b, typeOK := appendKeyword(nil, ptype)
	b = append(b, '.')
	b, nameOK := appendKeyword(b, name)
	if !typeOK || !nameOK {
		return PropName{}, propError(Prop{Type: ptype, Name: name})
	}
	return PropName{prefix: string(append(b, '='))}, nil
}

// PropNamed writes the property n=value, as Prop does; the zero PropName
// is not written.
func (w *Writer) PropNamed(dst []byte, n PropName, value string) ([]byte, bool) {
	if n.prefix == "" {
		return dst, false
	}
	dst = w.word(dst)
	dst = append(dst, n.prefix...)
	return appendPropValue(dst, value)
}

// appendPropValue appends a property's value as appendResult does, or
// returns false for one to clean or cut.
func appendPropValue(dst []byte, value string) ([]byte, bool) {
	if isPlainToken(value) {
		return append(dst, value...), true
	}
	c, ok := clean(value, maxValueLen)
	if !ok {
		return dst, false
	}
	return appendValue(dst, c), true
}

// End ends the last result and the field, with CRLF. A field without a
// result is not written this way (Header writes " none").
func (w *Writer) End(dst []byte) []byte {
	return append(w.endResult(dst, ""), "\r\n"...)
}

// word starts a word: the word before it, now known not to be the last of
// its result, is folded, and a space separates the two.
func (w *Writer) word(dst []byte) []byte {
	if w.start >= 0 {
		dst, w.cur = fold(dst, w.start, w.cur)
	}
	if w.cur > 0 {
		dst = append(dst, ' ')
	}
	w.start = len(dst)
	return dst
}

// endResult appends end after the last word of a result and folds it
// with end, as appendResult does; with no result begun it does nothing.
func (w *Writer) endResult(dst []byte, end string) []byte {
	if w.start < 0 {
		return dst
	}
	dst = append(dst, end...)
	dst, w.cur = fold(dst, w.start, w.cur)
	w.start = -1
	return dst
}

// plainQuoted reports whether s is printable ASCII (space included)
// without '"' or '\\': what a quoted-string holds as it is. Eight bytes
// are looked at together, as in printableASCII.
func plainQuoted(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// Not printable (see printableASCII), or a byte equal to '"'
		// or '\\' (a zero byte after the XOR borrows when 1 is taken).
		q, b := w^('"'*ones), w^('\\'*ones)
		if ((w-0x20*ones)|(w+ones)|w|(q-ones)&^q|(b-ones)&^b)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
