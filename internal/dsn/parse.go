package dsn

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Default limits of Parse.
const (
	// DefaultMaxBytes bounds what Parse reads of a report. Parsing stops
	// after the returned message's header, so a report returning a large
	// message in full is still read.
	DefaultMaxBytes = 4 << 20
	// DefaultMaxRecipients bounds the recipients Parse accepts.
	DefaultMaxRecipients = 1000
)

// Limits on the parts of a report kept in a Report.
const (
	maxStatusBytes = 1 << 20 // the delivery-status part; over it, ErrTooLarge
	maxTextBytes   = 64 << 10
	maxHeaderBytes = 64 << 10
	maxParts       = 32 // parts looked at, over all levels
)

// Report is a parsed delivery status notification.
type Report struct {
	// Header is the report's own header.
	Header mail.Header
	// Global is set for message/global-delivery-status (RFC 6533).
	Global bool
	// Text is the human-readable part when it is text/plain, at most
	// 64 KiB of it, decoded from its transfer encoding but not from its
	// charset.
	Text string

	// The per-message fields (RFC 3464 section 2.2).
	ReportingMTA    TypedValue
	ReceivedFromMTA TypedValue
	DSNGateway      TypedValue
	EnvelopeID      string
	ArrivalDate     time.Time // zero when absent or unreadable
	// Fields holds every per-message field, including extensions, by
	// canonical name.
	Fields textproto.MIMEHeader

	// Recipients holds the per-recipient groups in order.
	Recipients []RecipientStatus

	// ReturnedHeader is the header of the returned message (from a
	// message/rfc822, message/global, text/rfc822-headers or
	// message/global-headers part), at most 64 KiB of it; nil when the
	// report returns nothing.
	ReturnedHeader textproto.MIMEHeader
}

// RecipientStatus is one per-recipient group of a report (RFC 3464
// section 2.3).
type RecipientStatus struct {
	OriginalRecipient TypedValue
	FinalRecipient    TypedValue
	// Action is lower case; it may be a value this package does not
	// define.
	Action Action
	// Status is the RFC 3463 code ("5.1.1"), empty when the field is
	// absent or malformed.
	Status          string
	RemoteMTA       TypedValue
	DiagnosticCode  TypedValue
	LastAttemptDate time.Time // zero when absent or unreadable
	WillRetryUntil  time.Time // zero when absent or unreadable
	// Fields holds every field of the group, by canonical name.
	Fields textproto.MIMEHeader
}

// TypedValue is a field value of the form "type; value", such as
// "rfc822; bob@example.com" or "smtp; 550 5.1.1 unknown". Type is lower
// case; it is empty when the field had no type. Addresses of type utf-8
// have their \x{...} escapes decoded (RFC 6533 section 3).
type TypedValue struct {
	Type  string
	Value string
}

// Parser parses reports within limits. The zero Parser uses the defaults.
type Parser struct {
	// MaxBytes bounds the octets read; zero means DefaultMaxBytes.
	MaxBytes int64
	// MaxRecipients bounds the per-recipient groups; zero means
	// DefaultMaxRecipients.
	MaxRecipients int
}

// Parse parses a report with the default limits.
func Parse(r io.Reader) (*Report, error) {
	return Parser{}.Parse(r)
}

// Parse reads a multipart/report with a message/delivery-status or
// message/global-delivery-status part. It returns an error wrapping
// ErrNotDSN for other messages, ErrTooLarge when a limit on octets is
// reached before the status part was read, and ErrTooManyRecipients.
// Field names are matched without regard to case, folded fields are
// unfolded, and LF line endings are accepted as well as CRLF.
func (p Parser) Parse(r io.Reader) (*Report, error) {
	maxBytes := p.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	lr := &io.LimitedReader{R: r, N: maxBytes}
	rep, err := p.parse(lr)
	if err != nil && lr.N == 0 && !errors.Is(err, ErrTooManyRecipients) {
		return nil, fmt.Errorf("%w: over %d octets: %w", ErrTooLarge, maxBytes, err)
	}
	return rep, err
}

func (p Parser) parse(r io.Reader) (*Report, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("%w: reading header: %w", ErrNotDSN, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["boundary"] == "" {
		return nil, fmt.Errorf("%w: content type %q", ErrNotDSN, msg.Header.Get("Content-Type"))
	}
	switch rt := strings.ToLower(params["report-type"]); rt {
	case "delivery-status", "global-delivery-status", "":
	default:
		return nil, fmt.Errorf("%w: report type %q", ErrNotDSN, rt)
	}
	rep := &Report{Header: msg.Header}
	if err := p.walk(rep, multipart.NewReader(msg.Body, params["boundary"])); err != nil {
		return nil, err
	}
	if rep.Fields == nil {
		return nil, fmt.Errorf("%w: no delivery-status part", ErrNotDSN)
	}
	return rep, nil
}

// walk reads the report's parts: the human-readable text (possibly inside
// a multipart/alternative, as Exchange sends it), the status, and the
// returned message's header, and stops there.
func (p Parser) walk(rep *Report, mr *multipart.Reader) error {
	for n := 0; n < maxParts; n++ {
		part, err := mr.NextPart()
		if err == io.EOF || (err != nil && rep.Fields != nil) {
			// What follows the status is not needed: a truncated or broken
			// returned message leaves the report readable.
			return nil
		}
		if err != nil {
			return fmt.Errorf("dsn: reading parts: %w", err)
		}
		mt, params, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if mt == "" {
			mt = "text/plain" // RFC 2045 section 5.2
		}
		switch {
		case mt == "message/delivery-status" || mt == "message/global-delivery-status":
			if rep.Fields != nil {
				continue // only the first status counts
			}
			rep.Global = mt == "message/global-delivery-status"
			if err := p.readStatus(rep, decodePart(part)); err != nil {
				return err
			}
		case rep.Fields == nil && rep.Text == "" && mt == "text/plain":
			rep.Text, err = readUpTo(decodePart(part), maxTextBytes)
			if err != nil {
				return fmt.Errorf("dsn: reading text: %w", err)
			}
		case rep.Fields == nil && rep.Text == "" && mt == "multipart/alternative" && params["boundary"] != "":
			if err := p.readAlternative(rep, multipart.NewReader(part, params["boundary"])); err != nil {
				return err
			}
		case rep.Fields != nil && isReturned(mt):
			rep.ReturnedHeader = readReturnedHeader(decodePart(part))
			return nil
		}
	}
	return nil
}

// readAlternative takes the text/plain of a multipart/alternative.
func (p Parser) readAlternative(rep *Report, mr *multipart.Reader) error {
	for n := 0; n < maxParts; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dsn: reading alternative parts: %w", err)
		}
		mt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if mt == "text/plain" || mt == "" {
			rep.Text, err = readUpTo(decodePart(part), maxTextBytes)
			if err != nil {
				return fmt.Errorf("dsn: reading text: %w", err)
			}
			return nil
		}
	}
	return nil
}

func isReturned(mt string) bool {
	switch mt {
	case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers":
		return true
	}
	return false
}

// decodePart undoes a base64 transfer encoding; mime/multipart already
// undoes quoted-printable.
func decodePart(p *multipart.Part) io.Reader {
	if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
		return base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: p})
	}
	return p
}

// newlineSkipper drops CR and LF, which base64.NewDecoder already
// ignores, and spaces and tabs, which it does not but which some
// encoders leave at line ends.
type newlineSkipper struct{ r io.Reader }

func (s *newlineSkipper) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	out := b[:0]
	for _, c := range b[:n] {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return len(out), err
}

// readUpTo reads at most max octets of r as text and drops the rest.
func readUpTo(r io.Reader, max int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, max))
	return string(b), err
}

// readReturnedHeader reads what it can of a returned message's header.
func readReturnedHeader(r io.Reader) textproto.MIMEHeader {
	tr := textproto.NewReader(bufio.NewReader(io.LimitReader(r, maxHeaderBytes)))
	h, _ := tr.ReadMIMEHeader() // a truncated header still says something
	if h == nil {
		h = textproto.MIMEHeader{}
	}
	return h
}

// readStatus parses the status part's field groups.
func (p Parser) readStatus(rep *Report, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, maxStatusBytes+1))
	if err != nil {
		return fmt.Errorf("dsn: reading delivery status: %w", err)
	}
	if len(data) > maxStatusBytes {
		return fmt.Errorf("%w: delivery status over %d octets", ErrTooLarge, maxStatusBytes)
	}
	maxRcpt := p.MaxRecipients
	if maxRcpt <= 0 {
		maxRcpt = DefaultMaxRecipients
	}
	groups, err := splitGroups(data, maxRcpt+1)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return fmt.Errorf("%w: empty delivery status", ErrNotDSN)
	}
	fillMessage(rep, groups[0])
	rep.Recipients = make([]RecipientStatus, 0, len(groups)-1)
	for _, g := range groups[1:] {
		rep.Recipients = append(rep.Recipients, recipientOf(g))
	}
	return nil
}

func fillMessage(rep *Report, f textproto.MIMEHeader) {
	rep.Fields = f
	rep.ReportingMTA = typed(f.Get("Reporting-Mta"))
	rep.ReceivedFromMTA = typed(f.Get("Received-From-Mta"))
	rep.DSNGateway = typed(f.Get("Dsn-Gateway"))
	rep.EnvelopeID = strings.TrimSpace(f.Get("Original-Envelope-Id"))
	rep.ArrivalDate = parseDate(f.Get("Arrival-Date"))
}

func recipientOf(f textproto.MIMEHeader) RecipientStatus {
	return RecipientStatus{
		OriginalRecipient: address(f.Get("Original-Recipient")),
		FinalRecipient:    address(f.Get("Final-Recipient")),
		Action:            Action(strings.ToLower(firstWord(f.Get("Action")))),
		Status:            statusOf(f.Get("Status")),
		RemoteMTA:         typed(f.Get("Remote-Mta")),
		DiagnosticCode:    typed(f.Get("Diagnostic-Code")),
		LastAttemptDate:   parseDate(f.Get("Last-Attempt-Date")),
		WillRetryUntil:    parseDate(f.Get("Will-Retry-Until")),
		Fields:            f,
	}
}

func parseDate(s string) time.Time {
	t, err := mail.ParseDate(strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

// firstWord returns s up to its first space, tab or comment.
func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t("); i >= 0 {
		s = s[:i]
	}
	return s
}

// statusOf returns the status code at the start of a Status field, which
// some MTAs follow with a comment, or "" when it is malformed.
func statusOf(s string) string {
	w := firstWord(s)
	if !validStatus(w) {
		return ""
	}
	return w
}

// typed splits "type; value" (RFC 3464 section 2.1.2).
func typed(s string) TypedValue {
	s = strings.TrimSpace(s)
	if s == "" {
		return TypedValue{}
	}
	i := strings.IndexByte(s, ';')
	if i < 0 || !isAtom(strings.TrimSpace(s[:i])) {
		return TypedValue{Value: s}
	}
	return TypedValue{Type: strings.ToLower(strings.TrimSpace(s[:i])), Value: strings.TrimSpace(s[i+1:])}
}

// address is typed for an address field, decoding utf-8 addresses.
func address(s string) TypedValue {
	v := typed(s)
	if v.Type == "utf-8" {
		v.Value = decodeEmbedded(v.Value)
	}
	return v
}

// decodeEmbedded decodes the \x{HEX} escapes of RFC 6533 section 3
// (EmbeddedUnicodeChar); malformed escapes are left as they are.
func decodeEmbedded(s string) string {
	if !strings.Contains(s, `\x{`) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, `\x{`)
		if i < 0 {
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, '}')
		r, err := strconv.ParseUint(s[3:max(j, 3)], 16, 32)
		if j < 4 || j > 9 || err != nil || r > unicode.MaxRune || r < 0x20 || (r >= 0xd800 && r <= 0xdfff) {
			b.WriteString(`\x{`)
			s = s[3:]
			continue
		}
		b.WriteRune(rune(r))
		s = s[j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// splitGroups splits the status part into groups of fields separated by
// blank lines (RFC 3464 section 2.1.1), unfolding continuation lines.
// Lines that are neither fields nor continuations are skipped. It refuses
// more than maxGroups groups.
func splitGroups(data []byte, maxGroups int) ([]textproto.MIMEHeader, error) {
	g := grouper{max: maxGroups}
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimRight(line, "\r")
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			g.flush()
			g.cur = nil
		case line[0] == ' ' || line[0] == '\t':
			if g.name != "" {
				g.value.WriteByte(' ')
				g.value.Write(bytes.TrimSpace(line))
			}
		default:
			g.flush()
			i := bytes.IndexByte(line, ':')
			if i <= 0 {
				continue
			}
			if err := g.field(string(bytes.TrimSpace(line[:i])), bytes.TrimSpace(line[i+1:])); err != nil {
				return nil, err
			}
		}
	}
	g.flush()
	return g.groups, nil
}

// grouper collects fields into groups, building each field's unfolded
// value in one buffer so long folded fields cost linear time.
type grouper struct {
	groups []textproto.MIMEHeader
	cur    textproto.MIMEHeader
	max    int
	name   string // field being unfolded, "" for none
	value  bytes.Buffer
}

func (g *grouper) field(name string, value []byte) error {
	if g.cur == nil {
		if len(g.groups) == g.max {
			return fmt.Errorf("%w: over %d", ErrTooManyRecipients, g.max-1)
		}
		g.cur = textproto.MIMEHeader{}
		g.groups = append(g.groups, g.cur)
	}
	g.name = textproto.CanonicalMIMEHeaderKey(name)
	g.value.Reset()
	g.value.Write(value)
	return nil
}

func (g *grouper) flush() {
	if g.name != "" {
		g.cur[g.name] = append(g.cur[g.name], g.value.String())
		g.name = ""
	}
}
