package mimeinfo

import (
	"mime"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// describe fills in a part's type and content fields from its header.
func (p *Part) describe(h mimeutil.Header, defaultType string) {
	ct := h.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || !strings.Contains(mt, "/") {
		mt, params = defaultType, nil
		if defaultType == "text/plain" {
			params = map[string]string{"charset": "us-ascii"}
		}
	}
	p.Type, p.Subtype, _ = strings.Cut(mt, "/")
	p.Params = sortedParams(params)
	p.ID = h.Get("Content-ID")
	p.Description = h.Get("Content-Description")
	p.Encoding = h.Get("Content-Transfer-Encoding")
	p.MD5 = h.Get("Content-MD5")
	p.Language = h.Get("Content-Language")
	p.Location = h.Get("Content-Location")
	if v := h.Get("Content-Disposition"); v != "" {
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

// IsMessage reports whether the part holds a message of its own: a
// message/rfc822 part, or message/global (RFC 6532 §3.5).
func (p *Part) IsMessage() bool {
	return p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
}

// envelope builds the envelope of a message header. Sender and Reply-To
// default to From (RFC 9051 §7.5.2); an empty field counts as absent.
func envelope(h mimeutil.Header) *Envelope {
	e := &Envelope{
		Date:       h.Get("Date"),
		Subject:    h.Get("Subject"),
		From:       ParseAddressList(h.Get("From")),
		Sender:     ParseAddressList(h.Get("Sender")),
		ReplyTo:    ParseAddressList(h.Get("Reply-To")),
		To:         ParseAddressList(h.Get("To")),
		Cc:         ParseAddressList(h.Get("Cc")),
		Bcc:        ParseAddressList(h.Get("Bcc")),
		InReplyTo:  h.Get("In-Reply-To"),
		MessageID:  h.Get("Message-ID"),
		References: h.Get("References"),
	}
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}
