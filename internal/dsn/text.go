package dsn

import (
	"bytes"
	"fmt"
	"mime/quotedprintable"
	"strings"
)

// explanation is what a status code means and what the sender can do,
// in plain words.
type explanation struct {
	what, todo string
}

// explain says what an RFC 3463 status code means and what the sender
// can do, for the codes a sender meets most; other codes get the meaning
// of their subject (RFC 3463 section 3).
func explain(status string) explanation {
	switch status[2:] {
	case "1.1":
		return explanation{"the address does not exist at the recipient's domain",
			"Check the address for typing mistakes, or ask the recipient for their current address."}
	case "1.2":
		return explanation{"the recipient's domain does not exist or cannot receive mail",
			"Check the part of the address after the @ for typing mistakes."}
	case "1.3":
		return explanation{"the address is not valid",
			"Check the address for typing mistakes."}
	case "1.6":
		return explanation{"the recipient has moved and left no forwarding address",
			"Ask the recipient for their new address."}
	case "1.10":
		return explanation{"the recipient's domain does not accept mail at all (it publishes a null MX record)",
			"Check the domain, or reach the recipient another way."}
	case "2.1":
		return explanation{"the recipient's mailbox is disabled",
			"Reach the recipient another way."}
	case "2.2":
		return explanation{"the recipient's mailbox is full",
			"Try again later, or reach the recipient another way."}
	case "2.3":
		return explanation{"the message is larger than the recipient accepts",
			"Send a smaller message, for example by sharing large attachments through a link."}
	case "3.4":
		return explanation{"the message is larger than the recipient's mail server accepts",
			"Send a smaller message, for example by sharing large attachments through a link."}
	case "4.1":
		return explanation{"the recipient's mail server did not answer",
			"Nothing yet; if this lasts, the recipient's mail server may be down."}
	case "4.2":
		return explanation{"the connection to the recipient's mail server broke off",
			"Nothing yet; delivery is retried."}
	case "4.4":
		return explanation{"no mail server could be found for the recipient's domain",
			"Check the part of the address after the @ for typing mistakes."}
	case "4.7":
		return explanation{"the message was too old to deliver and has expired",
			"Send the message again later, or reach the recipient another way."}
	case "7.1":
		return explanation{"the recipient's mail server refused the message by its policy",
			"If the server's reply below does not say why, contact the recipient another way."}
	case "7.10":
		return explanation{"a secure (TLS) connection the recipient's domain requires could not be made",
			"Nothing on your side; the recipient's administrators must fix their TLS setup."}
	case "7.26":
		return explanation{"the message failed the recipient's sender authentication checks (DKIM, SPF or DMARC)",
			"Ask your mail administrator to check your domain's DKIM, SPF and DMARC setup."}
	}
	switch status[2] {
	case '1':
		return explanation{what: "there is a problem with the recipient's address"}
	case '2':
		return explanation{what: "there is a problem with the recipient's mailbox"}
	case '3':
		return explanation{what: "the recipient's mail system has a problem"}
	case '4':
		return explanation{what: "there is a network or routing problem"}
	case '5':
		return explanation{what: "the mail servers could not agree on how to deliver the message"}
	case '6':
		return explanation{what: "there is a problem with the message's content or format"}
	case '7':
		return explanation{what: "the message was refused for security or policy reasons"}
	}
	return explanation{what: "of an unspecified problem"}
}

// writeHumanPart writes the first part of the report: plain words on what
// happened and what to do (RFC 6522 section 3).
func writeHumanPart(b *bytes.Buffer, m Message, orig original, global bool) {
	var t strings.Builder
	summary := summarize(m.Recipients)
	fmt.Fprintf(&t, "This is the mail system at %s.\n\n", m.Hostname)
	about := "Your message"
	if orig.subject != "" {
		about = fmt.Sprintf("Your message %q", orig.subject)
	}
	switch summary {
	case ActionFailed:
		para(&t, about+" could not be delivered to one or more recipients. Delivery will not be tried again. The reasons are below.")
	case ActionDelayed:
		para(&t, about+" has not yet been delivered to one or more recipients. This is only a warning: you do not need to send it again. Delivery is still being tried, and you will get another notice if it fails for good.")
	default:
		para(&t, about+" was handled as follows, as you asked to be told.")
	}
	for _, r := range m.Recipients {
		writeRecipientText(&t, r)
	}
	switch {
	case orig.cut != "":
		para(&t, orig.cut)
	case orig.full:
		para(&t, "The original message is attached.")
	case orig.part != nil:
		para(&t, "The header of the original message is attached.")
	}

	text := t.String()
	text = strings.ReplaceAll(text, "\n", "\r\n")
	switch {
	case isASCII(text):
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
		b.WriteString(text)
	case global:
		// The report is UTF-8 throughout and sent with SMTPUTF8 anyway.
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(text)
	default:
		// Keep an otherwise ASCII report 7-bit.
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		w := quotedprintable.NewWriter(b)
		_, _ = w.Write([]byte(text)) // writes to a bytes.Buffer cannot fail
		_ = w.Close()
	}
}

func writeRecipientText(t *strings.Builder, r Recipient) {
	e := explain(r.Status)
	var what string
	switch r.Action {
	case ActionFailed:
		what = fmt.Sprintf("<%s>: not delivered, because %s.", r.FinalRecipient, e.what)
	case ActionDelayed:
		what = fmt.Sprintf("<%s>: delayed, because %s.", r.FinalRecipient, e.what)
		if !r.WillRetryUntil.IsZero() {
			what += " Delivery will be tried until " + r.WillRetryUntil.Format(dateLayout) + "."
		}
		e.todo = "You do not need to do anything now."
	case ActionDelivered:
		what = fmt.Sprintf("<%s>: delivered to the recipient's mailbox.", r.FinalRecipient)
	case ActionRelayed:
		what = fmt.Sprintf("<%s>: passed on to a mail server that does not send delivery notices; you will not be told more.", r.FinalRecipient)
	case ActionExpanded:
		what = fmt.Sprintf("<%s>: delivered to a mailing list or alias, which passes it on to its members.", r.FinalRecipient)
	}
	para(t, what)
	if r.Detail != "" {
		indent(t, sanitize(r.Detail, maxDiagnostic, true))
	}
	if r.DiagnosticCode != "" {
		from := "The recipient's mail server"
		if r.RemoteMTA != "" {
			from = "The mail server " + r.RemoteMTA
		}
		indent(t, from+" said: "+joinReply(r.DiagnosticCode, true))
	}
	if r.Action == ActionFailed && e.todo != "" {
		indent(t, "What you can do: "+e.todo)
	}
}

// para writes s as a paragraph wrapped at 72 columns.
func para(t *strings.Builder, s string) {
	wrap(t, s, "")
	t.WriteString("\n")
}

// indent writes s wrapped and indented, as a paragraph under a recipient.
func indent(t *strings.Builder, s string) {
	wrap(t, s, "    ")
	t.WriteString("\n")
}

// wrap writes s in lines of at most 72 columns where words allow;
// maxDiagnostic keeps any single word well under 998 octets.
func wrap(t *strings.Builder, s, prefix string) {
	line := prefix
	for _, w := range strings.Fields(s) {
		if len(line) > len(prefix) && len(line)+1+len(w) > 72 {
			t.WriteString(line + "\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += w
	}
	t.WriteString(line + "\n")
}

// joinReply makes one line of a possibly multi-line SMTP reply (RFC 5321
// section 4.2.1), dropping the code and enhanced code the continuation
// lines repeat, and sanitizes it.
func joinReply(reply string, utf8OK bool) string {
	lines := strings.FieldsFunc(reply, func(r rune) bool { return r == '\r' || r == '\n' })
	if len(lines) == 0 {
		return ""
	}
	code, enhanced := "", ""
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if len(l) >= 4 && isDigits(l[:3]) && (l[3] == '-' || l[3] == ' ') {
			if i == 0 {
				code = l[:3]
			}
			if l[:3] == code {
				l = strings.TrimSpace(l[4:])
			}
		}
		if i == 0 {
			if w := firstWord(l); validStatus(w) {
				enhanced = w
			}
		} else if enhanced != "" && firstWord(l) == enhanced {
			l = strings.TrimSpace(l[len(enhanced):])
		}
		lines[i] = l
	}
	text := strings.Join(lines, " ")
	if code != "" {
		text = code + " " + text
	}
	return sanitize(text, maxDiagnostic, utf8OK)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
