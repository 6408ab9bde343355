package imap

import "time"

// SearchArgs is SEARCH / UID SEARCH (RFC 9051 §6.4.4, RFC 4731 ESEARCH,
// RFC 5267 CONTEXT, RFC 9394 PARTIAL, RFC 5182 SAVE).
type SearchArgs struct {
	Charset string // upper case; "" if not given
	// Return holds the upper-cased RETURN options (MIN, MAX, ALL, COUNT,
	// SAVE, UPDATE, CONTEXT, PARTIAL). HasReturn is set if RETURN was
	// given, even empty (which means ALL, RFC 4731 §3.1).
	Return    []string
	HasReturn bool
	Partial   *PartialRange // PARTIAL's range
	Keys      []SearchKey   // all must match
}

// PartialRange is a RFC 9394 partial-range: First:Last, both positive
// (counting from the first result) or both negative (from the last).
type PartialRange struct{ First, Last int64 }

// SearchKey is one search-key. Op is the upper-cased key name, plus
// "SEQSET" for a bare sequence set and "AND" for a parenthesised list.
type SearchKey struct {
	Op string
	// Keys holds the operands of AND (any number), OR (two) and NOT (one).
	Keys []SearchKey
	// Value is the string of BCC, BODY, CC, FROM, SUBJECT, TEXT, TO,
	// HEADER (the field's value), the flag of KEYWORD/UNKEYWORD and the
	// object id of EMAILID/THREADID.
	Value string
	Field string    // HEADER's field name
	Date  time.Time // BEFORE, ON, SINCE, SENT*, SAVED*: midnight UTC of that day
	// Num is LARGER/SMALLER's size, OLDER/YOUNGER's seconds and MODSEQ's
	// mod-sequence.
	Num uint64
	Set SeqSet // SEQSET and UID
	// EntryName and EntryType are MODSEQ's optional entry (RFC 7162
	// §3.1.5): a "/flags/..." name and PRIV, SHARED or ALL.
	EntryName, EntryType string
}

func parseSearch(p *parser, _ *Command) any {
	a := &SearchArgs{}
	p.sp()
	if p.keyword("RETURN") {
		a.HasReturn = true
		p.sp()
		a.Return, a.Partial = p.returnOpts(searchReturnOpts)
		p.sp()
	}
	a.Charset, a.Keys = p.searchProgram(false)
	return a
}

var searchReturnOpts = map[string]bool{
	"MIN": true, "MAX": true, "ALL": true, "COUNT": true, "SAVE": true,
	"UPDATE": true, "CONTEXT": true, "PARTIAL": true,
}

func (p *parser) returnOpts(known map[string]bool) (opts []string, partial *PartialRange) {
	p.list(true, func() {
		w := p.word()
		if !known[w] {
			p.fail("unknown RETURN option %s", w)
		}
		if w == "PARTIAL" {
			if partial != nil {
				p.fail("PARTIAL given twice")
			}
			p.sp()
			partial = p.partialRange()
		}
		opts = append(opts, w)
	})
	return opts, partial
}

// partialRange reads RFC 9394 partial-range-first / partial-range-last.
func (p *parser) partialRange() *PartialRange {
	neg := p.accept('-')
	a := int64(p.nzNumber())
	p.expect(':')
	if neg {
		p.expect('-')
	}
	b := int64(p.nzNumber())
	if neg {
		return &PartialRange{First: -a, Last: -b}
	}
	return &PartialRange{First: a, Last: b}
}

// searchProgram reads ["CHARSET" SP charset SP] search-key *(SP search-key);
// charset is required for SORT and THREAD (needCharset).
func (p *parser) searchProgram(needCharset bool) (charset string, keys []SearchKey) {
	if needCharset {
		charset = upper(p.astring())
		p.sp()
	} else if p.keyword("CHARSET") {
		p.sp()
		charset = upper(p.astring())
		p.sp()
	}
	keys = append(keys, p.searchKey())
	for p.accept(' ') {
		keys = append(keys, p.searchKey())
	}
	return charset, keys
}

// searchKey reads one search-key. NOT, OR and parentheses count against
// the nesting limit.
func (p *parser) searchKey() SearchKey {
	c := p.peek()
	switch {
	case c == '(':
		k := SearchKey{Op: "AND"}
		p.list(false, func() { k.Keys = append(k.Keys, p.searchKey()) })
		return k
	case isDigit(c) || c == '*' || c == '$':
		return SearchKey{Op: "SEQSET", Set: p.seqSet(true)}
	}
	k := SearchKey{Op: p.word()}
	switch k.Op {
	case "ALL", "ANSWERED", "DELETED", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
		"UNANSWERED", "UNDELETED", "UNFLAGGED", "UNSEEN", "DRAFT", "UNDRAFT",
		"SAVEDATESUPPORTED":
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		p.sp()
		k.Value = p.astring()
	case "KEYWORD", "UNKEYWORD":
		p.sp()
		k.Value = p.atom()
	case "EMAILID", "THREADID":
		p.sp()
		k.Value = p.take(func(c byte) bool {
			return c == '-' || c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
		})
		if k.Value == "" || len(k.Value) > 255 {
			p.fail("invalid object id")
		}
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE",
		"SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		p.sp()
		k.Date = p.searchDate()
	case "HEADER":
		p.sp()
		k.Field = p.astring()
		p.sp()
		k.Value = p.astring()
	case "LARGER", "SMALLER":
		p.sp()
		k.Num = p.number64()
	case "OLDER", "YOUNGER":
		p.sp()
		k.Num = uint64(p.nzNumber())
	case "UID":
		p.sp()
		k.Set = p.seqSet(true)
	case "NOT":
		p.sp()
		p.enter()
		k.Keys = []SearchKey{p.searchKey()}
		p.leave()
	case "OR":
		p.sp()
		p.enter()
		a := p.searchKey()
		p.sp()
		b := p.searchKey()
		p.leave()
		k.Keys = []SearchKey{a, b}
	case "MODSEQ":
		p.sp()
		if p.peek() == '"' {
			k.EntryName = p.quoted()
			p.sp()
			k.EntryType = p.word()
			if k.EntryType != "PRIV" && k.EntryType != "SHARED" && k.EntryType != "ALL" {
				p.fail("invalid MODSEQ entry type %s", k.EntryType)
			}
			p.sp()
		}
		k.Num = p.modSeq(true)
	default:
		p.fail("unknown search key %s", k.Op)
	}
	return k
}

// searchDate reads date: date-text or a quoted date-text.
func (p *parser) searchDate() time.Time {
	q := p.accept('"')
	s := p.take(func(c byte) bool { return c == '-' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') })
	if q {
		p.expect('"')
	}
	t, err := ParseDate(s)
	if err != nil {
		p.fail("%v", err)
	}
	return t
}

// SortArgs is SORT / UID SORT (RFC 5256, RFC 5267 ESORT, RFC 5957
// DISPLAY sort keys).
type SortArgs struct {
	Return    []string // MIN, MAX, ALL, COUNT, PARTIAL, UPDATE, CONTEXT
	HasReturn bool
	Partial   *PartialRange
	Criteria  []SortCriterion
	Charset   string
	Keys      []SearchKey
}

// SortCriterion is one sort-criterion.
type SortCriterion struct {
	Key     string // ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, DISPLAYFROM, DISPLAYTO
	Reverse bool
}

var sortKeys = map[string]bool{
	"ARRIVAL": true, "CC": true, "DATE": true, "FROM": true, "SIZE": true,
	"SUBJECT": true, "TO": true, "DISPLAYFROM": true, "DISPLAYTO": true,
}

var sortReturnOpts = map[string]bool{
	"MIN": true, "MAX": true, "ALL": true, "COUNT": true, "PARTIAL": true,
	"UPDATE": true, "CONTEXT": true,
}

func parseSort(p *parser, _ *Command) any {
	a := &SortArgs{}
	p.sp()
	if p.keyword("RETURN") {
		a.HasReturn = true
		p.sp()
		a.Return, a.Partial = p.returnOpts(sortReturnOpts)
		p.sp()
	}
	p.list(false, func() {
		var c SortCriterion
		if p.keyword("REVERSE") {
			c.Reverse = true
			p.sp()
		}
		c.Key = p.word()
		if !sortKeys[c.Key] {
			p.fail("unknown sort key %s", c.Key)
		}
		a.Criteria = append(a.Criteria, c)
	})
	p.sp()
	a.Charset, a.Keys = p.searchProgram(true)
	return a
}

// ThreadArgs is THREAD / UID THREAD (RFC 5256).
type ThreadArgs struct {
	Algorithm string // upper case: ORDEREDSUBJECT, REFERENCES, ...
	Charset   string
	Keys      []SearchKey
}

func parseThread(p *parser, _ *Command) any {
	p.sp()
	a := &ThreadArgs{Algorithm: p.word()}
	p.sp()
	a.Charset, a.Keys = p.searchProgram(true)
	return a
}

// ParseSearchKeys parses a search program as it follows "SEARCH "
// (charset and keys, no RETURN), for tests and tools.
func ParseSearchKeys(s string, lim Limits) (charset string, keys []SearchKey, err error) {
	p := &parser{line: []byte(s), r: &Reader{lim: lim.withDefaults()}}
	defer catch(&err)
	charset, keys = p.searchProgram(false)
	p.end()
	return charset, keys, nil
}
