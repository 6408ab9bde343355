package content

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// splitMultipart returns the parts between the boundary delimiter lines
// of a multipart body (RFC 2046 §5.1.1), at most MaxParts, and whether
// the close delimiter was found. The line end before a delimiter belongs
// to the delimiter.
func splitMultipart(body []byte, boundary string) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	partStart := -1
	for i := 0; i < len(body) && len(parts) < MaxParts; {
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
	if partStart >= 0 && partStart < len(body) && len(parts) < MaxParts {
		parts = append(parts, body[partStart:])
	}
	return parts, false
}

// trimLineEnd drops one final CRLF or LF.
func trimLineEnd(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// maxAddresses bounds the mailboxes kept of one field.
const maxAddresses = 1000

// addresses returns the mailboxes of every header field called name.
// A field that net/mail cannot parse is read leniently: comma-separated
// items, an address in angle brackets or a word with an "@".
func (p *parser) addresses(name string) []Address {
	var out []Address
	for _, v := range p.m.Values(name) {
		if len(out) >= maxAddresses {
			break
		}
		list, err := addrParser.ParseList(v)
		if err != nil {
			p.flaw(FlawBadAddress)
			out = append(out, lenientAddresses(v)...)
			continue
		}
		for _, a := range list {
			out = append(out, Address{Name: clean(a.Name), Addr: lowerDomain(a.Address)})
		}
	}
	if len(out) > maxAddresses {
		out = out[:maxAddresses]
	}
	return out
}

// addrParser decodes encoded words in display names; the values were
// decoded already, but an undecodable word is left for it to try.
var addrParser = &mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: mimeutil.CharsetReader}}

// lenientAddresses reads an address list that is not RFC 5322.
func lenientAddresses(v string) []Address {
	var out []Address
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var a Address
		if lt := strings.LastIndexByte(item, '<'); lt >= 0 {
			addr, _, _ := strings.Cut(item[lt+1:], ">")
			a.Addr = strings.TrimSpace(addr)
			a.Name = strings.Trim(strings.TrimSpace(item[:lt]), `"' `)
		} else {
			for _, w := range strings.Fields(item) {
				if strings.Contains(w, "@") {
					a.Addr = strings.Trim(w, `"'()[]`)
				} else {
					a.Name = strings.TrimSpace(a.Name + " " + strings.Trim(w, `"'()`))
				}
			}
		}
		if a.Addr == "" && a.Name == "" {
			continue
		}
		a.Addr = lowerDomain(a.Addr)
		out = append(out, a)
	}
	return out
}

// lowerDomain lower-cases the domain of an address, keeping the local
// part as written.
func lowerDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	return addr[:at+1] + strings.ToLower(addr[at+1:])
}
