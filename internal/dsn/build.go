package dsn

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// dateLayout is the RFC 5322 section 3.3 date-time Build writes.
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// maxLine is the longest line, without CRLF, RFC 5322 section 2.1.1
// allows.
const maxLine = 998

// maxDiagnostic bounds the remote reply copied into a report, so a
// hostile server cannot make the report's lines too long.
const maxDiagnostic = 900

// Build returns the report m describes as a complete RFC 5322 message
// with CRLF line endings and no line over 998 octets. The report is UTF-8
// (and must then be sent with SMTPUTF8) exactly when m.UTF8 reports so.
func Build(m Message) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	global := m.UTF8()
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msgID := m.MessageID
	if msgID == "" {
		msgID = randomID() + "@" + m.Hostname
	}
	orig := prepareOriginal(m.Original, m.Return, m.maxOriginal())
	boundary := boundaryFor(msgID, orig.part)

	var b bytes.Buffer
	writeHeader(&b, m, date, msgID, boundary, global)
	b.WriteString("This is a MIME-encapsulated delivery status notification.\r\n\r\n")

	fmt.Fprintf(&b, "--%s\r\n", boundary)
	writeHumanPart(&b, m, orig, global)

	fmt.Fprintf(&b, "--%s\r\n", boundary)
	writeStatusPart(&b, m, global)

	if orig.part != nil {
		fmt.Fprintf(&b, "--%s\r\n", boundary)
		writeOriginalPart(&b, orig)
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)

	if err := checkLines(b.Bytes()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// UTF8 reports whether the report needs UTF-8 headers, that is whether its
// sender, recipient or any reported address is not ASCII. Such a report
// uses message/global-delivery-status (RFC 6533) and must be sent with
// SMTPUTF8.
func (m Message) UTF8() bool {
	if !isASCII(m.To) || !isASCII(m.From) {
		return true
	}
	for _, r := range m.Recipients {
		if !isASCII(r.FinalRecipient) || !isASCII(r.OriginalRecipient) {
			return true
		}
	}
	return false
}

func (m Message) check() error {
	switch {
	case m.Hostname == "" || !isPrintableASCII(m.Hostname):
		return fmt.Errorf("dsn: invalid host name %q", m.Hostname)
	case m.To == "":
		return errors.New("dsn: no report for a null reverse-path")
	case len(m.Recipients) == 0:
		return errors.New("dsn: no recipients")
	case !isPrintableASCII(m.MessageID):
		return fmt.Errorf("dsn: invalid Message-ID %q", m.MessageID)
	}
	for _, a := range []string{m.To, m.From} {
		if err := checkAddress(a); err != nil {
			return err
		}
	}
	for i, r := range m.Recipients {
		if err := r.check(); err != nil {
			return fmt.Errorf("dsn: recipient %d: %w", i, err)
		}
	}
	return nil
}

func (r Recipient) check() error {
	if r.FinalRecipient == "" {
		return errors.New("no final recipient")
	}
	for _, a := range []string{r.FinalRecipient, r.OriginalRecipient} {
		if err := checkAddress(a); err != nil {
			return err
		}
	}
	class := r.Action.statusClass()
	if class == 0 {
		return fmt.Errorf("unknown action %q", r.Action)
	}
	if !validStatus(r.Status) {
		return fmt.Errorf("invalid status %q", r.Status)
	}
	if r.Status[0] != class {
		return fmt.Errorf("status %s does not go with action %s", r.Status, r.Action)
	}
	if r.RemoteMTA != "" && !isPrintableASCII(r.RemoteMTA) {
		return fmt.Errorf("invalid remote MTA %q", r.RemoteMTA)
	}
	return nil
}

// checkAddress refuses what cannot be written into a header field:
// control characters, invalid UTF-8, or more than an address can hold.
func checkAddress(a string) error {
	if len(a) > 512 || !utf8.ValidString(a) || strings.ContainsFunc(a, isControl) {
		return fmt.Errorf("dsn: invalid address %q", a)
	}
	return nil
}

// validStatus checks an RFC 3463 section 2 status-code: class "." subject
// "." detail, with class 2, 4 or 5 and up to three digits in each of the
// others.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || strings.IndexByte("245", parts[0][0]) < 0 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
		if len(p) > 1 && p[0] == '0' {
			return false
		}
	}
	return true
}

func (m Message) maxOriginal() int {
	if m.MaxOriginal == 0 {
		return DefaultMaxOriginal
	}
	return m.MaxOriginal
}

// randomID returns a random Message-ID left-hand side of 130 bits.
func randomID() string { return rand.Text() }

// boundaryFor derives the MIME boundary from the Message-ID, so that a
// report is reproducible from its inputs. "=_" cannot occur in
// quoted-printable text; the returned message, which its author controls,
// is checked, since a caller-chosen Message-ID makes the boundary
// predictable. Other text Build copies in is indented or folded, so it
// never starts a line with "--".
func boundaryFor(msgID string, returned []byte) string {
	for i := 0; ; i++ {
		h := sha256.Sum256(fmt.Appendf(nil, "sealpost dsn %d %s", i, msgID))
		b := "=_dsn_" + hex.EncodeToString(h[:12])
		if !bytes.Contains(returned, []byte("--"+b)) {
			return b
		}
	}
}

func writeHeader(b *bytes.Buffer, m Message, date time.Time, msgID, boundary string, global bool) {
	from := m.From
	if from == "" {
		from = "postmaster@" + m.Hostname
	}
	subject := "Delivery Status Notification (Success)"
	switch summarize(m.Recipients) {
	case ActionFailed:
		subject = "Undelivered Mail Returned to Sender"
	case ActionDelayed:
		subject = "Delivery Status Notification (Delay)"
	}
	reportType := "delivery-status"
	if global {
		reportType = "global-delivery-status"
	}
	writeField(b, "From", "Mail Delivery System <"+from+">")
	writeField(b, "To", "<"+m.To+">")
	writeField(b, "Subject", subject)
	writeField(b, "Date", date.Format(dateLayout))
	writeField(b, "Message-ID", "<"+msgID+">")
	writeField(b, "Auto-Submitted", "auto-replied")
	writeField(b, "MIME-Version", "1.0")
	writeField(b, "Content-Type", "multipart/report; report-type="+reportType+"; boundary=\""+boundary+"\"")
	b.WriteString("\r\n")
}

// summarize returns the action the report is about, for its subject and
// opening words: failed if any recipient failed, else delayed if any is
// delayed, else delivered.
func summarize(rs []Recipient) Action {
	summary := ActionDelivered
	for _, r := range rs {
		switch r.Action {
		case ActionFailed:
			return ActionFailed
		case ActionDelayed:
			summary = ActionDelayed
		}
	}
	return summary
}

func writeStatusPart(b *bytes.Buffer, m Message, global bool) {
	if global {
		// RFC 6533 section 6.1: UTF-8 is carried as 8bit.
		b.WriteString("Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	} else {
		b.WriteString("Content-Type: message/delivery-status\r\n\r\n")
	}
	writeField(b, "Reporting-MTA", "dns; "+m.Hostname)
	if m.EnvelopeID != "" {
		writeField(b, "Original-Envelope-Id", sanitize(m.EnvelopeID, 100, false))
	}
	if m.ReceivedFromMTA != "" {
		writeField(b, "Received-From-MTA", "dns; "+sanitize(m.ReceivedFromMTA, 255, false))
	}
	if !m.ArrivalDate.IsZero() {
		writeField(b, "Arrival-Date", m.ArrivalDate.Format(dateLayout))
	}
	for _, r := range m.Recipients {
		b.WriteString("\r\n")
		if r.OriginalRecipient != "" {
			writeField(b, "Original-Recipient", typedAddress(r.OriginalRecipient, true))
		}
		writeField(b, "Final-Recipient", typedAddress(r.FinalRecipient, false))
		writeField(b, "Action", string(r.Action))
		writeField(b, "Status", r.Status)
		if r.RemoteMTA != "" {
			writeField(b, "Remote-MTA", "dns; "+r.RemoteMTA)
		}
		if r.DiagnosticCode != "" {
			writeField(b, "Diagnostic-Code", "smtp; "+joinReply(r.DiagnosticCode, global))
		}
		if !r.LastAttemptDate.IsZero() {
			writeField(b, "Last-Attempt-Date", r.LastAttemptDate.Format(dateLayout))
		}
		if r.Action == ActionDelayed && !r.WillRetryUntil.IsZero() {
			writeField(b, "Will-Retry-Until", r.WillRetryUntil.Format(dateLayout))
		}
	}
	b.WriteString("\r\n")
}

// typedAddress writes an address with its type: rfc822 for ASCII, utf-8
// (RFC 6533 section 3) otherwise. An ORCPT value that already carries its
// type is kept as given.
func typedAddress(a string, orcpt bool) string {
	if orcpt {
		if i := strings.IndexByte(a, ';'); i > 0 && isAtom(a[:i]) {
			return a[:i] + "; " + strings.TrimLeft(a[i+1:], " ")
		}
	}
	if isASCII(a) {
		return "rfc822; " + a
	}
	return "utf-8; " + a
}

// sanitize makes untrusted text fit one header field: line breaks and
// other controls become spaces, runs of spaces shrink to one, and the text
// is cut to max octets on a character boundary. Unless utf8 is set,
// anything not ASCII becomes '?'.
func sanitize(s string, max int, utf8OK bool) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, "?") {
		switch {
		case r == ' ' || isControl(r):
			space = b.Len() > 0
			continue
		case r >= utf8.RuneSelf && !utf8OK:
			r = '?'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeField writes "name: value" folded at spaces so that lines stay near
// 78 octets where the value allows (RFC 5322 section 2.1.1); a word longer
// than that stays whole, and callers keep words under 998 octets.
func writeField(b *bytes.Buffer, name, value string) {
	line := name + ":"
	for _, w := range strings.Split(value, " ") {
		if len(line)+1+len(w) > 78 && len(line) > len(name)+1 {
			b.WriteString(line)
			b.WriteString("\r\n")
			line = "\t" + w
			continue
		}
		line += " " + w
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}

// checkLines makes sure the report keeps the promise of Build: CRLF only,
// no line over 998 octets.
func checkLines(msg []byte) error {
	for n := 1; len(msg) > 0; n++ {
		i := bytes.Index(msg, []byte("\r\n"))
		if i < 0 {
			return fmt.Errorf("dsn: internal error: line %d does not end with CRLF", n)
		}
		line := msg[:i]
		if i > maxLine || bytes.ContainsAny(line, "\r\n") {
			return fmt.Errorf("dsn: internal error: line %d is %d octets or has a bare CR or LF", n, i)
		}
		msg = msg[i+2:]
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// isAtom reports whether s is an address type name (RFC 3464 section 2.1.2
// "atom"): letters, digits and hyphens.
func isAtom(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}
