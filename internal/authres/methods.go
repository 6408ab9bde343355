package authres

import (
	"strings"
	"unicode"
)

// The constructors below give the properties RFC 8601 section 2.7 and the
// methods' registrations (RFC 7489 section 11.2 for dmarc, RFC 6008 for
// header.b, RFC 8617 section 10.1 for arc) name. Empty arguments are left
// out.

// SPF returns an spf result for the MAIL FROM identity, or for the HELO
// identity when mailFrom is empty (RFC 7208 section 2.4).
func SPF(result, reason, mailFrom, helo string) Result {
	r := Result{Method: "spf", Value: result, Reason: reason}
	switch {
	case mailFrom != "":
		r.Props = []Prop{{"smtp", "mailfrom", mailFrom}}
	case helo != "":
		r.Props = []Prop{{"smtp", "helo", helo}}
	}
	return r
}

// SignaturePrefix is how many characters of a DKIM signature header.b
// keeps: enough to tell apart several signatures of one domain (RFC 6008
// section 4).
const SignaturePrefix = 8

// DKIM returns a dkim result for one signature: domain (d=), selector
// (s=), algorithm (a=) and the start of the signature (b=, white space
// removed, cut to SignaturePrefix characters).
func DKIM(result, reason, domain, selector, algorithm, signature string) Result {
	r := Result{Method: "dkim", Value: result, Reason: reason}
	props := [...]Prop{{"header", "d", domain}, {"header", "s", selector}, {"header", "a", algorithm},
		{"header", "b", signaturePrefix(signature)}}
	r.Props = withValues(props[:])
	return r
}

// HeaderB returns what DKIM writes as header.b of signature: its first
// SignaturePrefix characters once white space is removed. It serves a
// caller that writes the field itself (Writer).
func HeaderB(signature string) string { return signaturePrefix(signature) }

// signaturePrefix returns the first SignaturePrefix bytes of signature
// once white space is removed; as a part of signature when no white space
// interrupts them. Only the start is looked at for white space: b= runs to
// hundreds of bytes.
func signaturePrefix(signature string) string {
	if len(signature) <= SignaturePrefix && visibleASCII(signature) {
		// Already a prefix, as a verifier gives it: nothing to remove.
		return signature
	}
	s := strings.TrimLeftFunc(signature, unicode.IsSpace)
	for i, r := range s {
		if i >= SignaturePrefix {
			break
		}
		if unicode.IsSpace(r) {
			s = strings.Join(strings.Fields(s), "")
			break
		}
	}
	if len(s) > SignaturePrefix {
		s = s[:SignaturePrefix]
	}
	return s
}

// DMARC returns a dmarc result for the RFC5322.From domain. policy, when
// not empty, is written as policy.dmarc: the disposition applied.
// comment carries the rest, e.g. "p=reject dis=quarantine".
func DMARC(result, comment, fromDomain, policy string) Result {
	r := Result{Method: "dmarc", Value: result, Comment: comment}
	props := [...]Prop{{"header", "from", fromDomain}, {"policy", "dmarc", policy}}
	r.Props = withValues(props[:])
	return r
}

// ARC returns an arc result with the chain's outcome and, when known, the
// remote IP the sealer saw (RFC 8617 section 10.1 registers
// smtp.remote-ip).
func ARC(result, reason, remoteIP string) Result {
	r := Result{Method: "arc", Value: result, Reason: reason}
	if remoteIP != "" {
		r.Props = []Prop{{"smtp", "remote-ip", remoteIP}}
	}
	return r
}

// IPRev returns an iprev result for the client's IP address (RFC 8601
// section 3).
func IPRev(result, reason, ip string) Result {
	r := Result{Method: "iprev", Value: result, Reason: reason}
	if ip != "" {
		r.Props = []Prop{{"policy", "iprev", ip}}
	}
	return r
}

// withValues returns, in a slice of their own allocated once, the props
// that have a value; nil when none has.
func withValues(props []Prop) []Prop {
	n := 0
	for _, p := range props {
		if p.Value != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	kept := make([]Prop, 0, n)
	for _, p := range props {
		if p.Value != "" {
			kept = append(kept, p)
		}
	}
	return kept
}

// visibleASCII reports whether s is all ASCII from '!' to '~': no white
// space of any kind (unicode.IsSpace), and nothing to decode.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
