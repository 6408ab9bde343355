package imap

// FetchArgs is FETCH / UID FETCH (RFC 9051 §6.4.5) with the RFC 7162
// modifiers.
type FetchArgs struct {
	Set   SeqSet
	Items []FetchItem // macros ALL, FAST and FULL are expanded
	// ChangedSince is the CHANGEDSINCE modifier, HasChangedSince tells
	// whether it was given.
	ChangedSince    uint64
	HasChangedSince bool
	Vanished        bool // VANISHED modifier (UID FETCH only, with CHANGEDSINCE)
}

// FetchItem is one fetch-att.
type FetchItem struct {
	// Name is upper case: ENVELOPE, FLAGS, INTERNALDATE, RFC822,
	// RFC822.HEADER, RFC822.TEXT, RFC822.SIZE, BODY, BODYSTRUCTURE, UID,
	// BINARY, BINARY.SIZE, MODSEQ, PREVIEW, SAVEDATE, EMAILID, THREADID.
	// BODY.PEEK and BINARY.PEEK are BODY and BINARY with Peek set.
	Name    string
	Section *Section // BODY[...], BINARY[...] and BINARY.SIZE[...]; nil otherwise
	Peek    bool
	Partial *Partial // <offset.count>, nil if absent
	Lazy    bool     // PREVIEW (LAZY), RFC 8970
}

// Section is a body section (RFC 9051 §6.4.5).
type Section struct {
	Part []uint32 // section-part: 1.2.3; empty for the whole message
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME". BINARY sections have none.
	Specifier string
	Fields    []string // header field names for HEADER.FIELDS[.NOT]
}

// Partial is <offset.count>.
type Partial struct {
	Offset uint32
	Count  uint32
}

func parseFetch(p *parser, cmd *Command) any {
	p.sp()
	a := &FetchArgs{Set: p.seqSet(true)}
	p.sp()
	switch {
	case p.keyword("ALL"):
		a.Items = macroItems("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")
	case p.keyword("FAST"):
		a.Items = macroItems("FLAGS", "INTERNALDATE", "RFC822.SIZE")
	case p.keyword("FULL"):
		a.Items = macroItems("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")
	case p.peek() == '(':
		p.list(false, func() { a.Items = append(a.Items, p.fetchAtt()) })
	default:
		a.Items = []FetchItem{p.fetchAtt()}
	}
	if p.accept(' ') {
		p.list(false, func() {
			switch w := p.word(); w {
			case "CHANGEDSINCE":
				if a.HasChangedSince {
					p.fail("CHANGEDSINCE given twice")
				}
				p.sp()
				a.ChangedSince, a.HasChangedSince = p.modSeq(false), true
			case "VANISHED":
				a.Vanished = true
			default:
				p.fail("unknown FETCH modifier %s", w)
			}
		})
		// RFC 7162 §3.2.6: VANISHED needs UID FETCH and CHANGEDSINCE.
		if a.Vanished && (!cmd.UID || !a.HasChangedSince) {
			p.fail("VANISHED needs UID FETCH with CHANGEDSINCE")
		}
	}
	return a
}

func macroItems(names ...string) []FetchItem {
	items := make([]FetchItem, len(names))
	for i, n := range names {
		items[i] = FetchItem{Name: n}
	}
	return items
}

var simpleFetchAtts = map[string]bool{
	"ENVELOPE": true, "FLAGS": true, "INTERNALDATE": true, "RFC822": true,
	"RFC822.HEADER": true, "RFC822.TEXT": true, "RFC822.SIZE": true,
	"BODYSTRUCTURE": true, "UID": true, "MODSEQ": true, "SAVEDATE": true,
	"EMAILID": true, "THREADID": true,
}

// fetchAtt reads one fetch-att. An atom ends at "[", so BODY[...] is read
// as the word BODY followed by a section.
func (p *parser) fetchAtt() FetchItem {
	w := upper(p.take(func(c byte) bool { return isAtomChar(c) && c != '[' && c != '<' }))
	if w == "" {
		p.badChar("fetch attribute")
	}
	it := FetchItem{Name: w}
	switch w {
	case "BODY", "BODY.PEEK":
		it.Name, it.Peek = "BODY", w == "BODY.PEEK"
		if p.peek() != '[' {
			if it.Peek {
				p.fail("BODY.PEEK needs a section")
			}
			return it
		}
		it.Section = p.section()
		it.Partial = p.partial()
	case "BINARY", "BINARY.PEEK":
		it.Name, it.Peek = "BINARY", w == "BINARY.PEEK"
		it.Section = p.sectionBinary()
		it.Partial = p.partial()
	case "BINARY.SIZE":
		it.Section = p.sectionBinary()
	case "PREVIEW":
		if p.peekAt(0) == ' ' && p.peekAt(1) == '(' {
			save := p.pos
			p.pos++
			if !p.keywordList("LAZY") {
				p.pos = save
			} else {
				it.Lazy = true
			}
		}
	default:
		if !simpleFetchAtts[w] {
			p.fail("unknown fetch attribute %s", w)
		}
	}
	return it
}

// keywordList consumes "(" kw ")" if present.
func (p *parser) keywordList(kw string) bool {
	save := p.pos
	if p.accept('(') && p.keyword(kw) && p.accept(')') {
		return true
	}
	p.pos = save
	return false
}

func (p *parser) sectionPart(s *Section) {
	for range 128 {
		if !isDigit(p.peek()) {
			return
		}
		s.Part = append(s.Part, p.nzNumber())
		if !(p.peek() == '.' && isDigit(p.peekAt(1))) {
			return
		}
		p.pos++
	}
	p.fail("section part too deep")
}

func (p *parser) section() *Section {
	p.expect('[')
	s := &Section{}
	p.sectionPart(s)
	if len(s.Part) > 0 && !p.accept('.') {
		p.expect(']')
		return s
	}
	if p.accept(']') {
		return s
	}
	s.Specifier = upper(p.take(func(c byte) bool { return isAtomChar(c) && c != '[' }))
	switch s.Specifier {
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.Part) == 0 {
			p.fail("MIME needs a section part")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		p.sp()
		p.list(false, func() { s.Fields = append(s.Fields, p.astring()) })
	default:
		p.fail("unknown section %q", s.Specifier)
	}
	p.expect(']')
	return s
}

func (p *parser) sectionBinary() *Section {
	p.expect('[')
	s := &Section{}
	p.sectionPart(s)
	p.expect(']')
	return s
}

func (p *parser) partial() *Partial {
	if !p.accept('<') {
		return nil
	}
	pa := &Partial{Offset: p.number()}
	p.expect('.')
	pa.Count = p.nzNumber()
	p.expect('>')
	return pa
}
