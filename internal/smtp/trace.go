package smtp

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"time"
)

// Received describes one hop for a Received: trace header field
// (RFC 5321 section 4.4).
type Received struct {
	// Helo is the EHLO or HELO argument as the client sent it. If it is
	// neither a domain nor an address literal, From falls back to the
	// address literal and the claimed name is kept, sanitised, in the
	// comment.
	Helo string
	// RemoteName is the client's verified reverse DNS name, or "".
	RemoteName string
	// RemoteIP is the client's address.
	RemoteIP netip.Addr
	// By is this server's host name.
	By string
	// ESMTP, UTF8, TLS and Auth choose the "with" protocol: SMTP or
	// ESMTP, with "S" for TLS and "A" for an authenticated client
	// (RFC 3848), and the UTF8SMTP forms when SMTPUTF8 was used
	// (RFC 6531 section 3.7.3).
	ESMTP, UTF8, TLS, Auth bool
	// TLSVersion and TLSCipher (crypto/tls constants) are written in a
	// comment when TLS is set.
	TLSVersion, TLSCipher uint16
	// ID identifies the message at this server; dropped unless it is an
	// atom.
	ID string
	// Recipients of the transaction. A "for" clause is written only when
	// there is exactly one, so that one recipient's copy does not reveal
	// the others (RFC 5321 section 7.2).
	Recipients []Path
	// Time of receipt.
	Time time.Time
}

// Protocol returns the "with" value for r.
func (r Received) Protocol() string {
	p := "SMTP"
	switch {
	case r.UTF8:
		p = "UTF8SMTP"
	case r.ESMTP:
		p = "ESMTP"
	}
	if r.TLS || r.Auth {
		if p == "SMTP" {
			p = "ESMTP" // RFC 3848 has no SMTPS/SMTPA: TLS and AUTH imply ESMTP
		}
		if r.TLS {
			p += "S"
		}
		if r.Auth {
			p += "A"
		}
	}
	return p
}

// String formats the complete header field, folded, ending in CRLF:
//
//	Received: from helo.example (rdns.example [192.0.2.1])
//		by mx.example.org with ESMTPS id abc123
//		(TLS1.3 TLS_AES_128_GCM_SHA256)
//		for <user@example.org>; Mon, 02 Jan 2006 15:04:05 -0700
func (r Received) String() string {
	var b strings.Builder
	lit := literalFor(r.RemoteIP)
	from, comment := r.Helo, ""
	if !ValidDomain(from) {
		if _, ok := ParseAddressLiteral(from); !ok {
			from = lit
			if h := commentSafe(r.Helo); h != "" {
				comment = "helo=" + h + " "
			}
		}
	}
	if name := commentSafe(r.RemoteName); name != "" {
		comment += name + " "
	}
	comment += lit
	b.WriteString("Received: from " + from + " (" + comment + ")\r\n")
	b.WriteString("\tby " + commentSafe(r.By) + " with " + r.Protocol())
	if isAtom(r.ID) {
		b.WriteString(" id " + r.ID)
	}
	if r.TLS && r.TLSVersion != 0 {
		b.WriteString("\r\n\t(" + commentSafe(tls.VersionName(r.TLSVersion)) + " " + commentSafe(tls.CipherSuiteName(r.TLSCipher)) + ")")
	}
	if len(r.Recipients) == 1 && !r.Recipients[0].IsNull() {
		b.WriteString("\r\n\tfor <" + r.Recipients[0].String() + ">")
	}
	b.WriteString("; " + r.Time.Format(time.RFC1123Z) + "\r\n")
	return b.String()
}

// ReturnPath formats the Return-Path: header field for the envelope
// sender (RFC 5321 section 4.4, RFC 5322 section 3.6.7), ending in CRLF.
// The null path gives "Return-Path: <>".
func ReturnPath(p Path) string {
	return "Return-Path: <" + p.String() + ">\r\n"
}

func literalFor(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "[unknown]"
	case ip.Is4() || ip.Is4In6():
		return "[" + ip.Unmap().String() + "]"
	default:
		return "[IPv6:" + ip.WithZone("").String() + "]"
	}
}

// commentSafe keeps the characters that may appear in a header comment
// without quoting (RFC 5322 ctext minus spaces): printable ASCII other
// than "(", ")" and "\".
func commentSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 255; i++ {
		if c := s[i]; c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '\\' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isAtom(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) || s[i] >= 0x80 {
			return false
		}
	}
	return true
}
