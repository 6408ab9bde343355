package mailtext

import "bytes"

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
