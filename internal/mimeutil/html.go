package mimeutil

import (
	"html"
	"strings"
)

// HTMLText reduces HTML to its text: markup, comments, and the contents
// of script, style and head elements go; entities are decoded; runs of
// white space become one space, as a browser shows them. Inline elements
// join the text around them ("wor<b>ld</b>" is "world"); others separate.
func HTMLText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(html.UnescapeString(s))
			break
		}
		b.WriteString(html.UnescapeString(s[:i]))
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		name := tagName(s)
		if name == "script" || name == "style" || name == "head" {
			end := indexFold(s, "</"+name)
			if end < 0 {
				break // never closed: the rest is not text
			}
			s = s[end:]
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		if !inline[tagName(s)] {
			b.WriteByte(' ')
		}
		s = s[j+1:]
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// inline are the elements that do not break words.
var inline = map[string]bool{
	"a": true, "abbr": true, "b": true, "big": true, "code": true, "em": true, "font": true, "i": true,
	"mark": true, "s": true, "small": true, "span": true, "strike": true, "strong": true, "sub": true,
	"sup": true, "u": true, "wbr": true,
}

// tagName returns the lower-case element name of the tag s starts with,
// opening or closing.
func tagName(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "<"), "/")
	n := 0
	for n < len(s) && n < 16 && isNameByte(s[n]|0x20) {
		n++
	}
	return strings.ToLower(s[:n])
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

// indexFold is strings.Index ignoring ASCII case; sub is lower case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
