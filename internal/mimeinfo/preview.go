package mimeinfo

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode"

	"golang.org/x/text/encoding/htmlindex"
)

// preview returns the RFC 8970 preview of a message from the start of
// its first text part (plain text preferred to HTML, chosen by the
// parser), decoded from its transfer encoding and charset, with markup
// dropped and white space collapsed.
func preview(p *Part, raw []byte) string {
	text := decodeText(p, raw)
	if p.Subtype == "html" {
		text = stripTags(text)
	}
	return collapse(text, PreviewLen)
}

// decodeText undoes a part's transfer encoding and charset. Bytes that do
// not decode are dropped rather than failing the preview.
func decodeText(p *Part, body []byte) string {
	var r io.Reader = bytes.NewReader(body)
	switch strings.ToLower(strings.TrimSpace(p.Encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: r})
	}
	// A preview needs only the start of the text.
	data, _ := io.ReadAll(io.LimitReader(r, 16*PreviewLen))
	cs := strings.ToLower(p.Param("charset"))
	if cs != "" && cs != "utf-8" && cs != "us-ascii" {
		if enc, err := htmlindex.Get(cs); err == nil {
			if d, err := enc.NewDecoder().Bytes(data); err == nil {
				data = d
			}
		}
	}
	return strings.ToValidUTF8(string(data), "")
}

// base64Cleaner drops the line breaks and white space base64 bodies carry.
type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
			p[j] = b
			j++
		}
	}
	return j, err
}

// stripTags drops HTML markup, and the contents of style and script
// elements, keeping text. Entities other than the commonest stay as they
// are: a preview need not be exact.
func stripTags(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		lower := strings.ToLower(s[:min(len(s), 8)])
		for _, el := range []string{"<style", "<script"} {
			if strings.HasPrefix(lower, el) {
				if end := strings.Index(strings.ToLower(s), "</"+el[1:]); end >= 0 {
					s = s[end+1:]
				}
			}
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		b.WriteByte(' ')
		s = s[j+1:]
	}
	return strings.NewReplacer("&nbsp;", " ", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'").Replace(b.String())
}

// collapse turns runs of white space and control characters into single
// spaces, trims the ends and cuts the text to n characters.
func collapse(s string, n int) string {
	var b strings.Builder
	space, count := false, 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			count++
		}
		if count >= n {
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}
