// Package queue runs Sealpost's outbound queue: it claims due messages from
// the store, hands each recipient domain to a Transport, records the outcome
// per recipient, retries temporary failures with backoff, and reports to the
// sender with delivery status notifications (RFC 3464) when delivery fails
// for good, is delayed, or succeeds where NOTIFY=SUCCESS asked for it
// (RFC 3461).
//
// The store makes the queue durable and keeps two workers, or two nodes,
// from claiming one message at once; the outcome of an attempt is recorded
// per recipient, so a crash repeats at most the attempt in progress and
// never re-sends to a recipient already done (RFC 5321 §4.5.4.1 asks for
// no more).
//
// Bounces never bounce: a message with the null sender gets no DSN
// (RFC 5321 §4.5.5, RFC 3461 §6.2).
//
// DSNNotifier signs each report with DKIM (RFC 6376) through its Sign
// hook, for the domain of the report's From: the report has a null
// envelope sender, so only an aligned DKIM signature lets it pass DMARC
// (RFC 7489) at the sender's server. A domain without an active key gets
// its reports unsigned, which is logged once.
package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// Status is the outcome of delivering to one recipient.
type Status int

const (
	// Delivered: the next hop accepted the message for the recipient.
	Delivered Status = iota
	// TempFail: try again later (4xx reply, connection failure, policy
	// that cannot be met now).
	TempFail
	// PermFail: give up (5xx reply, no such domain, null MX).
	PermFail
)

func (s Status) String() string {
	switch s {
	case Delivered:
		return "delivered"
	case TempFail:
		return "deferred"
	case PermFail:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Request asks a Transport to deliver one message to the pending
// recipients of one domain.
type Request struct {
	Item       store.QueueItem
	Domain     string
	Recipients []store.QueueRecipient
	// Open returns the message body; each call starts from the beginning.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// Result is the outcome for one recipient.
type Result struct {
	Recipient string
	Status    Status
	// Enhanced is the RFC 3463 status code, e.g. "5.1.1".
	Enhanced string
	// Diagnostic is the remote server's reply, or our reason, for logs and
	// DSNs.
	Diagnostic string
	// RemoteMTA names the host that answered, if one did.
	RemoteMTA string
}

// Transport delivers messages to other servers. It returns one Result per
// requested recipient; a recipient it leaves out counts as a temporary
// failure.
type Transport interface {
	Deliver(ctx context.Context, req Request) []Result
}

// Notifier turns failed, delayed and delivered recipients into delivery
// status notifications to the sender.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Notice is what a Notifier reports about one message.
type Notice struct {
	Item    store.QueueItem
	Kind    NoticeKind
	Results []Result
	// Open returns the original message, to include in the report.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// RetryUntil is when a delayed message will be given up on.
	RetryUntil time.Time
}

// NoticeKind says what a Notice reports.
type NoticeKind int

const (
	NoticeFailed NoticeKind = iota
	NoticeDelayed
	NoticeDelivered
)

// Options configure a Queue.
type Options struct {
	Store     store.Store
	Transport Transport
	Notifier  Notifier // nil: no DSNs (tests)
	Logger    *slog.Logger
	// Worker names this queue runner in claims; it must be unique per
	// process (hostname and PID do).
	Worker string
	// Concurrency is how many messages are delivered at once; default 16.
	Concurrency int
	// Lease is how long a claim lasts before another worker may take the
	// message; it is extended while an attempt runs. Default 10 minutes.
	Lease time.Duration
	// MaxAge is how long delivery is retried (RFC 5321 §4.5.4.1 suggests
	// 4-5 days). Default 5 days.
	MaxAge time.Duration
	// DelayWarning is when the sender is told that delivery is delayed.
	// Default 4 hours.
	DelayWarning time.Duration
	// DomainTimeout bounds the delivery to one recipient domain within an
	// attempt: the Transport's context ends then, whatever the timeouts of
	// the single SMTP steps add up to. Default 30 minutes.
	DomainTimeout time.Duration
	// AttemptTimeout bounds a whole attempt, over all recipient domains;
	// domains not reached by then are tried at the next attempt. Default
	// 2 hours.
	AttemptTimeout time.Duration
	// Backoff gives the wait after the n-th attempt (n from 1); default
	// DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultBackoff waits 5 minutes after the first attempt and doubles up to
// 4 hours, with ±10 % jitter so that messages deferred together do not
// retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := 5 * time.Minute
	for i := 1; i < attempt && d < 4*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 4*time.Hour)
	jitter := time.Duration(rand.Int64N(int64(d/5))) - d/10
	return d + jitter
}

// Queue is a running outbound queue.
type Queue struct {
	opts Options
	log  *slog.Logger
	poke chan struct{}
}

// New returns a queue runner; Run starts it.
func New(opts Options) (*Queue, error) {
	if opts.Store == nil || opts.Transport == nil {
		return nil, errors.New("queue: Store and Transport are required")
	}
	if opts.Worker == "" {
		return nil, errors.New("queue: Worker name is required")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Minute
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 5 * 24 * time.Hour
	}
	if opts.DelayWarning <= 0 {
		opts.DelayWarning = 4 * time.Hour
	}
	if opts.DomainTimeout <= 0 {
		opts.DomainTimeout = 30 * time.Minute
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 2 * time.Hour
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{opts: opts, log: log.With("component", "queue"), poke: make(chan struct{}, 1)}, nil
}

// Poke makes Run look for due messages now, e.g. after an Enqueue.
func (q *Queue) Poke() {
	select {
	case q.poke <- struct{}{}:
	default:
	}
}

// pollInterval bounds how long a due message waits when nobody pokes: the
// store does not say when the next message is due.
const pollInterval = 30 * time.Second

// Run delivers due messages until ctx ends, then waits for the attempts in
// progress to finish (they see ctx cancelled).
func (q *Queue) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, q.opts.Concurrency)
	for {
		free := q.opts.Concurrency - len(slots)
		var items []store.QueueItem
		if free > 0 {
			var err error
			items, err = q.opts.Store.ClaimDue(ctx, q.opts.Worker, q.opts.Now(), q.opts.Lease, free)
			if err != nil && ctx.Err() == nil {
				q.log.Error("claiming due messages", "err", err)
			}
		}
		for _, it := range items {
			slots <- struct{}{}
			wg.Go(func() {
				// A freed slot may take the next due message at once:
				// a backlog larger than the slots must not wait for
				// the poll.
				defer func() { <-slots; q.Poke() }()
				q.attempt(ctx, it)
			})
		}
		if len(items) == free && free > 0 {
			continue // there may be more due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-q.poke:
		case <-time.After(pollInterval):
		}
	}
}

// RunOnce claims and delivers every message due now, one batch at a time,
// and returns when none is left; for tests and `queue retry`-style use.
func (q *Queue) RunOnce(ctx context.Context) error {
	for {
		items, err := q.opts.Store.ClaimDue(ctx, q.opts.Worker, q.opts.Now(), q.opts.Lease, q.opts.Concurrency)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		var wg sync.WaitGroup
		for _, it := range items {
			wg.Go(func() { q.attempt(ctx, it) })
		}
		wg.Wait()
	}
}

// attempt delivers one claimed message to its pending recipients and
// records the outcome.
func (q *Queue) attempt(ctx context.Context, it store.QueueItem) {
	log := q.log.With("id", it.ID, "attempt", it.Attempts)
	actx, cancel := context.WithTimeout(ctx, q.opts.AttemptTimeout)
	defer cancel()
	claim := q.keepClaim(actx, it)
	results := q.deliver(claim.ctx, it)
	if claim.stop() {
		// Another worker holds the message now: it records the outcome
		// and sends the reports, so this attempt must do neither.
		log.Warn("claim lost during delivery; leaving the message to its new holder")
		return
	}

	now := q.opts.Now()
	expired := now.Sub(it.Created) >= q.opts.MaxAge
	var failed, delivered, delayed []Result
	byAddr := make(map[string]Result, len(results))
	for _, r := range results {
		byAddr[r.Recipient] = r
	}
	rcpts := make([]store.QueueRecipient, len(it.Recipients))
	index := make(map[string]int, len(it.Recipients))
	for i, rc := range it.Recipients {
		rcpts[i] = rc
		if rc.Done {
			continue
		}
		index[rc.Address] = i
		r, ok := byAddr[rc.Address]
		if !ok {
			r = Result{Recipient: rc.Address, Status: TempFail, Enhanced: "4.4.0", Diagnostic: "not attempted"}
		}
		if r.Status == TempFail && expired {
			r.Status = PermFail
			r.Enhanced = "4.4.7"
			r.Diagnostic = fmt.Sprintf("delivery time expired after %s; last error: %s", q.opts.MaxAge, r.Diagnostic)
		}
		rcpts[i].LastError = r.Diagnostic
		switch r.Status {
		case Delivered:
			rcpts[i].Done = true
			delivered = append(delivered, r)
		case PermFail:
			rcpts[i].Done, rcpts[i].Failed = true, true
			failed = append(failed, r)
		default:
			delayed = append(delayed, r)
		}
		log.Info("delivery", "rcpt", rc.Address, "status", r.Status.String(), "code", r.Enhanced,
			"remote", r.RemoteMTA, "detail", r.Diagnostic)
	}

	update := store.QueueUpdate{
		ID:          it.ID,
		ClaimToken:  it.ClaimToken,
		Recipients:  rcpts,
		NextAttempt: now.Add(q.opts.Backoff(it.Attempts)),
	}
	// Reports are queued before the attempt is recorded: a crash in
	// between repeats the report rather than losing it. A failure report
	// that could not be queued keeps its recipients pending, so that the
	// next attempt reports them again.
	if reported, err := q.notify(ctx, it, NoticeFailed, failed, time.Time{}); err != nil {
		for _, r := range reported {
			i := index[r.Recipient]
			rcpts[i].Done, rcpts[i].Failed = false, false
		}
	}
	_, _ = q.notify(ctx, it, NoticeDelivered, withNotify(it, delivered, "SUCCESS"), time.Time{})
	if len(delayed) > 0 && !it.DelayWarned && now.Sub(it.Created) >= q.opts.DelayWarning {
		_, err := q.notify(ctx, it, NoticeDelayed, withNotify(it, delayed, "DELAY"), it.Created.Add(q.opts.MaxAge))
		update.DelayWarned = err == nil
	}
	if err := q.opts.Store.FinishAttempt(context.WithoutCancel(ctx), update); err != nil {
		log.Error("recording the attempt", "err", err)
	}
}

// deliver groups the pending recipients by domain and hands each group to
// the transport.
func (q *Queue) deliver(ctx context.Context, it store.QueueItem) []Result {
	var domains []string
	groups := map[string][]store.QueueRecipient{}
	for _, rc := range it.Recipients {
		if rc.Done {
			continue
		}
		d := domainOf(rc.Address)
		if _, ok := groups[d]; !ok {
			domains = append(domains, d)
		}
		groups[d] = append(groups[d], rc)
	}
	open := func(ctx context.Context) (io.ReadCloser, error) { return q.opts.Store.OpenBody(ctx, it.BlobID) }
	var results []Result
	for _, d := range domains {
		if ctx.Err() != nil {
			break
		}
		results = append(results, q.deliverDomain(ctx, Request{Item: it, Domain: d, Recipients: groups[d], Open: open})...)
	}
	return results
}

// deliverDomain hands one domain to the transport under DomainTimeout, so
// that a server that answers slowly, or never, holds up neither the
// message's other domains nor the worker for long.
func (q *Queue) deliverDomain(ctx context.Context, req Request) []Result {
	ctx, cancel := context.WithTimeout(ctx, q.opts.DomainTimeout)
	defer cancel()
	return q.opts.Transport.Deliver(ctx, req)
}

// claim is a claim kept alive while an attempt runs.
type claim struct {
	// ctx is the attempt's context; it ends when the claim is lost.
	ctx  context.Context
	stop func() (lost bool)
}

// keepClaim extends the claim on it while an attempt runs, so a slow
// delivery is not claimed again and sent twice. If the store says the
// claim is gone (it expired and another worker took the message), the
// attempt's context is cancelled: the transport stops before sending the
// message again under someone else's claim.
func (q *Queue) keepClaim(ctx context.Context, it store.QueueItem) claim {
	ctx, cancel := context.WithCancelCause(ctx)
	tickerCtx, stopTicker := context.WithCancel(ctx)
	var lost bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(q.opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-tickerCtx.Done():
				return
			case <-t.C:
				until := q.opts.Now().Add(q.opts.Lease)
				err := q.opts.Store.ExtendClaim(tickerCtx, it.ID, it.ClaimToken, until)
				switch {
				case errors.Is(err, store.ErrNotFound):
					lost = true
					cancel(errClaimLost)
					return
				case err != nil && tickerCtx.Err() == nil:
					q.log.Warn("extending a claim", "id", it.ID, "err", err)
				}
			}
		}
	}()
	return claim{ctx: ctx, stop: func() bool {
		stopTicker()
		<-done
		cancel(nil)
		return lost
	}}
}

// errClaimLost ends an attempt whose message another worker has claimed.
var errClaimLost = errors.New("queue: the claim on the message was lost")

// notify hands a report to the Notifier, unless there is nothing to report
// or the message is itself a report. It returns the results the report
// covers, and the error if it could not be queued.
func (q *Queue) notify(ctx context.Context, it store.QueueItem, kind NoticeKind, results []Result, retryUntil time.Time) ([]Result, error) {
	if q.opts.Notifier == nil || len(results) == 0 || it.From == "" {
		return nil, nil
	}
	if kind == NoticeFailed {
		results = withNotify(it, results, "FAILURE")
		if len(results) == 0 {
			return nil, nil
		}
	}
	n := Notice{Item: it, Kind: kind, Results: results, RetryUntil: retryUntil,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return q.opts.Store.OpenBody(ctx, it.BlobID) }}
	if err := q.opts.Notifier.Notify(context.WithoutCancel(ctx), n); err != nil {
		q.log.Error("queueing a delivery status notification", "id", it.ID, "err", err)
		return results, err
	}
	return results, nil
}

// withNotify keeps the results whose recipient's NOTIFY asks for the given
// condition. Without NOTIFY, failures and delays are reported and successes
// are not (RFC 3461 §4.1).
func withNotify(it store.QueueItem, results []Result, condition string) []Result {
	notify := map[string]string{}
	for _, rc := range it.Recipients {
		notify[rc.Address] = strings.ToUpper(rc.Notify)
	}
	var kept []Result
	for _, r := range results {
		n := notify[r.Recipient]
		if n == "" && condition != "SUCCESS" || containsWord(n, condition) {
			kept = append(kept, r)
		}
	}
	return kept
}

func containsWord(list, word string) bool {
	for _, w := range strings.Split(list, ",") {
		if strings.TrimSpace(w) == word {
			return true
		}
	}
	return false
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}
