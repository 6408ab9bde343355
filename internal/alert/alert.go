// Package alert delivers Sealpost's security alerts (account.Alert): each
// becomes a short plain-text message from the postmaster of the account's
// domain, display name "Sealpost security", stored in the account's INBOX
// and, when the account has a recovery address, queued to it as well, so
// that the owner hears of a change even when a thief holds the mailbox.
//
// The INBOX copy goes through the same path as any local delivery
// (delivery.Pipeline.Deliver of a message from the null sender without a
// remote IP, which the pipeline's checks take for mail Sealpost made
// itself), so that it is durable before Send returns and IMAP sessions
// hear of it at once; it ignores the account's forwarding rules
// (delivery.Envelope.Local), so that a thief's forward cannot take the
// alerts away. Copies for outside addresses are queued with
// store.Enqueue from the null sender, so that a failure never causes a
// report of its own, and DKIM-signed (RFC 6376) with the domain's active
// keys like delivery reports, so that they pass DMARC (RFC 7489) at the
// receiver; a domain without a key sends them unsigned.
//
// Each message carries Auto-Submitted: auto-generated (RFC 3834 section
// 5), Date and Message-ID (RFC 5322 section 3.6), a Subject per kind of
// alert, and an X-Sealpost-Alert field naming the kind, for filters. The
// body is UTF-8 in quoted-printable (RFC 2045 section 6.7); what comes
// from clients (their names) goes only into the body, with control
// characters replaced, so it cannot add header fields.
//
// Send never fails the change that raised the alert: what it cannot
// deliver it logs.
//
// Left out: alerts are not localised; they are not rate-limited (an
// attacker signing in from many networks sends the owner as many alerts,
// which is the point); a recovery address that bounces is not noticed.
package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"mime/quotedprintable"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/store"
)

// DisplayName is the name alerts come from.
const DisplayName = "Sealpost security"

// sendTimeout bounds one alert's delivery: the change that raised it may
// be waiting.
const sendTimeout = 30 * time.Second

// Sender is the account.Alerter of a Sealpost instance.
type Sender struct {
	Store store.Store
	// Accounts signs the copies for outside addresses (SignDKIM); nil
	// sends them unsigned.
	Accounts *account.Service
	// Pipeline stores the INBOX copy. The server's own pipeline tells IMAP
	// sessions; a command-line tool's, without Changed, leaves them to
	// notice.
	Pipeline *delivery.Pipeline
	// Queued wakes the outbound queue after a copy is queued; may be nil.
	Queued func()
	// Logger receives what could not be delivered; nil means
	// slog.Default().
	Logger *slog.Logger

	unsigned sync.Map // domains already logged as having no DKIM key
}

// New returns a Sender delivering through pipeline, which must have a
// Store.
func New(pipeline *delivery.Pipeline, accounts *account.Service, queued func(), logger *slog.Logger) *Sender {
	return &Sender{Store: pipeline.Store, Accounts: accounts, Pipeline: pipeline, Queued: queued, Logger: logger}
}

// Send implements account.Alerter.
func (s *Sender) Send(ctx context.Context, a account.Alert) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	log := s.log().With("alert", string(a.Kind), "account_id", a.AccountID)
	acc, err := s.Store.GetAccountByID(ctx, a.AccountID)
	if err != nil {
		log.Warn("security alert not sent: no account", "err", err)
		return
	}
	log = log.With("account", acc.Address)
	if err := s.deliverInbox(ctx, a, acc); err != nil {
		log.Warn("security alert not stored in INBOX", "err", err)
	}
	for _, to := range s.outsideRecipients(ctx, a, acc, log) {
		if err := s.enqueue(ctx, a, acc, to); err != nil {
			log.Warn("security alert not queued to the recovery address", "to", to, "err", err)
		}
	}
}

// outsideRecipients are the account's recovery address and a.AlsoTo,
// each once, without the account itself.
func (s *Sender) outsideRecipients(ctx context.Context, a account.Alert, acc store.Account, log *slog.Logger) []string {
	var to []string
	r, err := s.Store.GetRecoveryAddress(ctx, acc.ID)
	switch {
	case err == nil:
		to = append(to, r)
	case !errors.Is(err, store.ErrNotFound):
		log.Warn("security alert: reading the recovery address", "err", err)
	}
	for _, r := range a.AlsoTo {
		if r != "" && r != acc.Address && !slices.Contains(to, r) {
			to = append(to, r)
		}
	}
	return to
}

// deliverInbox stores the alert in the account's INBOX.
func (s *Sender) deliverInbox(ctx context.Context, a account.Alert, acc store.Account) error {
	msg, err := Compose(a, acc.Address, acc.Address)
	if err != nil {
		return err
	}
	env := &delivery.Envelope{ID: "alert-" + rand.Text()[:12], Recipients: []delivery.Recipient{{Address: acc.Address}},
		SMTPUTF8: !ascii(acc.Address), Local: true}
	out, err := s.Pipeline.Deliver(ctx, env, delivery.Spool(msg))
	if err != nil {
		return err
	}
	if out.Verdict.Action != delivery.Accept {
		return fmt.Errorf("refused: %d %s %s (%s)", out.Verdict.Code, out.Verdict.Enhanced, out.Verdict.Text, out.Verdict.Reason)
	}
	return nil
}

// enqueue queues a copy of the alert to an outside address, signed.
func (s *Sender) enqueue(ctx context.Context, a account.Alert, acc store.Account, to string) error {
	msg, err := Compose(a, acc.Address, to)
	if err != nil {
		return err
	}
	if msg, err = s.sign(ctx, msg, domainOf(acc.Address)); err != nil {
		return err
	}
	_, err = s.Store.Enqueue(ctx, bytes.NewReader(msg), store.NewQueueItem{
		Recipients: []store.NewQueueRecipient{{Address: to}},
		SMTPUTF8:   !ascii(to) || !ascii(acc.Address),
	})
	if err != nil {
		return err
	}
	if s.Queued != nil {
		s.Queued()
	}
	return nil
}

// sign puts the domain's DKIM signatures on msg, or returns it as it is
// when the domain has no active key.
func (s *Sender) sign(ctx context.Context, msg []byte, domain string) ([]byte, error) {
	if s.Accounts == nil {
		return msg, nil
	}
	sig, err := s.Accounts.SignDKIM(ctx, domain, bytes.NewReader(msg))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if sig == "" {
		if _, logged := s.unsigned.LoadOrStore(domain, true); !logged {
			s.log().Warn("security alerts to outside addresses go out without a DKIM signature: the domain has no active key",
				"domain", domain)
		}
		return msg, nil
	}
	return append([]byte(sig), msg...), nil
}

func (s *Sender) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func domainOf(address string) string {
	return address[strings.LastIndexByte(address, '@')+1:]
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// subjects are the alerts' subjects, by kind.
var subjects = map[account.AlertKind]string{
	account.AlertNewSignIn:         "New sign-in to your account",
	account.AlertAppPasswordAdded:  "A new app password was added",
	account.AlertTwoStepOff:        "2-step verification was turned off",
	account.AlertPasswordChanged:   "Your password was changed",
	account.AlertForwardingChanged: "Mail forwarding was changed",
	account.AlertForwardingActive:  "Your mail is being forwarded",
	account.AlertRecoveryChanged:   "Your recovery address was changed",
	account.AlertOutboundHeld:      "Your outgoing mail was held",
}

// Subject returns the Subject of an alert of kind k.
func Subject(k account.AlertKind) string {
	if s, ok := subjects[k]; ok {
		return "Security alert: " + s
	}
	return "Security alert"
}

// Compose writes the alert about the account address as a message to to.
// Both addresses are normalised ones (from the store); one with a control
// character or without a domain is refused rather than written into a
// header field.
func Compose(a account.Alert, address, to string) ([]byte, error) {
	for _, addr := range []string{address, to} {
		if !strings.Contains(addr, "@") || strings.ContainsFunc(addr, isControl) || strings.ContainsAny(addr, "<> ") {
			return nil, fmt.Errorf("alert: address %q cannot go in a header field", addr)
		}
	}
	domain := domainOf(address)
	var b bytes.Buffer
	field := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	field("From", `"`+DisplayName+`" <postmaster@`+domain+">")
	field("To", "<"+to+">")
	field("Subject", Subject(a.Kind))
	field("Date", a.Time.Format(time.RFC1123Z))
	field("Message-ID", "<"+rand.Text()+"@"+domain+">")
	field("Auto-Submitted", "auto-generated")
	field("X-Sealpost-Alert", headerToken(string(a.Kind)))
	field("MIME-Version", "1.0")
	field("Content-Type", "text/plain; charset=utf-8")
	field("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body(a, address), "\n", "\r\n")))
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// body is the text of an alert, lines ending in LF.
func body(a account.Alert, address string) string {
	var b strings.Builder
	detail := clean(a.Detail)
	if detail == "" {
		detail = Subject(a.Kind) + "."
	}
	fmt.Fprintf(&b, "%s\n\n", detail)
	fmt.Fprintf(&b, "Account:  %s\n", address)
	fmt.Fprintf(&b, "When:     %s\n", a.Time.UTC().Format("Mon, 2 Jan 2006 15:04:05 UTC"))
	if a.RemoteIP.IsValid() {
		fmt.Fprintf(&b, "From IP:  %s\n", a.RemoteIP.WithZone(""))
	}
	if c := clean(a.Client); c != "" {
		fmt.Fprintf(&b, "Client:   %s\n", c)
	}
	b.WriteString("\nIf this was you, there is nothing to do.\n\n")
	b.WriteString("If it was not you, someone else may know your password. At once:\n" +
		"  - change your password (this signs everyone else out);\n" +
		"  - turn on 2-step verification, or check it is still on;\n" +
		"  - check your app passwords, forwarding rules and recovery address,\n" +
		"    and remove any you do not know;\n" +
		"  - tell your mail administrator.\n")
	b.WriteString("\nThis message was sent automatically by the mail server; replies are not read.\n")
	return b.String()
}

// maxClean bounds what clean keeps of a client-supplied text, in bytes.
const maxClean = 500

// clean makes text from a client safe and short for the body: valid
// UTF-8, control characters (line breaks included) as spaces.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxClean {
		n := maxClean
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == '\u2028' || r == '\u2029'
}

// headerToken keeps letters, digits and hyphens of s, at most 40.
func headerToken(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return -1
	}, s)
	return s[:min(len(s), 40)]
}
