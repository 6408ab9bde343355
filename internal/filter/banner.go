package filter

import (
	"bytes"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"text/template"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// DefaultBanner is the banner's default template. Its data are
// BannerData.
const DefaultBanner = `Caution: Sealpost finds this message suspicious.` +
	`{{if .Mismatch}} It claims to be from {{.From}} but was sent from {{.Sender}}.{{end}}` +
	`{{range .Reasons}}
- {{.}}{{end}}
Do not follow its links, open its attachments or send it personal information unless you are sure who sent it.`

// maxBanner bounds the banner's text.
const maxBanner = 2000

// BannerData is what a banner template is executed with.
type BannerData struct {
	// From is the first address of the From field ("Name <addr>").
	From string
	// Sender is who actually sent it: the envelope sender (MAIL FROM),
	// or the HELO name for the null sender.
	Sender string
	// Mismatch is true when the From domain is neither authenticated
	// (DMARC-aligned) nor the envelope sender's domain.
	Mismatch bool
	// Reasons are the findings to tell the recipient about: those marked
	// Warn, or else the three heaviest.
	Reasons []string
	Score   string
	Verdict string
}

// BannerTemplate writes banners.
type BannerTemplate struct{ t *template.Template }

// ParseBanner parses a banner template (text/template, with BannerData).
func ParseBanner(text string) (*BannerTemplate, error) {
	t, err := template.New("banner").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	// Execute once on sample data, so that a template that cannot run
	// fails at start, not on mail.
	if err := t.Execute(io.Discard, BannerData{Reasons: []string{"x"}}); err != nil {
		return nil, err
	}
	return &BannerTemplate{t: t}, nil
}

// Text returns the banner for a message and its result: plain text,
// lines separated by "\n", without control characters, bounded; "" when
// the template gives nothing.
func (b *BannerTemplate) Text(in *Input, res Result) string {
	var out strings.Builder
	if err := b.t.Execute(&out, bannerData(in, res)); err != nil {
		return ""
	}
	return cleanBanner(out.String())
}

// cleanBanner keeps a banner's text to printable lines, bounded.
func cleanBanner(text string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029':
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, "?"))
	if len(s) > maxBanner {
		s = strings.ToValidUTF8(s[:maxBanner], "") + "..."
	}
	return strings.TrimSpace(s)
}

func bannerData(in *Input, res Result) BannerData {
	d := BannerData{Score: number(res.Total), Verdict: res.Action.String(), Sender: in.Env.MailFrom}
	if d.Sender == "" {
		d.Sender = in.Env.Helo
	}
	fromDomain := ""
	if m := in.Message; m != nil && len(m.From) > 0 {
		a := m.From[0]
		d.From = a.Addr
		if a.Name != "" {
			d.From = a.Name + " <" + a.Addr + ">"
		}
		fromDomain = strings.ToLower(a.Addr[strings.LastIndexByte(a.Addr, '@')+1:])
	}
	senderDomain := strings.ToLower(d.Sender[strings.LastIndexByte(d.Sender, '@')+1:])
	aligned := in.Auth != nil && in.Auth.Aligned != ""
	d.Mismatch = fromDomain != "" && !aligned && fromDomain != senderDomain
	for _, s := range res.Scores {
		if s.Warn && s.Weight > 0 && s.Reason != "" {
			d.Reasons = append(d.Reasons, s.Reason)
		}
	}
	if len(d.Reasons) == 0 {
		for _, s := range res.top(3) {
			if s.Reason != "" {
				d.Reasons = append(d.Reasons, s.Reason)
			}
		}
	}
	return d
}

// AddBanner returns the message with text put at the top of its body:
// above the text of a text/plain or text/html message, of both text
// alternatives of multipart/alternative (the HTML root of a
// multipart/related alternative too), and of the first part of
// multipart/mixed when it is one of those. Each part changed is
// re-encoded as quoted-printable UTF-8; everything else is kept byte for
// byte. A message of another structure, or whose text cannot be decoded
// faithfully (an unknown charset, bad base64, invalid UTF-8), is returned
// as it is, with false.
func AddBanner(msg []byte, text string) ([]byte, bool) {
	header, body, ok := splitEntity(msg)
	if !ok {
		return msg, false
	}
	nl := "\r\n"
	if i := bytes.IndexByte(msg, '\n'); i > 0 && msg[i-1] != '\r' {
		nl = "\n"
	}
	w := &bannerWriter{text: text, nl: nl}
	h, b, ok := w.entity(header, body, nil, true)
	if !ok {
		return msg, false
	}
	out := make([]byte, 0, len(h)+len(nl)+len(b))
	out = append(append(append(out, h...), nl...), b...)
	return out, true
}

// bannerWriter puts one banner into the parts that take it.
type bannerWriter struct {
	text string
	nl   string
}

// entity rewrites one MIME entity whose raw header (its fields, each with
// its line end) and body are given; bounds are the boundaries of the
// multiparts around it, which the new text must not contain.
func (w *bannerWriter) entity(header, body []byte, bounds []string, top bool) ([]byte, []byte, bool) {
	_, h := mimeutil.ParseHeader(append(header[:len(header):len(header)], w.nl...))
	mt, params := "text/plain", map[string]string{}
	if ct := h.Get("Content-Type"); ct != "" {
		var err error
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return nil, nil, false
		}
	}
	if disp, dp, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" || dp["filename"] != "" || params["name"] != "" {
		return nil, nil, false
	}
	switch mt {
	case "text/plain", "text/html":
		nb, ok := w.text1(h, body, mt == "text/html", params["charset"], bounds)
		if !ok {
			return nil, nil, false
		}
		params["charset"] = "utf-8"
		ct := mime.FormatMediaType(mt, params)
		if ct == "" {
			return nil, nil, false
		}
		nh := withoutFields(header, "content-type", "content-transfer-encoding")
		if top && !h.Has("MIME-Version") {
			nh = append(nh, "MIME-Version: 1.0"+w.nl...)
		}
		nh = append(nh, "Content-Type: "+ct+w.nl+"Content-Transfer-Encoding: quoted-printable"+w.nl...)
		return nh, nb, true
	case "multipart/alternative", "multipart/mixed", "multipart/related":
		if !top && mt == "multipart/mixed" {
			return nil, nil, false
		}
		nb, ok := w.multipart(mt, body, params["boundary"], bounds)
		return header, nb, ok
	}
	return nil, nil, false
}

// multipart rewrites the parts of a multipart body that take the banner:
// every text alternative of multipart/alternative, the first part of
// mixed, the root of related when it is HTML.
func (w *bannerWriter) multipart(mt string, body []byte, boundary string, bounds []string) ([]byte, bool) {
	if boundary == "" {
		return nil, false
	}
	parts, ok := partRanges(body, boundary)
	if !ok || len(parts) == 0 {
		return nil, false
	}
	if mt != "multipart/alternative" {
		parts = parts[:1]
	}
	bounds = append(bounds[:len(bounds):len(bounds)], boundary)
	out, last, done := []byte{}, 0, false
	for _, r := range parts {
		header, pbody, ok := splitEntity(body[r[0]:r[1]])
		if !ok {
			continue
		}
		nh, nb, ok := w.entity(header, pbody, bounds, false)
		if !ok {
			continue
		}
		if mt == "multipart/related" && !bytes.Contains(bytes.ToLower(nh), []byte("text/html")) {
			return nil, false
		}
		out = append(append(append(append(out, body[last:r[0]]...), nh...), w.nl...), nb...)
		last, done = r[1], true
	}
	if !done {
		return nil, false
	}
	return append(out, body[last:]...), true
}

// text1 returns the quoted-printable UTF-8 of a text part's body with the
// banner on top.
func (w *bannerWriter) text1(h mimeutil.Header, body []byte, isHTML bool, charset string, bounds []string) ([]byte, bool) {
	decoded, ok := decodeBody(h.Get("Content-Transfer-Encoding"), body)
	if !ok {
		return nil, false
	}
	s, ok := decodeCharset(charset, decoded)
	if !ok {
		return nil, false
	}
	if isHTML {
		s = insertHTML(s, bannerHTML(w.text))
	} else {
		s = w.text + "\n\n" + s
	}
	var b bytes.Buffer
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(s))
	qp.Close()
	enc := b.Bytes()
	if w.nl == "\n" {
		enc = bytes.ReplaceAll(enc, []byte("\r\n"), []byte("\n"))
	}
	for _, bd := range bounds {
		if bytes.Contains(enc, []byte("--"+bd)) {
			return nil, false // the text would end its multipart early
		}
	}
	return enc, true
}

// decodeBody undoes a transfer encoding; false when it does not decode or
// is unknown.
func decodeBody(cte string, body []byte) ([]byte, bool) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return body, true
	case "base64", "quoted-printable":
		b, err := io.ReadAll(mimeutil.TransferReader(cte, bytes.NewReader(body)))
		return b, err == nil
	}
	return nil, false
}

// decodeCharset converts text to UTF-8; false for an unknown charset or
// text that is not valid in its charset.
func decodeCharset(charset string, b []byte) (string, bool) {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
	default:
		enc, err := htmlindex.Get(cs)
		if err != nil {
			return "", false
		}
		if b, err = enc.NewDecoder().Bytes(b); err != nil {
			return "", false
		}
	}
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return "", false
	}
	return string(b), true
}

// bannerHTML is the banner as an HTML block.
func bannerHTML(text string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = html.EscapeString(l)
	}
	return `<div style="border:2px solid #c00;background:#fff3f3;color:#000;padding:8px;margin:0 0 12px 0;font-family:sans-serif">` +
		strings.Join(lines, "<br>") + "</div>\n"
}

// insertHTML puts block just inside <body>, or at the start when there is
// no body tag.
func insertHTML(s, block string) string {
	lower := strings.ToLower(s)
	for from := 0; ; {
		i := strings.Index(lower[from:], "<body")
		if i < 0 {
			return block + s
		}
		i += from
		from = i + len("<body")
		if from < len(s) && !strings.ContainsRune(" \t\r\n\f/>", rune(s[from])) {
			continue // <bodyx>
		}
		end := strings.IndexByte(s[from:], '>')
		if end < 0 {
			return block + s
		}
		at := from + end + 1
		return s[:at] + block + s[at:]
	}
}

// splitEntity splits an entity into its header (the field lines with
// their line ends, without the empty line) and its body; false when it
// has no header or no empty line after it.
func splitEntity(b []byte) (header, body []byte, ok bool) {
	for i := 0; i < len(b); {
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			return nil, nil, false // no empty line
		}
		end := i + nl + 1
		line := bytes.TrimRight(b[i:end], "\r\n")
		if len(line) == 0 {
			if i == 0 {
				return nil, nil, false
			}
			return b[:i], b[end:], true
		}
		if line[0] != ' ' && line[0] != '\t' && bytes.IndexByte(line, ':') < 0 {
			return nil, nil, false // not a header
		}
		if i == 0 && (line[0] == ' ' || line[0] == '\t') {
			return nil, nil, false
		}
		i = end
	}
	return nil, nil, false
}

// withoutFields returns a copy of the raw header with the named fields
// (lower case) left out.
func withoutFields(header []byte, names ...string) []byte {
	out := make([]byte, 0, len(header)+128)
	skipping := false
	for i := 0; i < len(header); {
		end := len(header)
		if nl := bytes.IndexByte(header[i:], '\n'); nl >= 0 {
			end = i + nl + 1
		}
		line := header[i:end]
		if line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			n := strings.ToLower(string(bytes.TrimSpace(name)))
			skipping = false
			for _, x := range names {
				skipping = skipping || n == x
			}
		}
		if !skipping {
			out = append(out, line...)
		}
		i = end
	}
	return out
}

// partRanges returns the byte ranges of the parts of a multipart body,
// as RFC 2046 section 5.1.1 delimits them (the line end before a
// delimiter belongs to it); false when the close delimiter is missing.
func partRanges(body []byte, boundary string) ([][2]int, bool) {
	delim := []byte("--" + boundary)
	var parts [][2]int
	start := -1
	for i := 0; i < len(body); {
		end := len(body)
		if nl := bytes.IndexByte(body[i:], '\n'); nl >= 0 {
			end = i + nl + 1
		}
		line := bytes.TrimRight(body[i:end], " \t\r\n")
		if rest, ok := bytes.CutPrefix(line, delim); ok && (len(rest) == 0 || string(rest) == "--") {
			if start >= 0 {
				partEnd := i
				if partEnd > start && body[partEnd-1] == '\n' {
					partEnd--
					if partEnd > start && body[partEnd-1] == '\r' {
						partEnd--
					}
				}
				parts = append(parts, [2]int{start, partEnd})
			}
			if len(rest) > 0 {
				return parts, true
			}
			start = end
		}
		i = end
	}
	return nil, false
}
