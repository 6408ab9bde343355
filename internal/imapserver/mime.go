package imapserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/store"
)

// This parser reads whole messages into memory for SEARCH, which matches
// every message until Sealpost has a search index. FETCH reads the
// summary package mimeinfo made when the message was stored.

// maxParse is the largest message SEARCH reads into memory; larger ones
// are searched by their top-level header alone.
const maxParse = mimeinfo.MaxParse

// maxPartDepth bounds MIME nesting; deeper parts are taken as opaque.
const maxPartDepth = 20

// field is one header field, its value unfolded.
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

// part is a MIME entity located by offsets into the raw message.
type part struct {
	start, bodyStart, end int
	header                header
	mediaType, subType    string
	params                map[string]string
	children              []*part // multipart parts
	message               *part   // the message inside a message/rfc822 part
	// oversize is the length of the body not read (messages over maxParse).
	oversize int64
}

// parsePart parses the entity in raw[start:end].
func parsePart(raw []byte, start, end, depth int, defaultType string) *part {
	p := &part{start: start, end: end}
	p.bodyStart, p.header = parseHeader(raw[start:end])
	p.bodyStart += start
	ct := p.header.get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !strings.Contains(mt, "/") {
		mt, params = defaultType, map[string]string{}
		if defaultType == "text/plain" {
			params["charset"] = "us-ascii"
		}
	}
	p.mediaType, p.subType, _ = strings.Cut(mt, "/")
	p.params = params
	if depth >= maxPartDepth {
		return p
	}
	switch {
	case p.mediaType == "multipart" && params["boundary"] != "":
		child := "text/plain"
		if p.subType == "digest" {
			child = "message/rfc822"
		}
		for _, r := range splitMultipart(raw, p.bodyStart, end, params["boundary"]) {
			p.children = append(p.children, parsePart(raw, r[0], r[1], depth+1, child))
		}
		if len(p.children) == 0 {
			p.children = []*part{parsePart(raw, p.bodyStart, p.bodyStart, depth+1, "text/plain")}
		}
	case p.mediaType == "message" && (p.subType == "rfc822" || p.subType == "global"):
		p.message = parsePart(raw, p.bodyStart, end, depth+1, "text/plain")
	}
	return p
}

// parseHeader returns the offset of the body in b and the header fields.
func parseHeader(b []byte) (int, header) {
	var h header
	i := 0
	for i < len(b) {
		nl := bytes.IndexByte(b[i:], '\n')
		line := b[i:]
		next := len(b)
		if nl >= 0 {
			line, next = b[i:i+nl], i+nl+1
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return next, h
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h) > 0 {
			h[len(h)-1].value += " " + strings.TrimSpace(string(line))
		} else if name, value, ok := bytes.Cut(line, []byte(":")); ok {
			h = append(h, field{string(bytes.TrimSpace(name)), strings.TrimSpace(string(value))})
		} else if i == 0 {
			return 0, nil // not a header at all: all body
		}
		i = next
	}
	return len(b), h
}

// splitMultipart returns the [start, end) ranges of the parts between
// boundary delimiter lines (RFC 2046 §5.1.1). The line end before a
// delimiter belongs to the delimiter.
func splitMultipart(raw []byte, start, end int, boundary string) [][2]int {
	delim := []byte("--" + boundary)
	var out [][2]int
	partStart := -1
	i := start
	for i < end {
		nl := bytes.IndexByte(raw[i:end], '\n')
		lineEnd := end
		if nl >= 0 {
			lineEnd = i + nl + 1
		}
		line := bytes.TrimRight(raw[i:lineEnd], " \t\r\n")
		if bytes.HasPrefix(line, delim) {
			rest := line[len(delim):]
			closing := bytes.Equal(rest, []byte("--"))
			if len(rest) == 0 || closing {
				if partStart >= 0 {
					e := i
					if e > partStart && raw[e-1] == '\n' {
						e--
						if e > partStart && raw[e-1] == '\r' {
							e--
						}
					}
					out = append(out, [2]int{partStart, e})
				}
				if closing {
					return out
				}
				partStart = lineEnd
			}
		}
		i = lineEnd
	}
	if partStart >= 0 && partStart < end {
		out = append(out, [2]int{partStart, end})
	}
	return out
}

// parseMessage reads a message (up to maxParse bytes) and parses its MIME
// structure. Larger messages get a structure from the header alone.
func (ss *session) parseMessage(ctx context.Context, m store.Message) ([]byte, *part, error) {
	body, err := ss.srv.store.OpenBody(ctx, m.BlobID)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the body: %w", err)
	}
	defer body.Close()
	if m.Size > maxParse {
		hdr, err := readHeader(bufio.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		p := parsePart(hdr, 0, len(hdr), 0, "text/plain")
		p.end, p.oversize = len(hdr), m.Size-int64(len(hdr))
		return hdr, p, nil
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxParse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the body: %w", err)
	}
	return raw, parsePart(raw, 0, len(raw), 0, "text/plain"), nil
}

// readHeader reads a header up to its blank line, at most maxHeader bytes.
func readHeader(br *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for len(hdr) < maxHeader {
		line, err := br.ReadSlice('\n')
		hdr = append(hdr, line...)
		if errors.Is(err, io.EOF) || string(line) == "\r\n" || string(line) == "\n" {
			return hdr, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("reading the header: %w", err)
		}
	}
	return hdr, nil
}
