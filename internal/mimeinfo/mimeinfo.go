// Package mimeinfo describes a message once, in one streaming pass when it
// is stored, so that IMAP FETCH can answer ENVELOPE, BODYSTRUCTURE, PREVIEW
// and body sections without reading and parsing the message again.
//
// A Summary holds the MIME part tree (RFC 2045, RFC 2046) with each part's
// byte offsets and line count, the header fields BODYSTRUCTURE needs, the
// envelope of the message and of every message/rfc822 part inside it
// (addresses parsed as RFC 5322 §3.4 has them, groups and source routes
// kept), the RFC 8970 preview text, and the References field that
// threading needs. Encode turns it into a compact, versioned form for the
// store; Decode refuses any other version, so that a newer Sealpost
// computes summaries afresh rather than misread old ones.
//
// The parser never fails and never holds more than a bounded amount: lines
// are read through a fixed buffer, header fields are kept up to
// MaxHeader bytes per part, nesting stops at MaxDepth (deeper parts are
// opaque), and a message over MaxParse bytes is described from its header
// alone. Header values are kept as they are in the message: encoded words
// are not decoded, as IMAP sends them undecoded. ParseAddressList is the
// one address-list parser of Sealpost: IMAP SEARCH and SORT read address
// fields with it too, through Address's DisplayName (decoded), Spec and
// Display.
//
// Left out: Content-MD5 is reported as given, never checked; RFC 2231
// parameter continuations are joined by mime.ParseMediaType.
package mimeinfo

// The bounds of a summary.
const (
	// MaxParse is the largest message whose body is parsed; larger ones
	// are described from their top-level header alone.
	MaxParse = 32 << 20
	// MaxDepth bounds MIME nesting; parts deeper are opaque.
	MaxDepth = 20
	// MaxHeader bounds the header bytes kept per part for its fields.
	MaxHeader = 64 << 10
	// MaxParts bounds the parts described; the rest are folded into the
	// part that holds them.
	MaxParts = 10000
	// PreviewLen is the length of a preview in characters; RFC 8970 §3
	// allows up to 256.
	PreviewLen = 200
)

// Summary describes one message.
type Summary struct {
	Size int64 // bytes
	Root *Part // the message itself
	// HeaderOnly is set for messages over MaxParse: Root has no children
	// and Lines counts nothing.
	HeaderOnly bool
	Preview    string
}

// Param is a Content-Type or Content-Disposition parameter.
type Param struct{ Name, Value string }

// Part is one MIME entity. Offsets count from the start of the message:
// the header is [Start, BodyStart), the body [BodyStart, End). The line
// end before a multipart delimiter belongs to the delimiter, so the body
// of a part may end without one; BodyStart may then pass End when the
// body is empty.
type Part struct {
	Start, BodyStart, End int64
	Lines                 int64 // lines of the body, an unterminated last line included

	Type, Subtype string  // lower case; text/plain when absent or invalid
	Params        []Param // names lower case, sorted
	ID            string  // Content-ID
	Description   string  // Content-Description
	Encoding      string  // Content-Transfer-Encoding, as given
	MD5           string  // Content-MD5
	Disposition   string  // lower case; "" when absent
	DispParams    []Param
	Language      string // Content-Language, as given
	Location      string // Content-Location

	// Envelope is set for messages: the root, and the message inside a
	// message/rfc822 (or message/global) part.
	Envelope *Envelope
	Parts    []*Part // the parts of a multipart
	Message  *Part   // the message inside a message/rfc822 part
}

// Multipart reports whether the part has parts of its own.
func (p *Part) Multipart() bool { return len(p.Parts) > 0 }

// BodySize is the length of the body in bytes.
func (p *Part) BodySize() int64 { return max(0, p.End-p.BodyStart) }

// Envelope is what IMAP ENVELOPE (RFC 9051 §7.5.2) and SORT and THREAD
// (RFC 5256) need of a message header. Strings are as in the header,
// unfolded and trimmed; "" means absent.
type Envelope struct {
	Date, Subject                      string
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo, MessageID, References   string
}

// Address is one address of an envelope. A group is a start marker
// (Mailbox is the group name, Host empty, Group set), its members, and
// an end marker (all empty, Group set), as IMAP writes it.
type Address struct {
	Name, Route, Mailbox, Host string
	Group                      bool
}

// Find follows a section part path (RFC 9051 §6.4.5): the parts of a
// multipart are numbered from 1; part 1 of a part that is not multipart is
// its body; a message/rfc822 part below the top numbers the parts of the
// message inside it. Find returns nil for a part that does not exist.
func (s *Summary) Find(path []uint32) *Part {
	p := s.Root
	for i, n := range path {
		if i > 0 && p.Message != nil {
			p = p.Message
		}
		switch {
		case p.Multipart():
			if n == 0 || int(n) > len(p.Parts) {
				return nil
			}
			p = p.Parts[n-1]
		case n != 1:
			return nil
		}
	}
	return p
}
