package imapserver

import (
	"bytes"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"sealpost.dev/sealpost/internal/imap"
)

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

// findPart follows a section-part path (RFC 9051 §6.4.5).
func findPart(p *part, path []uint32) *part {
	for _, n := range path {
		if p.message != nil {
			p = p.message
		}
		switch {
		case len(p.children) > 0:
			if n == 0 || int(n) > len(p.children) {
				return nil
			}
			p = p.children[n-1]
		case n == 1:
			// Part 1 of a non-multipart message is its body.
		default:
			return nil
		}
	}
	return p
}

// sectionData returns the bytes of a section; false if it does not exist.
func sectionData(top *part, raw []byte, s *imap.Section) ([]byte, bool) {
	p := findPart(top, s.Part)
	if p == nil {
		return nil, false
	}
	// HEADER and TEXT of a message/rfc822 part address the inner message.
	msg := p
	if len(s.Part) > 0 && p.message != nil && s.Specifier != "MIME" && s.Specifier != "" {
		msg = p.message
	}
	switch s.Specifier {
	case "":
		if len(s.Part) == 0 {
			return raw[p.start:p.end], true
		}
		return raw[p.bodyStart:p.end], true
	case "MIME":
		if len(s.Part) == 0 {
			return nil, false
		}
		return raw[p.start:p.bodyStart], true
	case "HEADER":
		return raw[msg.start:msg.bodyStart], true
	case "TEXT":
		return raw[msg.bodyStart:msg.end], true
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		return filterHeader(raw[msg.start:msg.bodyStart], s.Fields, s.Specifier == "HEADER.FIELDS.NOT"), true
	}
	return nil, false
}

// filterHeader keeps (or, with not, drops) the named fields, with their
// continuation lines, and ends with the blank line.
func filterHeader(hdr []byte, names []string, not bool) []byte {
	var out []byte
	keep := false
	for len(hdr) > 0 {
		nl := bytes.IndexByte(hdr, '\n')
		line := hdr
		if nl >= 0 {
			line = hdr[:nl+1]
		}
		hdr = hdr[len(line):]
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 {
			break
		}
		if t[0] != ' ' && t[0] != '\t' {
			name, _, _ := bytes.Cut(t, []byte(":"))
			in := false
			for _, n := range names {
				if strings.EqualFold(strings.TrimSpace(string(name)), n) {
					in = true
				}
			}
			keep = in != not
		}
		if keep {
			out = append(out, line...)
		}
	}
	return append(out, "\r\n"...)
}

// nstring writes a header value or NIL when empty.
func nstring(w *imap.Writer, s string) {
	w.NString(s, s != "")
}

// writeEnvelope writes an ENVELOPE (RFC 9051 §7.5.2). Strings are sent
// as they are in the header, encoded words included.
func writeEnvelope(w *imap.Writer, h header) {
	w.Open()
	nstring(w, h.get("Date"))
	w.SP()
	nstring(w, h.get("Subject"))
	from := h.get("From")
	for _, name := range []string{"From", "Sender", "Reply-To", "To", "Cc", "Bcc"} {
		w.SP()
		v := h.get(name)
		if v == "" && (name == "Sender" || name == "Reply-To") {
			v = from
		}
		writeAddresses(w, v)
	}
	w.SP()
	nstring(w, h.get("In-Reply-To"))
	w.SP()
	nstring(w, h.get("Message-Id"))
	w.Close()
}

func writeAddresses(w *imap.Writer, v string) {
	if v == "" {
		w.NIL()
		return
	}
	addrs, err := mail.ParseAddressList(v)
	if err != nil || len(addrs) == 0 {
		w.NIL()
		return
	}
	w.Open()
	for _, a := range addrs {
		local, domain, _ := strings.Cut(a.Address, "@")
		name := a.Name
		if !isASCII(name) {
			name = mime.QEncoding.Encode("utf-8", name)
		}
		w.Open()
		nstring(w, name)
		w.Atom(" NIL ")
		nstring(w, local)
		w.SP()
		nstring(w, domain)
		w.Close()
	}
	w.Close()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// writeBodyStructure writes BODYSTRUCTURE (ext) or BODY (RFC 9051 §7.5.2).
func writeBodyStructure(w *imap.Writer, p *part, raw []byte, ext bool) {
	w.Open()
	if len(p.children) > 0 {
		for _, c := range p.children {
			writeBodyStructure(w, c, raw, ext)
		}
		w.SP().String(p.subType)
		if ext {
			w.SP()
			writeParams(w, p.params)
			w.SP()
			writeDisposition(w, p.header)
			w.Atom(" NIL NIL")
		}
		w.Close()
		return
	}
	w.String(p.mediaType).SP().String(p.subType).SP()
	writeParams(w, p.params)
	w.SP()
	nstring(w, p.header.get("Content-Id"))
	w.SP()
	nstring(w, p.header.get("Content-Description"))
	w.SP()
	enc := strings.ToUpper(p.header.get("Content-Transfer-Encoding"))
	if enc == "" {
		enc = "7BIT"
	}
	w.String(enc)
	body := raw[min(p.bodyStart, p.end):p.end]
	w.SP().Number(uint64(int64(len(body)) + p.oversize))
	switch {
	case p.message != nil:
		w.SP()
		writeEnvelope(w, p.message.header)
		w.SP()
		writeBodyStructure(w, p.message, raw, ext)
		w.SP().Number(lines(body))
	case p.mediaType == "text":
		w.SP().Number(lines(body))
	}
	if ext {
		w.Atom(" NIL ")
		writeDisposition(w, p.header)
		w.Atom(" NIL NIL")
	}
	w.Close()
}

func writeParams(w *imap.Writer, params map[string]string) {
	if len(params) == 0 {
		w.NIL()
		return
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.Open()
	for i, k := range keys {
		if i > 0 {
			w.SP()
		}
		w.String(k).SP().String(params[k])
	}
	w.Close()
}

func writeDisposition(w *imap.Writer, h header) {
	v := h.get("Content-Disposition")
	d, params, err := mime.ParseMediaType(v)
	if v == "" || err != nil {
		w.NIL()
		return
	}
	w.Open().String(d).SP()
	writeParams(w, params)
	w.Close()
}

// lines counts body lines, an unterminated last line included (a part's
// final line end belongs to the boundary that follows it).
func lines(b []byte) uint64 {
	n := bytes.Count(b, []byte("\n"))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return uint64(n)
}
