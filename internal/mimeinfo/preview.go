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
// dropped (as the search text drops it) and white space collapsed.
func preview(p *Part, raw []byte) string {
	text := decodeText(p, raw)
	if p.Subtype == "html" {
		text = mimeutil.HTMLText(text)
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
