package mimeinfo

import (
	"strings"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// The placeholders for the parts of an address that are missing, so that
// an address is never taken for a group marker.
const (
	MissingMailbox = "MISSING_MAILBOX"
	MissingDomain  = "MISSING_DOMAIN"
)

// ParseAddressList parses an address list (RFC 5322 §3.4) leniently, as a
// mail client would read it: groups become a start marker, their members
// and an end marker; a source route (obs-route, RFC 5322 §4.4) is kept; a
// comment gives the display name of an address that has none; words that
// cannot be read are skipped. An empty list gives nil.
func ParseAddressList(s string) []Address {
	p := &addrParser{s: s}
	var out []Address
	for {
		p.skipCFWS()
		if p.eof() {
			return out
		}
		switch p.s[p.pos] {
		case ',', ';', '>', ':':
			p.pos++
			continue
		}
		out = p.item(out, true)
	}
}

// GroupStart reports whether a is the start marker of a group; Mailbox
// is then the group's name.
func (a Address) GroupStart() bool { return a.Group && a.Mailbox != "" }

// GroupEnd reports whether a is the end marker of a group.
func (a Address) GroupEnd() bool { return a.Group && a.Mailbox == "" }

// LocalPart is the mailbox, "" for a missing one; a group's name for a
// group's start.
func (a Address) LocalPart() string {
	if a.Mailbox == MissingMailbox {
		return ""
	}
	return a.Mailbox
}

// Spec is the address as "mailbox@host", without the placeholders for
// missing parts: the mailbox alone when there is no host.
func (a Address) Spec() string {
	if a.Host == "" || a.Host == MissingDomain {
		return a.LocalPart()
	}
	return a.LocalPart() + "@" + a.Host
}

// DisplayName is the name with its RFC 2047 encoded words decoded.
func (a Address) DisplayName() string { return mimeutil.DecodeWords(a.Name) }

// Display is what RFC 5957 §3 sorts on: the display name if there is
// one, else the address; a group's start shows the group's name.
func (a Address) Display() string {
	if n := a.DisplayName(); n != "" {
		return n
	}
	return a.Spec()
}

type addrParser struct {
	s       string
	pos     int
	comment string // the last comment skipped
}

func (p *addrParser) eof() bool { return p.pos >= len(p.s) }

func (p *addrParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

// item reads a mailbox or, when groups are allowed, a group.
func (p *addrParser) item(out []Address, groups bool) []Address {
	start := p.pos
	p.comment = ""
	phrase := p.phrase()
	comment := p.comment
	p.skipCFWS()
	switch p.peek() {
	case ':':
		p.pos++
		if !groups {
			return out
		}
		if phrase == "" {
			phrase = MissingMailbox // else the start would read as an end
		}
		out = append(out, Address{Mailbox: phrase, Group: true})
		for {
			p.skipCFWS()
			if p.eof() {
				break
			}
			if c := p.peek(); c == ';' {
				p.pos++
				break
			} else if c == ',' || c == '>' || c == ':' {
				p.pos++
				continue
			}
			out = p.item(out, false)
		}
		return append(out, Address{Group: true})
	case '<':
		p.pos++
		a := p.angleAddr()
		a.Name = phrase
		if a.Name == "" {
			a.Name = p.comment
		}
		return append(out, a)
	case '@':
		p.pos++
		local := strings.ReplaceAll(phrase, " ", "")
		a := Address{Mailbox: local, Host: p.domain()}
		p.skipCFWS()
		if p.comment != "" {
			comment = p.comment
		}
		a.Name = comment
		return append(out, fill(a))
	}
	if p.pos == start {
		p.pos++ // a character no rule takes
		return out
	}
	if phrase == "" {
		return out
	}
	return append(out, fill(Address{Mailbox: strings.ReplaceAll(phrase, " ", ""), Name: comment}))
}

// angleAddr reads what follows "<": an optional route, then the address.
func (p *addrParser) angleAddr() Address {
	var a Address
	p.skipCFWS()
	if p.peek() == '@' {
		if i := strings.IndexAny(p.s[p.pos:], ":>"); i >= 0 && p.s[p.pos+i] == ':' {
			a.Route = strings.Join(strings.Fields(p.s[p.pos:p.pos+i]), "")
			p.pos += i + 1
		}
	}
	var local strings.Builder
	for {
		p.skipCFWS()
		if p.eof() || p.peek() == '@' || p.peek() == '>' {
			break
		}
		w, ok := p.word()
		if !ok {
			p.pos++
			continue
		}
		local.WriteString(w)
	}
	a.Mailbox = local.String()
	if p.peek() == '@' {
		p.pos++
		a.Host = p.domain()
	}
	p.skipCFWS()
	if p.peek() == '>' {
		p.pos++
	}
	return fill(a)
}

// fill puts placeholders where the mailbox or domain is missing.
func fill(a Address) Address {
	if a.Mailbox == "" {
		a.Mailbox = MissingMailbox
	}
	if a.Host == "" {
		a.Host = MissingDomain
	}
	return a
}

// phrase reads words up to a special character, joined by single spaces.
func (p *addrParser) phrase() string {
	var words []string
	for {
		p.skipCFWS()
		w, ok := p.word()
		if !ok {
			return strings.Join(words, " ")
		}
		words = append(words, w)
	}
}

// domain reads a domain: dot-atoms and domain literals up to a special.
func (p *addrParser) domain() string {
	var b strings.Builder
	for {
		p.skipCFWS()
		if p.peek() == '[' {
			end := strings.IndexByte(p.s[p.pos:], ']')
			if end < 0 {
				end = len(p.s) - p.pos - 1
			}
			b.WriteString(p.s[p.pos : p.pos+end+1])
			p.pos += end + 1
			continue
		}
		w, ok := p.word()
		if !ok {
			return b.String()
		}
		b.WriteString(w)
	}
}

// word reads an atom (dots included) or a quoted string, unquoted.
func (p *addrParser) word() (string, bool) {
	if p.peek() == '"' {
		var b strings.Builder
		p.pos++
		for !p.eof() {
			c := p.s[p.pos]
			p.pos++
			if c == '"' {
				break
			}
			if c == '\\' && !p.eof() {
				c = p.s[p.pos]
				p.pos++
			}
			b.WriteByte(c)
		}
		return b.String(), true
	}
	start := p.pos
	for !p.eof() && isAtomChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos], p.pos > start
}

func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '"', ' ', '\t', '\r', '\n':
		return false
	}
	return true
}

// skipCFWS skips white space and comments, keeping the last comment.
func (p *addrParser) skipCFWS() {
	for !p.eof() {
		switch c := p.s[p.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.pos++
		case c == '(':
			p.comment = p.readComment()
		default:
			return
		}
	}
}

// readComment reads a comment, nested ones included, and returns its
// text with white space collapsed.
func (p *addrParser) readComment() string {
	depth := 0
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '\\' && !p.eof():
			b.WriteByte(p.s[p.pos])
			p.pos++
			continue
		case c == '(':
			depth++
			if depth == 1 {
				continue
			}
		case c == ')':
			depth--
			if depth == 0 {
				return strings.Join(strings.Fields(b.String()), " ")
			}
		}
		b.WriteByte(c)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
