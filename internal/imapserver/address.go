package imapserver

import (
	"bytes"
	"mime"
	"strings"
)

// address is one entry of an address list as IMAP describes it (RFC 9051
// §7.5.2, the addresses of ENVELOPE): a mailbox, or the start of a group
// (groupStart, with the group's name in local) or its end.
type address struct {
	name, local, domain  string
	groupStart, groupEnd bool
}

// addrSpec is the address as "local@domain", or the local part alone
// when there is no domain.
func (a address) addrSpec() string {
	if a.domain == "" {
		return a.local
	}
	return a.local + "@" + a.domain
}

// display is what RFC 5957 §3 sorts on: the display name if there is
// one, else the address; a group shows its name.
func (a address) display() string {
	if a.name != "" {
		return a.name
	}
	return a.addrSpec()
}

// addrToken is a lexical token of an address field: a word (atom or
// quoted string, unquoted), a comment (its text), or one special
// character.
type addrToken struct {
	text    string
	special byte // 0 unless the token is one of ()<>@,;:.
	comment bool
}

// tokenizeAddresses splits a header value into tokens, leniently: an
// unterminated quote or comment runs to the end.
func tokenizeAddresses(v string) []addrToken {
	var toks []addrToken
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ')':
			i++ // white space, or a stray closing parenthesis
		case c == '"':
			var b strings.Builder
			i++
			for i < len(v) && v[i] != '"' {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
				i++
			}
			i++
			toks = append(toks, addrToken{text: b.String()})
		case c == '(':
			var b strings.Builder
			depth := 0
			for ; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
					b.WriteByte(v[i])
					continue
				}
				if v[i] == '(' {
					depth++
					if depth == 1 {
						continue
					}
				}
				if v[i] == ')' {
					depth--
					if depth == 0 {
						i++
						break
					}
				}
				b.WriteByte(v[i])
			}
			toks = append(toks, addrToken{text: b.String(), comment: true})
		case strings.IndexByte("<>@,;:.", c) >= 0:
			toks = append(toks, addrToken{text: string(c), special: c})
			i++
		default:
			j := i
			for j < len(v) && strings.IndexByte(" \t\r\n\"()<>@,;:.", v[j]) < 0 {
				j++
			}
			toks = append(toks, addrToken{text: v[i:j]})
			i = j
		}
	}
	return toks
}

// parseAddresses reads an address list (RFC 5322 §3.4) the way mail
// clients write it, broken or not: comments anywhere, names in comments
// after the address, groups, source routes, missing domains. Encoded
// words in names are decoded (RFC 2047). It never fails; what cannot be
// read is left out.
func parseAddresses(v string) []address {
	var out []address
	var cur []addrToken
	angle, inGroup := false, false
	flush := func() {
		if a, ok := mailboxOf(cur); ok {
			out = append(out, a)
		}
		cur = nil
	}
	for _, t := range tokenizeAddresses(v) {
		switch {
		case t.special == '<':
			angle = true
			cur = append(cur, t)
		case t.special == '>':
			angle = false
			cur = append(cur, t)
		case angle:
			cur = append(cur, t)
		case t.special == ',':
			flush()
		case t.special == ':' && !inGroup && !hasSpecial(cur, '@'):
			out = append(out, address{groupStart: true, local: phrase(cur)})
			cur, inGroup = nil, true
		case t.special == ';' && inGroup:
			flush()
			out = append(out, address{groupEnd: true})
			inGroup = false
		default:
			cur = append(cur, t)
		}
	}
	flush()
	if inGroup {
		out = append(out, address{groupEnd: true})
	}
	return out
}

func hasSpecial(toks []addrToken, c byte) bool {
	for _, t := range toks {
		if t.special == c {
			return true
		}
	}
	return false
}

// mailboxOf reads one mailbox: "phrase <addr-spec>" or "addr-spec
// (comment)", the comment then serving as the name.
func mailboxOf(toks []addrToken) (address, bool) {
	if len(toks) == 0 {
		return address{}, false
	}
	var a address
	spec := toks
	if open := indexSpecial(toks, '<'); open >= 0 {
		a.name = phrase(toks[:open])
		spec = toks[open+1:]
		if end := indexSpecial(spec, '>'); end >= 0 {
			spec = spec[:end]
		}
	} else {
		for _, t := range toks {
			if t.comment && strings.TrimSpace(t.text) != "" {
				a.name = decodeWords(strings.TrimSpace(t.text))
				break
			}
		}
	}
	// A source route (@a,@b:) before the address is dropped.
	if colon := indexSpecial(spec, ':'); colon >= 0 && len(spec) > 0 && spec[0].special == '@' {
		spec = spec[colon+1:]
	}
	var local, domain strings.Builder
	at := false
	for _, t := range spec {
		switch {
		case t.comment:
		case t.special == '@' && !at:
			at = true
		case at:
			domain.WriteString(t.text)
		default:
			local.WriteString(t.text)
		}
	}
	a.local, a.domain = local.String(), domain.String()
	if a.local == "" && a.domain == "" {
		return address{}, false
	}
	return a, true
}

func indexSpecial(toks []addrToken, c byte) int {
	for i, t := range toks {
		if t.special == c {
			return i
		}
	}
	return -1
}

// phrase joins the words of a display name, leaving comments out, and
// decodes its encoded words.
func phrase(toks []addrToken) string {
	var words []string
	for _, t := range toks {
		if !t.comment {
			words = append(words, t.text)
		}
	}
	return decodeWords(strings.Join(words, " "))
}

// decodeWords decodes RFC 2047 encoded words, keeping the text as it is
// where they cannot be decoded.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// firstAddress returns the first entry of a header value's address list.
func firstAddress(v string) (address, bool) {
	list := parseAddresses(v)
	if len(list) == 0 {
		return address{}, false
	}
	return list[0], true
}

// addressMatches reports whether a SEARCH FROM, TO, CC or BCC string is
// in a header value (RFC 9051 §6.4.4): in a name, an address, or a group
// name. A value without any address is matched as text.
func addressMatches(v, sub string) bool {
	list := parseAddresses(v)
	if len(list) == 0 {
		return containsFold([]byte(v), sub)
	}
	for _, a := range list {
		if a.groupEnd {
			continue
		}
		if containsFold([]byte(a.name), sub) || containsFold([]byte(a.addrSpec()), sub) {
			return true
		}
		if a.name != "" && containsFold([]byte(a.name+" <"+a.addrSpec()+">"), sub) {
			return true
		}
	}
	return false
}

// containsFold reports whether sub is in s, ignoring ASCII and Unicode
// simple case.
func containsFold(s []byte, sub string) bool {
	return bytes.Contains(bytes.ToLower(s), bytes.ToLower([]byte(sub)))
}
