package imaptest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// token is one IMAP value: an atom, a string (quoted or literal) or a
// parenthesised or bracketed list.
type token struct {
	kind byte // 'a' atom, 's' string, '(' list, '[' list
	s    string
	list []token
	// anyCR marks a literal an expectation gives as ~{{{...}}}, the text
	// as it is in the script: it is compared by looseLineEnds.
	anyCR bool
}

// looseLineEnds drops CRs and the line ends at the end, for comparing a
// ~{{{ literal: the script spells its line ends as they are in the file,
// and cannot spell a last line end that the server sends.
func looseLineEnds(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n")
}

func (t token) String() string {
	switch t.kind {
	case 's':
		return strconv.Quote(t.s)
	case '(', '[':
		var parts []string
		for _, e := range t.list {
			parts = append(parts, e.String())
		}
		end := ")"
		if t.kind == '[' {
			end = "]"
		}
		return string(t.kind) + strings.Join(parts, " ") + end
	}
	return t.s
}

// tokenize parses a response (or an expectation) whose literals are given
// inline as "{n}\r\n" followed by n bytes. In expectations "${...}" is part
// of the atom.
func tokenize(s string) ([]token, error) {
	toks, rest, err := tokenList(s, 0)
	if err != nil {
		return nil, err
	}
	if rest != len(s) {
		return nil, fmt.Errorf("unbalanced %q at %d", s[rest:rest+1], rest)
	}
	return toks, nil
}

func tokenList(s string, i int) ([]token, int, error) {
	var toks []token
	for i < len(s) {
		switch c := s[i]; {
		case c == ' ' || c == '\r' || c == '\n':
			i++
		case c == ')' || c == ']':
			return toks, i, nil
		case c == '(' || c == '[':
			inner, j, err := tokenList(s, i+1)
			if err != nil {
				return nil, 0, err
			}
			if j >= len(s) {
				return nil, 0, fmt.Errorf("unterminated list")
			}
			toks = append(toks, token{kind: c, list: inner})
			i = j + 1
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			toks = append(toks, token{kind: 's', s: b.String()})
			i = j + 1
		case c == '{' || (c == '~' && strings.HasPrefix(s[i:], "~{")):
			start := i
			if c == '~' {
				i++
			}
			end := strings.Index(s[i:], "}\r\n")
			n, err := -1, error(nil)
			if end > 0 {
				n, err = strconv.Atoi(strings.TrimSuffix(s[i+1:i+end], "+"))
			}
			if end <= 0 || err != nil || n < 0 || i+end+3+n > len(s) {
				// Not a literal: an atom that happens to start with a brace.
				j := atomEnd(s, start)
				toks = append(toks, token{kind: 'a', s: s[start:j]})
				i = j
				continue
			}
			i += end + 3
			toks = append(toks, token{kind: 's', s: s[i : i+n], anyCR: c == '~'})
			i += n
		default:
			j := atomEnd(s, i)
			toks = append(toks, token{kind: 'a', s: s[i:j]})
			i = j
		}
	}
	return toks, i, nil
}

// atomEnd finds where an atom ends; a bracketed section (BODY[HEADER.FIELDS
// (A B)]) and ${name} belong to the atom, and a trailing <partial> too.
func atomEnd(s string, i int) int {
	start := i
	for i < len(s) {
		switch s[i] {
		case ' ', '(', ')', '\r', '\n', '"':
			return i
		case ']':
			return i
		case '$':
			if strings.HasPrefix(s[i:], "${") {
				if end := strings.IndexByte(s[i:], '}'); end > 0 {
					i += end + 1
					continue
				}
			}
			i++
		case '[':
			if i == start {
				return i
			}
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '[' {
					depth++
				} else if s[i] == ']' {
					depth--
					if depth == 0 {
						i++
						break
					}
				}
			}
		default:
			i++
		}
	}
	return i
}

// matcher compares replies with expectations, binding variables.
type matcher struct {
	vars     map[string]string
	expunged []int // sequence numbers expunged since the command began
}

// seqOf maps message n as numbered when the command began to its current
// sequence number, or 0 if it has been expunged.
func (m *matcher) seqOf(n int) int {
	for _, k := range m.expunged {
		switch {
		case k == n:
			return 0
		case k < n:
			n--
		}
	}
	return n
}

// matchReply matches a whole untagged reply. Variables are bound only when
// the whole reply matches.
func (m *matcher) matchReply(exp, got []token) bool {
	trial := &matcher{vars: map[string]string{}, expunged: m.expunged}
	for k, v := range m.vars {
		trial.vars[k] = v
	}
	ctx := ""
	if len(exp) > 0 {
		ctx = strings.ToLower(exp[0].s)
	}
	// Status replies carry free text after the expected part.
	extra := ctx == "ok" || ctx == "no" || ctx == "bad" || ctx == "bye" || ctx == "preauth"
	if !extra && len(exp) != len(got) || len(got) < len(exp) {
		return false
	}
	for i := range exp {
		c := ""
		if i > 0 && exp[i-1].kind == 'a' {
			c = strings.ToLower(exp[i-1].s)
		}
		if i > 1 && strings.EqualFold(exp[0].s, "status") {
			c = "status"
		}
		if i > 0 && (strings.EqualFold(exp[0].s, "list") || strings.EqualFold(exp[0].s, "lsub")) && i == 1 {
			c = "list"
		}
		if !trial.match(exp[i], got[i], c) {
			return false
		}
	}
	m.vars = trial.vars
	return true
}

// match compares one value; ctx names the keyword before it, which picks
// the default list directives.
func (m *matcher) match(exp, got token, ctx string) bool {
	if exp.kind == 'a' || exp.kind == 's' {
		if exp.kind == 'a' && exp.s == "$" {
			return true
		}
		if exp.kind == 'a' && isVar(exp.s) && got.kind != 'a' && got.kind != 's' {
			return m.bindWhole(exp.s, got.String())
		}
		if got.kind != 'a' && got.kind != 's' {
			return false
		}
		if exp.anyCR {
			return m.matchText(looseLineEnds(exp.s), looseLineEnds(got.s))
		}
		return m.matchText(exp.s, got.s)
	}
	if exp.kind != got.kind {
		return false
	}
	return m.matchList(exp.list, got.list, ctx)
}

var wholeVar = regexp.MustCompile(`^\$(\{[A-Za-z0-9_]+\}|[A-Za-z0-9_]+)$`)

func isVar(s string) bool { return wholeVar.MatchString(s) }

func (m *matcher) bindWhole(v, got string) bool {
	name := strings.Trim(v[1:], "{}")
	if old, ok := m.vars[name]; ok {
		return strings.EqualFold(old, got)
	}
	m.vars[name] = got
	return true
}

// matchText matches a string with $variables against a received string.
func (m *matcher) matchText(exp, got string) bool {
	if !strings.Contains(exp, "$") {
		// No variables: compared without a regexp, which could not hold
		// the invalid UTF-8 that binary data is.
		return exp == got || utf8.ValidString(exp) && utf8.ValidString(got) && strings.EqualFold(exp, got)
	}
	var re strings.Builder
	re.WriteString(`^`)
	var binds []string
	for i := 0; i < len(exp); {
		if exp[i] != '$' {
			j := strings.IndexByte(exp[i:], '$')
			if j < 0 {
				j = len(exp) - i
			}
			re.WriteString(`(?i:` + regexp.QuoteMeta(exp[i:i+j]) + `)`)
			i += j
			continue
		}
		if strings.HasPrefix(exp[i:], "$$") {
			re.WriteString(`\$`)
			i += 2
			continue
		}
		name, n := varName(exp[i:])
		i += n
		switch {
		case name == "":
			re.WriteString(`.*`)
		case strings.HasPrefix(name, "case:"):
			re.WriteString(regexp.QuoteMeta(name[5:]))
		case isDigits(name):
			k, _ := strconv.Atoi(name)
			seq := m.seqOf(k)
			if seq == 0 {
				return false
			}
			re.WriteString(strconv.Itoa(seq))
		default:
			if v, ok := m.vars[name]; ok {
				re.WriteString(`(?i:` + regexp.QuoteMeta(v) + `)`)
			} else {
				re.WriteString(`(.*?)`)
				binds = append(binds, name)
			}
		}
	}
	re.WriteString(`$`)
	r, err := regexp.Compile(`(?s)` + re.String())
	if err != nil {
		return false
	}
	sub := r.FindStringSubmatch(got)
	if sub == nil {
		return false
	}
	for i, name := range binds {
		if old, ok := m.vars[name]; ok && !strings.EqualFold(old, sub[i+1]) {
			return false
		}
		m.vars[name] = sub[i+1]
	}
	return true
}

// varName reads "$name" or "${name}" at the start of s, returning the name
// and the length consumed; a lone "$" gives an empty name.
func varName(s string) (string, int) {
	if strings.HasPrefix(s, "${") {
		if end := strings.IndexByte(s, '}'); end > 0 {
			return s[2:end], end + 1
		}
	}
	j := 1
	for j < len(s) && (s[j] == '_' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
		j++
	}
	return s[1:j], j
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// directives is how a list is compared.
type directives struct {
	unordered int // 0: ordered; n: chains of n elements in any order
	extra     bool
	ignore    []token
	ban       []token
}

func (m *matcher) matchList(exp, got []token, ctx string) bool {
	var d directives
	explicit := false
	var elems []token
	for _, e := range exp {
		if e.kind != 'a' || !strings.HasPrefix(e.s, "$!") {
			elems = append(elems, e)
			continue
		}
		explicit = true
		name, arg, _ := strings.Cut(strings.ToLower(e.s[2:]), "=")
		switch name {
		case "ordered":
			d.unordered = 0
		case "unordered":
			d.unordered, d.extra = 1, true
			if n, err := strconv.Atoi(arg); err == nil && n > 0 {
				d.unordered = n
			}
		case "noextra":
			d.extra = false
		case "extra":
			d.extra = true
		case "ignore":
			d.ignore = append(d.ignore, token{kind: 'a', s: arg})
		case "ban":
			d.ban = append(d.ban, token{kind: 'a', s: arg})
		}
	}
	if !explicit {
		switch ctx {
		case "fetch", "status":
			d = directives{unordered: 2, extra: true}
		case "flags":
			d = directives{unordered: 1, ignore: []token{{kind: 'a', s: `\recent`}}}
		case "list":
			d = directives{unordered: 1, extra: true}
		}
	}
	if d.unordered == 0 {
		if len(elems) != len(got) {
			return false
		}
		for i := range elems {
			if !m.match(elems[i], got[i], keyword(elems, i)) {
				return false
			}
		}
		return true
	}
	n := d.unordered
	if len(elems)%n != 0 || len(got)%n != 0 {
		return false
	}
	used := make([]bool, len(got)/n)
	for i := 0; i < len(elems); i += n {
		found := false
		for j := 0; j < len(got) && !found; j += n {
			if used[j/n] {
				continue
			}
			trial := &matcher{vars: copyVars(m.vars), expunged: m.expunged}
			ok := true
			for k := 0; k < n && ok; k++ {
				ok = trial.match(elems[i+k], got[j+k], keyword(elems, i+k))
			}
			if ok {
				m.vars, used[j/n], found = trial.vars, true, true
			}
		}
		if !found {
			return false
		}
	}
	for j := 0; j < len(got); j += n {
		if used[j/n] {
			continue
		}
		if !d.extra && !inList(d.ignore, got[j]) {
			return false
		}
		if d.extra && inList(d.ban, got[j]) {
			return false
		}
	}
	return true
}

// keyword returns the atom before element i, which names what it is.
func keyword(elems []token, i int) string {
	if i > 0 && elems[i-1].kind == 'a' {
		return strings.ToLower(elems[i-1].s)
	}
	return ""
}

func inList(list []token, t token) bool {
	for _, e := range list {
		if (t.kind == 'a' || t.kind == 's') && strings.EqualFold(e.s, t.s) {
			return true
		}
	}
	return false
}

func copyVars(v map[string]string) map[string]string {
	c := make(map[string]string, len(v))
	for k, x := range v {
		c[k] = x
	}
	return c
}

// expand substitutes bound variables into a command, "$$" being a dollar.
func expand(s string, vars map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "$$") {
			b.WriteByte('$')
			i += 2
			continue
		}
		name, n := varName(s[i:])
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("unbound variable $%s", name)
		}
		b.WriteString(v)
		i += n
	}
	return b.String(), nil
}
