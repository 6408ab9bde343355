package mimeutil

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// SplitMultipart returns the parts between the boundary delimiter lines
// of a multipart body (RFC 2046 §5.1.1), at most max of them, and
// whether the close delimiter was found. The line end before a
// delimiter belongs to the delimiter.
func SplitMultipart(body []byte, boundary string, max int) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	partStart := -1
	for i := 0; i < len(body) && len(parts) < max; {
		lineEnd := len(body)
		if nl := bytes.IndexByte(body[i:], '\n'); nl >= 0 {
			lineEnd = i + nl + 1
		}
		line := bytes.TrimRight(body[i:lineEnd], " \t\r\n")
		if rest, ok := bytes.CutPrefix(line, delim); ok && (len(rest) == 0 || bytes.Equal(rest, []byte("--"))) {
			if partStart >= 0 {
				parts = append(parts, trimLineEnd(body[partStart:i]))
			}
			if len(rest) > 0 {
				return parts, true
			}
			partStart = lineEnd
		}
		i = lineEnd
	}
	if partStart >= 0 && partStart < len(body) && len(parts) < max {
		parts = append(parts, body[partStart:])
	}
	return parts, false
}

// trimLineEnd drops one final CRLF or LF.
func trimLineEnd(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// CleanText makes s valid UTF-8 without NUL: what PostgreSQL text can
// hold, and what a checker of text can trust.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// CutUTF8 cuts s to at most n bytes without splitting a character.
func CutUTF8(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
