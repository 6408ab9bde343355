// Package mimeutil holds the small pieces of reading a message that the
// summariser (mimeinfo), the text extractor (mailtext) and the IMAP
// server share, so that each is done one way: header fields split and
// unfolded (RFC 5322 §2.2, §2.2.3), encoded words decoded (RFC 2047),
// transfer encodings undone (RFC 2045 §6), text converted to UTF-8 and
// HTML reduced to its text.
//
// Charsets are those golang.org/x/text's htmlindex knows (the WHATWG
// Encoding Standard's names and labels). Everything here is lenient:
// what cannot be decoded is kept as it is, or dropped where that is
// stated, and nothing fails on bad input.
package mimeutil

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// MaxFields bounds the fields ParseHeader keeps of one header; the rest
// are skipped.
const MaxFields = 1000

// Field is one header field, its value unfolded and trimmed.
type Field struct{ Name, Value string }

// Header is the fields of a header, in order.
type Header []Field

// Get returns the value of the first field named name (in any case), or
// "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether the header has a field named name.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// ParseHeader returns the offset of the body in b (just past the blank
// line that ends the header) and the header's fields, at most MaxFields.
// Continuation lines are joined to their field by a single space. Lines
// that are neither a field nor a continuation are skipped, except a first
// line: then b is not a header at all and all of it is body.
func ParseHeader(b []byte) (int, Header) {
	var h Header
	skipping := false // continuation lines of a field past MaxFields
	i := 0
	for i < len(b) {
		line, next := b[i:], len(b)
		if nl := bytes.IndexByte(b[i:], '\n'); nl >= 0 {
			line, next = b[i:i+nl], i+nl+1
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return next, h
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if len(h) > 0 && !skipping {
				appendContinuation(&h[len(h)-1], strings.TrimSpace(string(line)))
			}
		case ok && len(h) < MaxFields:
			skipping = false
			h = append(h, Field{string(bytes.TrimSpace(name)), strings.TrimSpace(string(value))})
		case ok:
			skipping = true
		case i == 0:
			return 0, nil
		}
		i = next
	}
	return len(b), h
}

func appendContinuation(f *Field, v string) {
	switch {
	case f.Value == "":
		f.Value = v
	case v != "":
		f.Value += " " + v
	}
}

// CharsetReader decodes text in a named charset to UTF-8; it fails for a
// charset htmlindex does not know. It serves mime.WordDecoder.
func CharsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(input), nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: CharsetReader}

// DecodeWords decodes the RFC 2047 encoded words of a header value. A
// value that does not decode is returned as it is.
func DecodeWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// ToUTF8 converts text from charset to UTF-8. US-ASCII, UTF-8, no charset
// and unknown charsets are taken as UTF-8 already: raw 8-bit text is
// UTF-8 more often than not. The result may still be invalid UTF-8.
func ToUTF8(charset string, b []byte) []byte {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" {
		return b
	}
	if enc, err := htmlindex.Get(cs); err == nil {
		if d, err := enc.NewDecoder().Bytes(b); err == nil {
			return d
		}
	}
	return b
}

// TransferReader undoes a Content-Transfer-Encoding (RFC 2045 §6) as r is
// read: base64, ignoring every character outside its alphabet as RFC
// 2045 §6.8 asks, and quoted-printable. Other encodings (7bit, 8bit,
// binary, unknown ones) are read as they are. Reading fails where the
// data does not decode (data after base64 padding, a cut quantum), after
// returning what came before.
func TransferReader(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// base64Cleaner drops what is not base64: line breaks, white space and
// any other character outside the alphabet and padding.
type base64Cleaner struct{ r io.Reader }

func (c *base64Cleaner) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if isBase64(b) {
			p[j] = b
			j++
		}
	}
	return j, err
}

func isBase64(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '='
}
