package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/dsn"
	"sealpost.dev/sealpost/internal/store"
)

// DSNNotifier reports to senders with delivery status notifications
// (RFC 3464) queued like any other message, from the null sender so that
// they never cause reports of their own.
type DSNNotifier struct {
	Store store.Store
	// Hostname names this server as the Reporting-MTA.
	Hostname string
	// From is the reports' author address; empty means
	// "postmaster@"+Hostname. Its domain is the one Sign signs for.
	From string
	// Sign, when set, returns a report with DKIM-Signature fields added,
	// signed for the domain of from, so that the report passes DMARC at
	// the sender's server (its envelope sender is null: SPF says nothing
	// of it). A failure wrapping ErrNoSigningKey queues the report
	// unsigned, logged once per domain; any other failure leaves the
	// report to the next attempt, like a failure to queue it.
	Sign func(ctx context.Context, from string, msg []byte) ([]byte, error)
	// Logger receives why reports go unsigned; nil discards.
	Logger *slog.Logger
	// Queued wakes the queue after a report is queued; may be nil.
	Queued func()

	unsigned sync.Map // domains already logged as having no key
}

// ErrNoSigningKey is what a DSNNotifier.Sign returns, wrapped, for a
// domain without an active DKIM key: the report goes unsigned.
var ErrNoSigningKey = errors.New("queue: no DKIM key to sign with")

// Notify implements Notifier.
func (n *DSNNotifier) Notify(ctx context.Context, notice Notice) error {
	it := notice.Item
	orig, err := readOriginal(ctx, notice)
	if err != nil {
		return err
	}
	m := dsn.Message{
		Hostname:    n.Hostname,
		From:        n.from(),
		To:          it.From,
		EnvelopeID:  it.EnvID,
		ArrivalDate: it.Created,
		Original:    orig,
	}
	// RFC 8689 section 5: a report about a REQUIRETLS message returns the
	// header only, whatever RET asked for.
	if it.Ret == store.RetHeaders || it.RequireTLS {
		m.Return = dsn.ReturnHeaders
	}
	orcpt := map[string]string{}
	for _, rc := range it.Recipients {
		orcpt[rc.Address] = rc.ORCPT
	}
	for _, r := range notice.Results {
		m.Recipients = append(m.Recipients, dsnRecipient(notice, r, orcpt[r.Recipient]))
	}
	report, err := dsn.Build(m)
	if err != nil {
		return fmt.Errorf("building a delivery report for message %d: %w", it.ID, err)
	}
	if report, err = n.sign(ctx, report); err != nil {
		return fmt.Errorf("signing the delivery report for message %d: %w", it.ID, err)
	}
	_, err = n.Store.Enqueue(ctx, bytes.NewReader(report), store.NewQueueItem{
		Recipients: []store.NewQueueRecipient{{Address: it.From}},
		SMTPUTF8:   m.UTF8(),
		// RFC 8689 section 5: the report needs the protection the message
		// had, so it travels with REQUIRETLS too. Being from the null
		// sender, it still goes to a next hop that authenticates with
		// DANE or MTA-STS but does not offer REQUIRETLS (see
		// RemoteTransport); without an authenticated path it is not sent.
		RequireTLS: it.RequireTLS,
	})
	if err != nil {
		return fmt.Errorf("queueing a delivery report for message %d: %w", it.ID, err)
	}
	if n.Queued != nil {
		n.Queued()
	}
	return nil
}

func (n *DSNNotifier) from() string {
	if n.From != "" {
		return n.From
	}
	return "postmaster@" + n.Hostname
}

// sign returns the report signed by Sign, or as it is when there is no
// Sign or the domain has no key.
func (n *DSNNotifier) sign(ctx context.Context, report []byte) ([]byte, error) {
	if n.Sign == nil {
		return report, nil
	}
	from := n.from()
	signed, err := n.Sign(ctx, from, report)
	switch {
	case errors.Is(err, ErrNoSigningKey):
		domain := domainOf(from)
		if _, logged := n.unsigned.LoadOrStore(domain, true); !logged && n.Logger != nil {
			n.Logger.Warn("delivery reports go out without a DKIM signature: their domain has no active key",
				"domain", domain, "err", err)
		}
		return report, nil
	case err != nil:
		return nil, err
	}
	return signed, nil
}

func dsnRecipient(notice Notice, r Result, orcpt string) dsn.Recipient {
	rc := dsn.Recipient{
		FinalRecipient:    r.Recipient,
		OriginalRecipient: orcpt,
		Status:            r.Enhanced,
		RemoteMTA:         r.RemoteMTA,
		LastAttemptDate:   notice.Item.LastAttempt,
	}
	if r.RemoteMTA != "" && looksLikeReply(r.Diagnostic) {
		rc.DiagnosticCode = r.Diagnostic
	} else {
		rc.Detail = r.Diagnostic
	}
	switch notice.Kind {
	case NoticeFailed:
		rc.Action = dsn.ActionFailed
		switch {
		case strings.HasPrefix(rc.Status, "5."):
		case rc.Status == "4.4.7": // retried until expiry: a permanent failure now
			rc.Status = "5.4.7"
		default:
			rc.Status = "5.0.0"
		}
	case NoticeDelayed:
		rc.Action = dsn.ActionDelayed
		if !strings.HasPrefix(rc.Status, "4.") {
			rc.Status = "4.0.0"
		}
		rc.WillRetryUntil = notice.RetryUntil
	case NoticeDelivered:
		rc.Action = dsn.ActionRelayed // the next hop's own DSN support is unknown
		if !strings.HasPrefix(rc.Status, "2.") {
			rc.Status = "2.0.0"
		}
	}
	if rc.LastAttemptDate.IsZero() {
		rc.LastAttemptDate = time.Now()
	}
	return rc
}

// looksLikeReply reports whether s is an SMTP reply ("550 5.1.1 ..."), to
// be reported as "smtp; ..." rather than as our own words.
func looksLikeReply(s string) bool {
	return len(s) >= 4 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' &&
		(s[3] == ' ' || s[3] == '-')
}

// readOriginal reads as much of the original message as a report may
// include.
func readOriginal(ctx context.Context, notice Notice) ([]byte, error) {
	if notice.Open == nil {
		return nil, nil
	}
	r, err := notice.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the original of message %d: %w", notice.Item.ID, err)
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, dsn.DefaultMaxOriginal+1))
}
