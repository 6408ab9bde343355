package authres

import (
	"bytes"
	"strings"
)

// Field is one header field of a header block.
type Field struct {
	// Index is the field's position in the block, from 0.
	Index int
	// Start and End are the byte offsets of the whole field in the block,
	// its line break included, so block[Start:End] removes it.
	Start, End int
	// Name is the field name as written; Value the raw value after the
	// colon, still folded.
	Name, Value string
}

// Fields splits a header block (ending at the blank line or at the end of
// the input) into fields. Lines may end in CRLF or LF. A line that is
// neither a field nor a continuation is returned as a field with an empty
// Name, so offsets stay complete.
func Fields(header []byte) []Field {
	var fields []Field
	pos := 0
	for pos < len(header) {
		end := lineEnd(header, pos)
		if isBlank(header[pos:end]) {
			break
		}
		// Continuation lines start with white space.
		for end < len(header) && (header[end] == ' ' || header[end] == '\t') {
			end = lineEnd(header, end)
		}
		raw := string(header[pos:end])
		f := Field{Index: len(fields), Start: pos, End: end}
		if name, value, ok := strings.Cut(raw, ":"); ok && validFieldName(strings.TrimRight(name, " \t")) {
			f.Name, f.Value = strings.TrimRight(name, " \t"), value
		}
		fields = append(fields, f)
		pos = end
	}
	return fields
}

func lineEnd(b []byte, pos int) int {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos + i + 1
	}
	return len(b)
}

func isBlank(line []byte) bool {
	return len(bytes.TrimRight(line, "\r\n")) == 0
}

// validFieldName accepts printable US-ASCII without colon (RFC 5322
// section 2.2).
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] >= 0x7f {
			return false
		}
	}
	return true
}

// ClaimsID reports whether an Authentication-Results value names authservID
// as its authserv-id, compared case-insensitively (RFC 8601 section 5), a
// version after it not mattering. A value whose id cannot be read strictly
// is read leniently (comments dropped, up to the first white space or
// ";"), so a malformed field cannot slip past a receiver whose own parser
// is more forgiving.
func ClaimsID(value, authservID string) bool {
	if id, err := AuthservID(value); err == nil && sameID(id, authservID) {
		return true
	}
	return sameID(looseID(value), authservID)
}

// looseID extracts a would-be authserv-id from a value Parse may reject.
func looseID(value string) string {
	p := &parser{s: value}
	p.cfws()
	if p.peek() == '"' {
		if q, err := p.quoted(); err == nil {
			return q
		}
		p.pos++
	}
	return p.run(func(c byte) bool {
		return c != ';' && c != '(' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '"'
	})
}

// sameID compares authserv-ids case-insensitively, ignoring a trailing dot.
func sameID(a, b string) bool {
	return a != "" && strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// Claiming returns the Authentication-Results fields of a header block
// that claim authservID (RFC 8601 section 5), so a receiver can remove
// them before adding its own: they can only be forgeries or leftovers of
// an earlier pass. ARC-Authentication-Results fields are not returned:
// they are sealed by ARC and must stay.
func Claiming(header []byte, authservID string) []Field {
	var out []Field
	for _, f := range Fields(header) {
		if strings.EqualFold(f.Name, FieldName) && ClaimsID(f.Value, authservID) {
			out = append(out, f)
		}
	}
	return out
}

// Remove returns header without the given fields, which must come from
// Fields or Claiming on the same header, in order.
func Remove(header []byte, fields []Field) []byte {
	out := make([]byte, 0, len(header))
	pos := 0
	for _, f := range fields {
		out = append(out, header[pos:f.Start]...)
		pos = f.End
	}
	return append(out, header[pos:]...)
}
