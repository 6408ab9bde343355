package imapserver

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode"

	"golang.org/x/text/encoding/htmlindex"
)

// previewLen is the length of a PREVIEW in characters; RFC 8970 §3 allows
// up to 256.
const previewLen = 200

// preview returns the RFC 8970 preview of a message: the start of its
// first text part (plain text preferred to HTML), decoded from its
// transfer encoding and charset, with markup dropped and white space
// collapsed. A message without text gives the empty string.
func preview(top *part, raw []byte) string {
	p := findText(top, "plain", 0)
	if p == nil {
		p = findText(top, "html", 0)
	}
	if p == nil {
		return ""
	}
	text := decodeText(p, raw[p.bodyStart:p.end])
	if p.subType == "html" {
		text = stripTags(text)
	}
	return collapse(text, previewLen)
}

// findText returns the first text/sub part that is not an attachment,
// looking into multiparts but not into attached messages.
func findText(p *part, sub string, depth int) *part {
	if depth > maxPartDepth {
		return nil
	}
	if len(p.children) > 0 {
		for _, c := range p.children {
			if t := findText(c, sub, depth+1); t != nil {
				return t
			}
		}
		return nil
	}
	disp := strings.ToLower(p.header.get("Content-Disposition"))
	if p.mediaType == "text" && p.subType == sub && !strings.HasPrefix(disp, "attachment") {
		return p
	}
	return nil
}

// decodeText undoes a part's transfer encoding and charset. Bytes that do
// not decode are dropped rather than failing the preview.
func decodeText(p *part, body []byte) string {
	var r io.Reader = bytes.NewReader(body)
	switch strings.ToLower(strings.TrimSpace(p.header.get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: r})
	}
	// A preview needs only the start of the text.
	data, _ := io.ReadAll(io.LimitReader(r, 16*previewLen))
	cs := strings.ToLower(p.params["charset"])
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

// charsetReader decodes text in a named charset to UTF-8, for encoded
// words.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(input), nil
}
