// Package mailtext extracts the searchable text of a message (RFC 5322,
// MIME: RFC 2045, RFC 2046, RFC 2047, RFC 2231): header fields with their
// encoded words decoded, and the bodies of text parts decoded from their
// transfer encoding (base64, quoted-printable) and converted from their
// charset to UTF-8, HTML reduced to its text. IMAP SEARCH (RFC 9051
// §6.4.4) matches against it, through the text index or directly.
//
// Charsets are those golang.org/x/text's htmlindex knows (the WHATWG
// Encoding Standard: ISO-8859-*, windows-125x, KOI8, Shift_JIS, EUC-*,
// GB18030, Big5, UTF-16 ...). Text in an unknown charset is kept as far as
// it is valid UTF-8.
//
// Parts that are not text (images, archives, PDF) are skipped; their
// file names are kept. A message/rfc822 part contributes its header and
// text to the body. Everything is bounded: the input read (MaxInput), the
// text kept (MaxText), the parts visited (MaxParts) and their nesting
// (MaxDepth); what lies beyond is not searched.
//
// Fold maps text to the form matching compares: Unicode case folding and
// NFKC normalisation, in the spirit of the i;unicode-casemap collation
// (RFC 5051). Matching is a substring test on folded text.
package mailtext

import (
	"bytes"
	"io"
	"mime"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// The bounds on extraction.
const (
	MaxInput = 16 << 20 // bytes of the message read
	MaxText  = 1 << 20  // bytes of text kept, header and body together
	MaxParts = 500      // MIME parts visited
	MaxDepth = 20       // MIME nesting
)

// Text is the searchable text of a message, in UTF-8.
type Text struct {
	// Header holds every top-level header field as "name: value" lines,
	// the value unfolded and its encoded words decoded.
	Header string
	// The decoded values of these fields (the first of each).
	Subject, From, To, Cc, Bcc string
	// Body is the decoded text of the text parts, the header and text of
	// attached messages, and attachments' file names.
	Body string
}

// Fold returns t with every field folded (see Fold).
func (t Text) Fold() Text {
	return Text{
		Header: Fold(t.Header), Subject: Fold(t.Subject), From: Fold(t.From), To: Fold(t.To),
		Cc: Fold(t.Cc), Bcc: Fold(t.Bcc), Body: Fold(t.Body),
	}
}

// Fold maps s to its matching form: Unicode full case folding, then NFKC.
// A string contains another, ignoring case, when Fold of the first
// contains Fold of the second.
func Fold(s string) string {
	return norm.NFKC.String(cases.Fold().String(s))
}

// Extract reads a message from r, at most MaxInput bytes, and returns its
// text. Only a read error is an error; any content gives some text.
func Extract(r io.Reader) (Text, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxInput))
	if err != nil {
		return Text{}, err
	}
	return ExtractBytes(raw), nil
}

// ExtractBytes returns the text of the message in raw.
func ExtractBytes(raw []byte) Text {
	e := &extractor{budget: MaxText}
	bodyStart, h := mimeutil.ParseHeader(raw)
	var t Text
	var hb strings.Builder
	for _, f := range h {
		v := e.decodeWords(f.Value)
		line := mimeutil.CleanText(f.Name) + ": " + v + "\n"
		if !e.take(len(line)) {
			break
		}
		hb.WriteString(line)
		for _, x := range []struct {
			name string
			dst  *string
		}{{"Subject", &t.Subject}, {"From", &t.From}, {"To", &t.To}, {"Cc", &t.Cc}, {"Bcc", &t.Bcc}} {
			if *x.dst == "" && strings.EqualFold(f.Name, x.name) {
				*x.dst = v
			}
		}
	}
	t.Header = hb.String()
	e.entity(h, raw[bodyStart:], 0, "text/plain")
	t.Body = e.body.String()
	return t
}

// extractor gathers body text within the bounds.
type extractor struct {
	body   strings.Builder
	budget int // bytes of text still allowed
	parts  int
}

// take spends n bytes of the budget, if there are that many left.
func (e *extractor) take(n int) bool {
	if n > e.budget {
		return false
	}
	e.budget -= n
	return true
}

// add appends s to the body text, cut to the budget.
func (e *extractor) add(s string) {
	s = mimeutil.CleanText(s)
	if s == "" || e.budget <= 0 {
		return
	}
	if len(s)+1 > e.budget {
		s = mimeutil.CutUTF8(s, e.budget-1)
	}
	e.budget -= len(s) + 1
	e.body.WriteString(s)
	e.body.WriteByte('\n')
}

// entity adds the text of one MIME entity whose header is h and body
// body; defaultType applies when it has no valid Content-Type.
func (e *extractor) entity(h mimeutil.Header, body []byte, depth int, defaultType string) {
	e.parts++
	if e.parts > MaxParts || e.budget <= 0 {
		return
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || !strings.Contains(mt, "/") {
		mt, params = defaultType, map[string]string{}
	}
	if name := e.fileName(h, params); name != "" {
		e.add(name)
	}
	typ, sub, _ := strings.Cut(mt, "/")
	switch {
	case typ == "multipart":
		if depth >= MaxDepth || params["boundary"] == "" {
			return
		}
		child := "text/plain"
		if sub == "digest" {
			child = "message/rfc822"
		}
		parts, _ := mimeutil.SplitMultipart(body, params["boundary"], MaxParts)
		for _, p := range parts {
			start, ph := mimeutil.ParseHeader(p)
			e.entity(ph, p[start:], depth+1, child)
		}
	case typ == "message" && (sub == "rfc822" || sub == "global"):
		if depth >= MaxDepth {
			return
		}
		inner := decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
		start, ih := mimeutil.ParseHeader(inner)
		for _, f := range ih {
			e.add(f.Name + ": " + e.decodeWords(f.Value))
		}
		e.entity(ih, inner[start:], depth+1, "text/plain")
	case typ == "text":
		text := string(mimeutil.ToUTF8(params["charset"], decodeTransfer(h.Get("Content-Transfer-Encoding"), body)))
		if sub == "html" {
			text = mimeutil.HTMLText(text)
		}
		e.add(text)
	}
}

// fileName returns an attachment's decoded file name, from
// Content-Disposition or the older Content-Type name parameter.
func (e *extractor) fileName(h mimeutil.Header, ctParams map[string]string) string {
	name := ctParams["name"]
	if _, p, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && p["filename"] != "" {
		name = p["filename"]
	}
	return e.decodeWords(name)
}

// decodeWords decodes the RFC 2047 encoded words of a header value; a
// value that does not decode is kept as it is.
func (e *extractor) decodeWords(v string) string {
	v = mimeutil.DecodeWords(v)
	// A decoded word may carry line breaks: a value stays on its line.
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	return mimeutil.CleanText(v)
}

// decodeTransfer undoes a Content-Transfer-Encoding. Damaged input
// decodes as far as it can.
func decodeTransfer(cte string, body []byte) []byte {
	br := bytes.NewReader(body)
	r := mimeutil.TransferReader(cte, br)
	if r == io.Reader(br) {
		return body // nothing to undo
	}
	out, _ := io.ReadAll(r)
	return out
}

// Values returns the values of the header fields called name (ASCII case
// ignored), from t.Header, in order.
func (t Text) Values(name string) []string {
	var out []string
	for line := range strings.Lines(t.Header) {
		n, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
		if ok && strings.EqualFold(n, name) {
			out = append(out, v)
		}
	}
	return out
}
