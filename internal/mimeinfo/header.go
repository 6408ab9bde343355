package mimeinfo

import (
	"bytes"
	"mime"
	"slices"
	"strings"
)

// field is one header field, its value unfolded and trimmed.
type field struct{ name, value string }

// parseFields splits a raw header into fields. Lines that are neither a
// field nor a continuation are skipped.
func parseFields(b []byte) []field {
	var h []field
	for len(b) > 0 {
		line := b
		if nl := bytes.IndexByte(b, '\n'); nl >= 0 {
			line, b = b[:nl], b[nl+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(h) > 0 {
				v := strings.TrimSpace(string(line))
				if h[len(h)-1].value == "" {
					h[len(h)-1].value = v
				} else if v != "" {
					h[len(h)-1].value += " " + v
				}
			}
			continue
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok {
			h = append(h, field{string(bytes.TrimSpace(name)), strings.TrimSpace(string(value))})
		}
	}
	return h
}

// get returns the first field named name, or "".
func get(h []field, name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// describe fills in a part's type and content fields from its header.
func (p *Part) describe(h []field, defaultType string) {
	ct := get(h, "Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !strings.Contains(mt, "/") {
		mt, params = defaultType, nil
		if defaultType == "text/plain" {
			params = map[string]string{"charset": "us-ascii"}
		}
	}
	p.Type, p.Subtype, _ = strings.Cut(mt, "/")
	p.Params = sortedParams(params)
	p.ID = get(h, "Content-ID")
	p.Description = get(h, "Content-Description")
	p.Encoding = get(h, "Content-Transfer-Encoding")
	p.MD5 = get(h, "Content-MD5")
	p.Language = get(h, "Content-Language")
	p.Location = get(h, "Content-Location")
	if v := get(h, "Content-Disposition"); v != "" {
		if d, params, err := mime.ParseMediaType(v); err == nil {
			p.Disposition, p.DispParams = d, sortedParams(params)
		}
	}
}

func sortedParams(m map[string]string) []Param {
	if len(m) == 0 {
		return nil
	}
	out := make([]Param, 0, len(m))
	for k, v := range m {
		out = append(out, Param{k, v})
	}
	slices.SortFunc(out, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Param returns the value of a Content-Type parameter, or "".
func (p *Part) Param(name string) string {
	for _, pa := range p.Params {
		if pa.Name == name {
			return pa.Value
		}
	}
	return ""
}

// isMessage reports whether the part holds a message of its own.
func (p *Part) isMessage() bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
}

// envelope builds the envelope of a message header. Sender and Reply-To
// default to From (RFC 9051 §7.5.2); an empty field counts as absent.
func envelope(h []field) *Envelope {
	e := &Envelope{
		Date:       get(h, "Date"),
		Subject:    get(h, "Subject"),
		From:       ParseAddressList(get(h, "From")),
		Sender:     ParseAddressList(get(h, "Sender")),
		ReplyTo:    ParseAddressList(get(h, "Reply-To")),
		To:         ParseAddressList(get(h, "To")),
		Cc:         ParseAddressList(get(h, "Cc")),
		Bcc:        ParseAddressList(get(h, "Bcc")),
		InReplyTo:  get(h, "In-Reply-To"),
		MessageID:  get(h, "Message-ID"),
		References: get(h, "References"),
	}
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}
