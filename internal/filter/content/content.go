// Package content parses a message once into what every filter check
// reads: the top-level header with its encoded words decoded (RFC 5322,
// RFC 2047), the addresses of From, Reply-To, To and Cc, the decoded text
// of the body (MIME: RFC 2045 transfer encodings, RFC 2046 multiparts and
// message/rfc822, charsets converted to UTF-8; an HTML part whose
// Content-Type names none is read in the charset its meta element
// declares, as browsers read it), the HTML as sent, the
// links found in HTML anchors, areas and forms and as bare URLs in plain
// text, and the attachments decoded.
//
// Parse never fails and everything is bounded (MaxInput, MaxText,
// MaxParts, MaxDepth, MaxLinks, MaxAttachments, MaxAttachmentData): what
// lies beyond a bound is dropped and noted in Message.Flaws, along with
// the other structural oddities met (a multipart without its boundary,
// base64 that does not decode, an unknown charset ...). Those oddities are
// themselves signs the classifier can weigh.
//
// Left out: RFC 2231 continuations beyond what mime.ParseMediaType does;
// uuencoded and BinHex bodies (kept as text); S/MIME and PGP (signed or
// encrypted parts are attachments); links in CSS, in <img src> and in
// scripts; text extracted from attachments (PDF, office documents).
package content

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	htmlcharset "golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/htmlindex"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// Bounds: everything is bounded and Parse never fails.
const (
	MaxInput          = 16 << 20 // bytes of the message read
	MaxText           = 1 << 20  // bytes of body text kept
	MaxParts          = 500
	MaxDepth          = 20
	MaxLinks          = 1000
	MaxAttachments    = 100
	MaxAttachmentData = 16 << 20 // decoded bytes kept per attachment (Truncated beyond)
)

// Address is one mailbox of an address field.
type Address struct{ Name, Addr string } // display name decoded (RFC 2047); Addr as written, domain lower-cased

// Field is a top-level header field.
type Field struct{ Name, Value string } // top-level header field, value unfolded + RFC 2047 decoded

// Link is a link found in the body.
type Link struct {
	Text string // the anchor's visible text (HTML), "" for a bare URL in text
	Href string // as written (entities decoded), trimmed, tabs and line breaks dropped
	Host string // lower-cased host of Href; IDNs as Unicode; "" if none (mailto:, relative)
	HTML bool   // from an <a href>, <area>, <form action> (Form true) ...
	Form bool   // a <form action=...>: a form in mail is a phishing sign
}

// Attachment is a non-text leaf part, or a text part with a file name.
type Attachment struct {
	Name      string // decoded file name ("" if none)
	Type      string // media type, lower-cased ("application/octet-stream" when unknown)
	Size      int    // decoded size (may exceed len(Data))
	Data      []byte // decoded bytes, at most MaxAttachmentData
	Truncated bool
	Inline    bool // Content-Disposition inline or none
}

// Message is a parsed message.
type Message struct {
	Header     []Field
	From       []Address
	ReplyTo    []Address
	To, Cc     []Address
	ReturnPath string // as found, "" if none
	Subject    string
	Text       string // decoded text of text/plain parts, and HTML reduced to text
	HTML       string // raw decoded HTML of text/html parts (for checks that want markup), bounded
	// PlainText is how many bytes of Text came from text/plain parts
	// (the rest is HTML reduced to text): HTML sent without a plain
	// alternative, or saying much more than it, is a spam sign.
	PlainText   int
	Links       []Link
	Attachments []Attachment // every non-text leaf part, and text parts with a file name
	Flaws       []string     // structural oddities met: "bad boundary", "too deep", "bad base64", ...
	// Arrival is when the message arrived: the date of its topmost
	// Received field, which for stored mail is the receiving server's
	// own; zero when there is none or it does not parse. A caller that
	// knows better (a server reading a message as it arrives, before
	// its own trace field is added) sets it.
	Arrival time.Time
}

// The flaws Parse notes.
const (
	FlawTruncated       = "truncated"           // the input exceeded MaxInput
	FlawNoHeader        = "no header"           // the message does not start with a header
	FlawBadContentType  = "bad content-type"    // a Content-Type that does not parse
	FlawBadBoundary     = "bad boundary"        // a multipart without boundary, or whose boundary never occurs
	FlawNoEnd           = "no closing boundary" // a multipart whose close delimiter is missing
	FlawTooDeep         = "too deep"            // nesting beyond MaxDepth
	FlawTooManyParts    = "too many parts"      // parts beyond MaxParts
	FlawBadBase64       = "bad base64"
	FlawBadQP           = "bad quoted-printable"
	FlawUnknownEncoding = "unknown transfer encoding"
	FlawUnknownCharset  = "unknown charset"
	FlawBadUTF8         = "bad utf-8" // text that is not valid in its charset
	FlawTextTruncated   = "text truncated"
	FlawTooManyLinks    = "too many links"
	FlawTooManyAttach   = "too many attachments"
	FlawAttachTruncated = "attachment truncated"
	FlawBadAddress      = "bad address" // an address field that does not parse as RFC 5322
)

// Parse parses raw, at most MaxInput bytes of it.
func Parse(raw []byte) *Message {
	m := &Message{}
	p := &parser{m: m, textBudget: MaxText, htmlBudget: MaxText}
	if len(raw) > MaxInput {
		raw = raw[:MaxInput]
		p.flaw(FlawTruncated)
	}
	start, h := mimeutil.ParseHeader(raw)
	if len(h) == 0 && len(raw) > 0 {
		p.flaw(FlawNoHeader)
	}
	for _, f := range h {
		m.Header = append(m.Header, Field{Name: mimeutil.CleanText(f.Name), Value: decodeWords(f.Value)})
	}
	m.Subject = m.Get("Subject")
	m.From = p.addresses("From")
	m.ReplyTo = p.addresses("Reply-To")
	m.To = p.addresses("To")
	m.Cc = p.addresses("Cc")
	if rp := m.Get("Return-Path"); rp != "" {
		m.ReturnPath = strings.TrimSpace(strings.Trim(strings.TrimSpace(rp), "<>"))
	}
	m.Arrival = receivedTime(m.Get("Received"))
	p.entity(h, raw[start:], 0, "text/plain")
	m.Text = p.text.String()
	m.HTML = p.html.String()
	return m
}

// receivedTime returns the date a Received field ends with, after its
// last semicolon (RFC 5321 section 4.4), or zero.
func receivedTime(v string) time.Time {
	i := strings.LastIndexByte(v, ';')
	if i < 0 {
		return time.Time{}
	}
	t, err := mail.ParseDate(strings.Join(strings.Fields(v[i+1:]), " "))
	if err != nil {
		return time.Time{}
	}
	return t
}

// Get returns the value of the first header field called name (ASCII case
// ignored), or "".
func (m *Message) Get(name string) string {
	for _, f := range m.Header {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns the values of every header field called name, in order.
func (m *Message) Values(name string) []string {
	var out []string
	for _, f := range m.Header {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// parser holds the state of one Parse.
type parser struct {
	m          *Message
	text, html strings.Builder
	textBudget int
	htmlBudget int
	parts      int
}

// flaw notes a flaw once.
func (p *parser) flaw(f string) {
	for _, x := range p.m.Flaws {
		if x == f {
			return
		}
	}
	p.m.Flaws = append(p.m.Flaws, f)
}

// entity walks one MIME entity whose header is h and body body;
// defaultType applies when it has no valid Content-Type.
func (p *parser) entity(h mimeutil.Header, body []byte, depth int, defaultType string) {
	p.parts++
	if p.parts > MaxParts {
		p.flaw(FlawTooManyParts)
		return
	}
	mt, params := defaultType, map[string]string{}
	if ct := h.Get("Content-Type"); ct != "" {
		t, ps, err := mime.ParseMediaType(ct)
		switch {
		case err == nil && strings.Contains(t, "/"):
			mt, params = t, ps
		case t != "" && strings.Contains(t, "/"):
			// Broken parameters: the type still tells what the part is.
			mt = t
			p.flaw(FlawBadContentType)
		default:
			p.flaw(FlawBadContentType)
		}
	}
	name := fileName(h, params)
	disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	typ, sub, _ := strings.Cut(mt, "/")
	switch {
	case typ == "multipart":
		p.multipart(body, sub, params["boundary"], depth)
	case typ == "message" && (sub == "rfc822" || sub == "global") && disp != "attachment":
		if depth >= MaxDepth {
			p.flaw(FlawTooDeep)
			return
		}
		inner := p.decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
		start, ih := mimeutil.ParseHeader(inner)
		if s := decodeWords(ih.Get("Subject")); s != "" {
			p.addText(s)
		}
		p.entity(ih, inner[start:], depth+1, "text/plain")
	case typ == "text" && name == "" && disp != "attachment":
		p.textPart(h, body, sub, params["charset"])
	default:
		p.attachment(h, body, mt, name, disp)
	}
}

// multipart walks the parts of a multipart body.
func (p *parser) multipart(body []byte, sub, boundary string, depth int) {
	if depth >= MaxDepth {
		p.flaw(FlawTooDeep)
		return
	}
	if boundary == "" {
		p.flaw(FlawBadBoundary)
		p.addText(string(body)) // what a reader would see
		return
	}
	parts, closed := mimeutil.SplitMultipart(body, boundary, MaxParts)
	if len(parts) == 0 {
		p.flaw(FlawBadBoundary)
		return
	}
	if !closed {
		p.flaw(FlawNoEnd)
	}
	child := "text/plain"
	if sub == "digest" {
		child = "message/rfc822"
	}
	for _, part := range parts {
		start, ph := mimeutil.ParseHeader(part)
		if start == 0 && len(ph) == 0 && len(part) > 0 && part[0] != '\n' && part[0] != '\r' {
			// No header, no blank line: all body with an implicit header.
			p.entity(nil, part, depth+1, child)
			continue
		}
		p.entity(ph, part[start:], depth+1, child)
	}
}

// textPart adds a text part to Text (and HTML, Links when it is HTML).
func (p *parser) textPart(h mimeutil.Header, body []byte, sub, charset string) {
	decoded := p.decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
	if sub == "html" && strings.TrimSpace(charset) == "" {
		charset = htmlCharset(decoded)
	}
	s := p.toUTF8(charset, decoded)
	if sub == "html" {
		p.addHTML(s)
		p.htmlLinks(s)
		p.addText(mimeutil.HTMLText(s))
		return
	}
	p.textLinks(s)
	before := p.text.Len()
	p.addText(s)
	p.m.PlainText += p.text.Len() - before
}

// attachment records a part that is not read as text.
func (p *parser) attachment(h mimeutil.Header, body []byte, mt, name, disp string) {
	if len(p.m.Attachments) >= MaxAttachments {
		p.flaw(FlawTooManyAttach)
		return
	}
	r := mimeutil.TransferReader(h.Get("Content-Transfer-Encoding"), bytes.NewReader(body))
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, MaxAttachmentData))
	a := Attachment{Name: name, Type: mt, Size: int(n), Inline: disp != "attachment"}
	if err == nil && n == MaxAttachmentData {
		rest, err2 := io.Copy(io.Discard, r)
		a.Size += int(rest)
		a.Truncated = rest > 0
		err = err2
	}
	if err != nil {
		p.transferFlaw(h.Get("Content-Transfer-Encoding"))
	}
	if a.Truncated {
		p.flaw(FlawAttachTruncated)
	}
	if a.Type == "" {
		a.Type = "application/octet-stream"
	}
	a.Data = buf.Bytes()
	p.m.Attachments = append(p.m.Attachments, a)
}

// decodeTransfer undoes a Content-Transfer-Encoding, as far as it goes.
func (p *parser) decodeTransfer(cte string, body []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return body
	case "base64", "quoted-printable":
	default:
		p.flaw(FlawUnknownEncoding)
		return body
	}
	out, err := io.ReadAll(mimeutil.TransferReader(cte, bytes.NewReader(body)))
	if err != nil {
		p.transferFlaw(cte)
	}
	return out
}

func (p *parser) transferFlaw(cte string) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		p.flaw(FlawBadBase64)
	case "quoted-printable":
		p.flaw(FlawBadQP)
	}
}

// htmlCharset returns the charset an HTML part without one in its
// Content-Type declares in itself (a byte order mark, or a meta element
// in its first 1,024 bytes, as browsers read it: the WHATWG prescan),
// or "" when it declares none, or UTF-8 or windows-1252, which toUTF8
// gives unlabelled text anyway. Charsets in which ASCII does not stay
// ASCII are not taken from a meta element: "replacement" (ISO-2022-KR
// and the like) would turn the whole part into one U+FFFD, and
// ISO-2022-JP its links into kanji, hiding from the checks what a mail
// program that ignores the element shows.
func htmlCharset(b []byte) string {
	_, name, _ := htmlcharset.DetermineEncoding(b, "")
	switch name {
	case "utf-8", "windows-1252", "replacement", "iso-2022-jp":
		return ""
	}
	return name
}

// toUTF8 converts text in charset to valid UTF-8.
func (p *parser) toUTF8(charset string, b []byte) string {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
	default:
		if _, err := htmlindex.Get(cs); err != nil {
			p.flaw(FlawUnknownCharset)
		} else {
			b = mimeutil.ToUTF8(cs, b)
		}
	}
	if !utf8.Valid(b) {
		p.flaw(FlawBadUTF8)
		// Unlabelled 8-bit text of the era is mostly Latin-1.
		if cs == "" || cs == "us-ascii" || cs == "ascii" {
			b = mimeutil.ToUTF8("windows-1252", b)
		}
	}
	return mimeutil.CleanText(string(b))
}

// addText appends s to Text within MaxText.
func (p *parser) addText(s string) {
	p.textBudget = appendBounded(&p.text, s, p.textBudget, func() { p.flaw(FlawTextTruncated) })
}

// addHTML appends s to HTML within MaxText.
func (p *parser) addHTML(s string) {
	p.htmlBudget = appendBounded(&p.html, s, p.htmlBudget, func() { p.flaw(FlawTextTruncated) })
}

// appendBounded appends s and a line break to b, cut to budget; it
// returns the budget left.
func appendBounded(b *strings.Builder, s string, budget int, cut func()) int {
	s = strings.TrimSpace(mimeutil.CleanText(s))
	if s == "" {
		return budget
	}
	if len(s)+1 > budget {
		cut()
		s = mimeutil.CutUTF8(s, budget-1)
		if s == "" {
			return budget
		}
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return budget - len(s) - 1
}

// addLink records a link within MaxLinks.
func (p *parser) addLink(l Link) {
	if len(p.m.Links) >= MaxLinks {
		p.flaw(FlawTooManyLinks)
		return
	}
	// Browsers drop every tab and line break from a URL before reading
	// it (WHATWG URL standard, "basic URL parser"); an attribute value
	// wrapped by the tool that wrote the HTML goes where it would unwrapped.
	l.Href = strings.Map(dropTabNewline, strings.TrimSpace(l.Href))
	l.Text = strings.Join(strings.Fields(l.Text), " ")
	l.Host = hostOf(l.Href)
	p.m.Links = append(p.m.Links, l)
}

func dropTabNewline(r rune) rune {
	if r == '\t' || r == '\n' || r == '\r' {
		return -1
	}
	return r
}

// fileName returns a part's decoded file name, from Content-Disposition
// or the older Content-Type name parameter.
func fileName(h mimeutil.Header, ctParams map[string]string) string {
	name := ctParams["name"]
	if _, ps, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && ps["filename"] != "" {
		name = ps["filename"]
	}
	return decodeWords(name)
}

// decodeWords decodes the RFC 2047 encoded words of a header value and
// keeps it on one line.
func decodeWords(v string) string {
	v = mimeutil.DecodeWords(v)
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(v)
	}
	return mimeutil.CleanText(v)
}
