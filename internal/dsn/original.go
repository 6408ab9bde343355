package dsn

import (
	"bufio"
	"bytes"
	"mime"
	"net/mail"
	"strings"
)

// original is what a report returns of the original message.
type original struct {
	part     []byte // content to return, CRLF-terminated lines; nil for none
	full     bool   // part is the whole message, not only its header
	utf8     bool   // the header has UTF-8 (RFC 6532)
	eightBit bool   // part has octets over 127
	subject  string // decoded Subject, for the human-readable part
	// cut says why less was returned than asked for, for the
	// human-readable part; empty when nothing was cut.
	cut string
}

// prepareOriginal decides what of msg to return: the whole message when
// asked for and it fits in max octets and has no line over 998 octets,
// else its header when that fits, else nothing. Line endings are made
// CRLF first, so a bare CR or LF in a stored message cannot break the
// report's structure.
func prepareOriginal(msg []byte, ret Return, max int) original {
	if msg == nil {
		return original{}
	}
	msg = normalizeCRLF(msg)
	hdr := msg
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		hdr = msg[:i+2]
	} else if bytes.HasPrefix(msg, []byte("\r\n")) {
		hdr = nil
	}
	o := original{subject: subjectOf(hdr)}
	if ret == ReturnFull && max > 0 && len(msg) <= max && linesFit(msg) {
		o.part, o.full = msg, true
	} else {
		hdrMax := max
		if hdrMax <= 0 {
			hdrMax = DefaultMaxOriginal
		}
		switch {
		case len(hdr) > hdrMax || !linesFit(hdr):
			o.cut = "The original message's header was too large to include."
		case len(hdr) > 0:
			o.part = hdr
			if ret == ReturnFull {
				o.cut = "Only the header of the original message is included: the whole message is too large to return."
			}
		}
	}
	o.utf8 = !isASCII(string(hdr))
	o.eightBit = !isASCII(string(o.part))
	return o
}

// normalizeCRLF turns every CRLF, bare CR and bare LF into CRLF.
func normalizeCRLF(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+len(msg)/32)
	for i := 0; i < len(msg); i++ {
		switch c := msg[i]; c {
		case '\r':
			if i+1 < len(msg) && msg[i+1] == '\n' {
				i++
			}
			out = append(out, '\r', '\n')
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// linesFit reports whether no line of a CRLF-normalised text is longer
// than 998 octets.
func linesFit(b []byte) bool {
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			i = len(b)
		}
		if i > maxLine {
			return false
		}
		b = b[min(i+2, len(b)):]
	}
	return true
}

// subjectOf returns the decoded Subject of a header, or "" when it has
// none or it cannot be read.
func subjectOf(hdr []byte) string {
	if len(hdr) == 0 {
		return ""
	}
	m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(append(bytes.Clone(hdr), '\r', '\n'))))
	if err != nil {
		return ""
	}
	s := m.Header.Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		s = d
	}
	return sanitize(strings.TrimSpace(s), 200, true)
}

// writeOriginalPart writes the returned message (RFC 6522 section 3,
// RFC 6533 section 6 for UTF-8 headers).
func writeOriginalPart(b *bytes.Buffer, o original) {
	ct := "text/rfc822-headers"
	switch {
	case o.full && o.utf8:
		ct = "message/global"
	case o.full:
		ct = "message/rfc822"
	case o.utf8:
		ct = "message/global-headers"
	}
	cte := "7bit"
	if o.eightBit {
		cte = "8bit"
	}
	b.WriteString("Content-Type: " + ct + "\r\n")
	desc := "Original message header"
	if o.full {
		desc = "Original message"
	}
	b.WriteString("Content-Description: " + desc + "\r\n")
	b.WriteString("Content-Transfer-Encoding: " + cte + "\r\n\r\n")
	b.Write(o.part)
	// The CRLF before a boundary belongs to the boundary (RFC 2046
	// section 5.1.1): this one keeps the part's last line break.
	b.WriteString("\r\n")
}
