package mimeinfo

import (
	"bytes"
	"io"
	"strings"
	"unicode"

	"sealpost.dev/sealpost/internal/mimeutil"
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
	r := mimeutil.TransferReader(p.Encoding, bytes.NewReader(body))
	// A preview needs only the start of the text.
	data, _ := io.ReadAll(io.LimitReader(r, 16*PreviewLen))
	return strings.ToValidUTF8(string(mimeutil.ToUTF8(p.Param("charset"), data)), "")
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
