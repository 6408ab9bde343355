package mailtext

import (
	"bytes"
	"strings"
)

// maxHeaderFields bounds the fields read from one header.
const maxHeaderFields = 1000

type field struct{ name, value string }

type header []field

func (h header) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// parseHeader returns the offset of the body in b and the header fields,
// their continuation lines joined. A first line that is not a field makes
// the whole of b the body.
func parseHeader(b []byte) (int, header) {
	var h header
	var cont []string // continuation lines of the last field
	flush := func() {
		if len(cont) > 0 {
			last := &h[len(h)-1]
			last.value = strings.Join(append([]string{last.value}, cont...), " ")
			cont = cont[:0]
		}
	}
	i := 0
	for i < len(b) {
		line, next := b[i:], len(b)
		if nl := bytes.IndexByte(b[i:], '\n'); nl >= 0 {
			line, next = b[i:i+nl], i+nl+1
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			flush()
			return next, h
		}
		switch name, value, ok := bytes.Cut(line, []byte(":")); {
		case (line[0] == ' ' || line[0] == '\t') && len(h) > 0:
			cont = append(cont, string(bytes.TrimSpace(line)))
		case ok && len(h) < maxHeaderFields:
			flush()
			h = append(h, field{string(bytes.TrimSpace(name)), string(bytes.TrimSpace(value))})
		case i == 0:
			return 0, nil
		}
		i = next
	}
	flush()
	return len(b), h
}

// splitMultipart returns the parts between the boundary delimiter lines
// of a multipart body (RFC 2046 §5.1.1), at most MaxParts. The line end
// before a delimiter belongs to the delimiter.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var out [][]byte
	partStart := -1
	for i := 0; i < len(body) && len(out) < MaxParts; {
		lineEnd := len(body)
		if nl := bytes.IndexByte(body[i:], '\n'); nl >= 0 {
			lineEnd = i + nl + 1
		}
		line := bytes.TrimRight(body[i:lineEnd], " \t\r\n")
		if rest, ok := bytes.CutPrefix(line, delim); ok && (len(rest) == 0 || bytes.Equal(rest, []byte("--"))) {
			if partStart >= 0 {
				out = append(out, trimLineEnd(body[partStart:i]))
			}
			if len(rest) > 0 {
				return out
			}
			partStart = lineEnd
		}
		i = lineEnd
	}
	if partStart >= 0 && partStart < len(body) && len(out) < MaxParts {
		out = append(out, body[partStart:])
	}
	return out
}

// trimLineEnd drops one final CRLF or LF.
func trimLineEnd(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
