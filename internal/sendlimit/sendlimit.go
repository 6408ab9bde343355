// Package sendlimit is Sealpost's outbound abuse control: it stops a
// stolen account from sending spam. For every message an account submits
// with recipients outside the hosted domains, the Limiter decides whether
// those recipients' copy leaves or is held.
//
// # Where mail is counted
//
// Submission sessions (package smtpserver) call Limiter.Check with the
// outside recipients of each message before queueing it. Local recipients
// are not counted and are delivered normally, held or not. The count is
// kept in the store (store.Outbound, migration 0016): one record per
// message with its number of recipients and of new ones, kept for a week.
// RecordSend locks the account's row, so the nodes sharing a PostgreSQL
// database count one account's messages one at a time and agree exactly;
// nothing is kept in memory, so a restart loses nothing.
//
// # What trips
//
//   - messages and recipients per minute, hour and day over Limits;
//   - new recipients (addresses the account has neither written to nor
//     received from) per hour and per day over Limits. The store keeps a
//     bounded set of each account's most recent correspondents
//     (Limits.Correspondents); Limiter.Received adds the senders of mail
//     delivered to the account;
//   - a burst: more messages in the last hour than BurstMinimum and than
//     BurstFactor times the account's usual hourly rate over the week
//     before.
//
// # When it trips
//
// The message is still accepted, and its outside copy queued held, never
// lost. The account is flagged in the store and every ready item it
// submitted is held with it, in one transaction; from then on each of its
// outgoing messages is queued held, without counting, until an
// administrator releases it (`sealpost queue release --account USER`,
// Limiter.Release), which clears the flag, makes its held items due at
// once, and starts its counts afresh. The owner is sent an
// account.AlertOutboundHeld alert through account.Service's Alerter; the
// administrator is told by a WARN log line, an "outbound" entry in the
// event log, and the same alert sent to the account that receives the
// postmaster address of the account's domain (when it is another account).
//
// A message is counted when it is checked, before it is queued: should
// queueing then fail, the client's retry is counted again, which errs on
// the strict side.
//
// Left out: per-domain or per-IP submission limits; judging the content
// of what is sent; an automatic release after a while (a held account
// waits for a person); counting mail forwarded by aliases or rules, which
// is not submitted; distinguishing received mail that passed
// authentication from forged senders when learning correspondents (a thief
// who first mails the account from the addresses to be spammed makes them
// known, and meets the other limits still).
package sendlimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
)

// Limits are the thresholds. A zero limit is not checked.
type Limits struct {
	MessagesPerMinute   int
	MessagesPerHour     int
	MessagesPerDay      int
	RecipientsPerMinute int
	RecipientsPerHour   int
	RecipientsPerDay    int
	// NewRecipientsPerHour and NewRecipientsPerDay bound the recipients
	// the account never wrote to or received from.
	NewRecipientsPerHour int
	NewRecipientsPerDay  int
	// A burst is more messages in the last hour than BurstMinimum and
	// than BurstFactor times the usual hourly rate; a zero BurstFactor
	// turns burst detection off.
	BurstFactor  float64
	BurstMinimum int
	// Correspondents is how many of each account's most recent
	// correspondents are remembered.
	Correspondents int
}

// DefaultLimits are close to what large providers allow a personal
// account: a few hundred messages and recipients a day, a few dozen a
// minute.
var DefaultLimits = Limits{
	MessagesPerMinute: 20, MessagesPerHour: 100, MessagesPerDay: 500,
	RecipientsPerMinute: 50, RecipientsPerHour: 200, RecipientsPerDay: 500,
	NewRecipientsPerHour: 50, NewRecipientsPerDay: 200,
	BurstFactor: 10, BurstMinimum: 40,
	Correspondents: 2000,
}

// Limiter decides per submitted message. It is safe for concurrent use;
// all its state is in the store.
type Limiter struct {
	Store store.Store
	// Accounts resolves the postmaster address and carries the Alerter;
	// nil sends no alerts.
	Accounts *account.Service
	Limits   Limits
	Logger   *slog.Logger
	Now      func() time.Time // nil means time.Now
}

// Decision is the verdict on one message.
type Decision struct {
	Hold bool
	// Reason says why the account is held: the limit this message
	// tripped, or the reason it was held for before.
	Reason string
	// Tripped is set when this message is the one that tripped a limit.
	Tripped bool
}

// Check records a message the account submits to the outside recipients
// and decides whether it is held. A message without outside recipients is
// neither counted nor held. An error means nothing could be decided: the
// caller must not accept the message.
func (l *Limiter) Check(ctx context.Context, acct store.Account, recipients []string) (Decision, error) {
	if len(recipients) == 0 {
		return Decision{}, nil
	}
	norm := make([]string, len(recipients))
	for i, r := range recipients {
		norm[i] = strings.ToLower(r)
	}
	now := l.now()
	c, err := l.Store.RecordSend(ctx, acct.ID, now, norm, l.Limits.Correspondents)
	if err != nil {
		return Decision{}, fmt.Errorf("sendlimit: %w", err)
	}
	if !c.Hold.Since.IsZero() {
		return Decision{Hold: true, Reason: c.Hold.Reason}, nil
	}
	reason := l.Limits.Exceeded(c)
	if reason == "" {
		return Decision{}, nil
	}
	if err := l.hold(ctx, acct, reason, now); err != nil {
		return Decision{}, err
	}
	return Decision{Hold: true, Reason: reason, Tripped: true}, nil
}

// Exceeded returns which limit the counts exceed, or "".
func (lim Limits) Exceeded(c store.SendCounts) string {
	checks := []struct {
		what       string
		got, limit int
	}{
		{"messages per minute", c.Minute.Messages, lim.MessagesPerMinute},
		{"recipients per minute", c.Minute.Recipients, lim.RecipientsPerMinute},
		{"messages per hour", c.Hour.Messages, lim.MessagesPerHour},
		{"recipients per hour", c.Hour.Recipients, lim.RecipientsPerHour},
		{"new recipients per hour", c.Hour.New, lim.NewRecipientsPerHour},
		{"messages per day", c.Day.Messages, lim.MessagesPerDay},
		{"recipients per day", c.Day.Recipients, lim.RecipientsPerDay},
		{"new recipients per day", c.Day.New, lim.NewRecipientsPerDay},
	}
	for _, ch := range checks {
		if ch.limit > 0 && ch.got > ch.limit {
			return fmt.Sprintf("%s over the limit: %d > %d", ch.what, ch.got, ch.limit)
		}
	}
	if lim.BurstFactor > 0 && c.Hour.Messages > lim.BurstMinimum {
		// The usual rate is the week's messages before this hour, spread
		// over its hours.
		usual := float64(c.Week.Messages-c.Hour.Messages) / (store.SendHistory.Hours() - 1)
		if float64(c.Hour.Messages) > lim.BurstFactor*usual {
			return fmt.Sprintf("a burst: %d messages in the last hour, usually %.1f", c.Hour.Messages, usual)
		}
	}
	return ""
}

// hold flags the account and, the first time, tells its owner and the
// administrator.
func (l *Limiter) hold(ctx context.Context, acct store.Account, reason string, now time.Time) error {
	fresh, err := l.Store.HoldOutbound(ctx, acct.ID, reason, now)
	if err != nil {
		return fmt.Errorf("sendlimit: %w", err)
	}
	if !fresh {
		return nil
	}
	l.log().Warn("outgoing mail of an account held", "account", acct.Address, "reason", reason)
	detail := fmt.Sprintf("Outgoing mail of %s is held: %s. Nothing more leaves until an administrator releases it.", acct.Address, reason)
	if _, err := l.Store.AppendLog(ctx, store.LogEntry{Time: now, AccountID: acct.ID, Kind: "outbound",
		Outcome: "held", Detail: reason}); err != nil {
		l.log().Error("logging a hold", "account", acct.Address, "err", err)
	}
	if l.Accounts == nil || l.Accounts.Alerts == nil {
		return nil
	}
	alert := account.Alert{AccountID: acct.ID, Kind: account.AlertOutboundHeld, Time: now, Detail: detail}
	l.Accounts.Alerts.Send(ctx, alert)
	if pm := l.postmaster(ctx, acct); pm != 0 {
		alert.AccountID = pm
		l.Accounts.Alerts.Send(ctx, alert)
	}
	return nil
}

// postmaster returns the ID of the first account the postmaster address
// of acct's domain leads to, 0 if none or if it is acct itself.
func (l *Limiter) postmaster(ctx context.Context, acct store.Account) int64 {
	_, domain, _ := strings.Cut(acct.Address, "@")
	res, err := l.Accounts.Resolve(ctx, "postmaster@"+domain)
	if err != nil || len(res.Accounts) == 0 {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			l.log().Warn("finding the postmaster", "domain", domain, "err", err)
		}
		return 0
	}
	pm, err := l.Store.GetAccount(ctx, res.Accounts[0])
	if err != nil || pm.ID == acct.ID {
		return 0
	}
	return pm.ID
}

// Received notes that mail from sender was delivered to the account, so
// that sender is no new recipient when the account writes to it. Errors
// are logged: the delivery goes on.
func (l *Limiter) Received(ctx context.Context, accountID int64, sender string) {
	if sender == "" {
		return
	}
	err := l.Store.AddCorrespondent(ctx, accountID, strings.ToLower(sender), l.now(), l.Limits.Correspondents)
	if err != nil {
		l.log().Warn("noting a correspondent", "account", accountID, "err", err)
	}
}

// Release clears the account's hold and releases its held mail, and
// returns how many queued items it released. It fails with an error
// wrapping store.ErrNotFound when the account is not held.
func (l *Limiter) Release(ctx context.Context, acct store.Account) (int, error) {
	now := l.now()
	n, err := l.Store.ReleaseOutbound(ctx, acct.ID, now)
	if err != nil {
		return 0, fmt.Errorf("sendlimit: %w", err)
	}
	l.log().Info("outgoing mail of an account released", "account", acct.Address, "items", n)
	if _, err := l.Store.AppendLog(ctx, store.LogEntry{Time: now, AccountID: acct.ID, Kind: "outbound",
		Protocol: "cli", Outcome: "released", Detail: fmt.Sprintf("%d queued messages released", n)}); err != nil {
		l.log().Error("logging a release", "account", acct.Address, "err", err)
	}
	return n, nil
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limiter) log() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}
