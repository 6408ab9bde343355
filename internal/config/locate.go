package config

import (
	"strconv"
	"strings"
)

// lineIndex maps a dotted key path ("listeners.smtp") or table path
// ("listeners") to the 1-based line where it is first defined.
//
// The TOML library keeps key positions to itself, so indexLines finds them
// with a small scanner of its own. It is only asked about documents the
// parser has accepted, but it never panics or loops on any input.
type lineIndex map[string]int

// lineOf returns the line of key, or of its nearest enclosing table that
// appears in the file, or 0.
func (x lineIndex) lineOf(key string) int {
	for key != "" {
		if l, ok := x[key]; ok {
			return l
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// maxNesting bounds recursion into arrays and inline tables.
const maxNesting = 100

func indexLines(data []byte) lineIndex {
	s := &scanner{data: data, line: 1, idx: lineIndex{}}
	var table []string
	for !s.eof() {
		s.skipBlank()
		if s.eof() {
			break
		}
		start := s.pos
		line := s.line
		if s.peek() == '[' {
			s.next()
			if s.peek() == '[' {
				s.next()
			}
			table = s.keyPath()
			s.record(table, line)
		} else {
			full := append(append([]string(nil), table...), s.keyPath()...)
			s.record(full, line)
			s.skipSpace()
			if s.peek() == '=' {
				s.next()
			}
			s.value(full, 0)
		}
		s.skipLine()
		if s.pos == start {
			s.next()
		}
	}
	return s.idx
}

type scanner struct {
	data []byte
	pos  int
	line int
	idx  lineIndex
}

func (s *scanner) eof() bool { return s.pos >= len(s.data) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.data[s.pos]
}

func (s *scanner) has(prefix string) bool {
	return strings.HasPrefix(string(s.data[s.pos:]), prefix)
}

func (s *scanner) next() {
	if s.eof() {
		return
	}
	if s.data[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

// record notes the line of path and of each of its prefixes, unless an
// earlier line already defined them.
func (s *scanner) record(path []string, line int) {
	k := ""
	for _, part := range path {
		k = join(k, keyPart(part))
		if _, ok := s.idx[k]; !ok {
			s.idx[k] = line
		}
	}
}

func (s *scanner) skipSpace() {
	for s.peek() == ' ' || s.peek() == '\t' {
		s.next()
	}
}

// skipBlank skips whitespace, newlines and comments.
func (s *scanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.next()
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine skips to just past the next newline.
func (s *scanner) skipLine() {
	for !s.eof() {
		c := s.peek()
		s.next()
		if c == '\n' {
			return
		}
	}
}

// keyPath reads a dotted key such as a.b or "a b".c, stopping at '=', ']'
// or anything else that cannot continue a key.
func (s *scanner) keyPath() []string {
	var path []string
	for !s.eof() {
		s.skipSpace()
		var part string
		switch c := s.peek(); {
		case c == '"':
			part = s.basicString()
		case c == '\'':
			part = s.literalString()
		case isBare(c):
			start := s.pos
			for isBare(s.peek()) {
				s.next()
			}
			part = string(s.data[start:s.pos])
		default:
			return path
		}
		path = append(path, part)
		s.skipSpace()
		if s.peek() != '.' {
			return path
		}
		s.next()
	}
	return path
}

// keyPart writes one part of a key path as TOML would: bare if it can be,
// quoted otherwise, so that odd keys still show in error messages.
func keyPart(k string) string {
	for i := 0; i < len(k); i++ {
		if !isBare(k[i]) {
			return QuoteString(k)
		}
	}
	if k == "" {
		return `""`
	}
	return k
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// basicString reads a one-line "..." string and returns its contents,
// unescaped where Go's rules agree with TOML's.
func (s *scanner) basicString() string {
	s.next()
	start := s.pos
	for !s.eof() && s.peek() != '"' && s.peek() != '\n' {
		if s.peek() == '\\' {
			s.next()
		}
		s.next()
	}
	raw := string(s.data[start:min(s.pos, len(s.data))])
	if s.peek() == '"' {
		s.next()
	}
	if u, err := strconv.Unquote(`"` + raw + `"`); err == nil {
		return u
	}
	return raw
}

// literalString reads a one-line '...' string.
func (s *scanner) literalString() string {
	s.next()
	start := s.pos
	for !s.eof() && s.peek() != '\'' && s.peek() != '\n' {
		s.next()
	}
	raw := string(s.data[start:s.pos])
	if s.peek() == '\'' {
		s.next()
	}
	return raw
}

// multiline skips a multi-line string, opening delimiter included.
func (s *scanner) multiline(delim string, escapes bool) {
	s.pos += 3
	for !s.eof() {
		if s.has(delim) {
			s.pos += 3
			// Up to two quote characters may end the content itself.
			for i := 0; i < 2 && s.peek() == delim[0]; i++ {
				s.next()
			}
			return
		}
		if escapes && s.peek() == '\\' {
			s.next()
		}
		s.next()
	}
}

// value skips one value, recording the keys of inline tables under path.
func (s *scanner) value(path []string, depth int) {
	s.skipSpace()
	switch {
	case s.has(`"""`):
		s.multiline(`"""`, true)
	case s.has(`'''`):
		s.multiline(`'''`, false)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.literalString()
	case s.peek() == '[' && depth < maxNesting:
		s.next()
		s.items(']', path, depth, false)
	case s.peek() == '{' && depth < maxNesting:
		s.next()
		s.items('}', path, depth, true)
	default:
		for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.peek())) {
			s.next()
		}
	}
}

// items skips the elements of an array or the pairs of an inline table up
// to and including the closing byte.
func (s *scanner) items(closing byte, path []string, depth int, pairs bool) {
	for !s.eof() {
		s.skipBlank()
		start := s.pos
		switch s.peek() {
		case closing:
			s.next()
			return
		case ',':
			s.next()
			continue
		}
		if pairs {
			line := s.line
			full := append(append([]string(nil), path...), s.keyPath()...)
			s.record(full, line)
			s.skipSpace()
			if s.peek() == '=' {
				s.next()
			}
			s.value(full, depth+1)
		} else {
			s.value(path, depth+1)
		}
		if s.pos == start {
			s.next()
		}
	}
}
