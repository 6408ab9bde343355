package filter

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/publicsuffix"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/reputation"
)

// Assessor is reputation's side of the check: *reputation.Reputation.
type Assessor interface {
	Assess(ctx context.Context, q reputation.Query) (reputation.Assessment, error)
}

// Reputation scores a message for one recipient by what reputation
// (package reputation) remembers of its sender domain (only when DMARC
// passed for it: a forged From must not borrow or spoil a name), its
// sending network and its link domains, and whether its authenticated
// sender is one of the recipient's correspondents (a negative score).
type Reputation struct {
	Assessor Assessor
}

// Name implements AccountCheck.
func (Reputation) Name() string { return "reputation" }

// CheckAccount implements AccountCheck.
func (r Reputation) CheckAccount(ctx context.Context, in *Input, rcpt Recipient) ([]Score, error) {
	q := reputationQuery(in)
	q.AccountID = rcpt.ID
	a, err := r.Assessor.Assess(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Score, len(a.Findings))
	for i, f := range a.Findings {
		out[i] = Score{Name: f.Name, Weight: f.Score, Reason: f.Reason}
	}
	return out, nil
}

// reputationQuery is what reputation is asked and told of the message,
// worked out once per message.
func reputationQuery(in *Input) reputation.Query {
	return in.Once("reputation.query", func() any {
		q := reputation.Query{IP: in.Env.RemoteIP}
		if a := in.Auth; a != nil && a.DMARC == "pass" {
			q.SenderDomain = strings.ToLower(a.FromDomain)
		}
		if len(in.Message.From) > 0 {
			q.FromAddress = strings.ToLower(in.Message.From[0].Addr)
		}
		seen := map[string]bool{}
		for _, l := range in.Message.Links {
			d := reputation.LinkDomain(l.Host)
			if d == "" || seen[d] {
				continue
			}
			if len(q.LinkDomains) == reputation.MaxLinkDomains {
				break
			}
			seen[d] = true
			q.LinkDomains = append(q.LinkDomains, d)
		}
		return q
	}).(reputation.Query)
}

// Background runs work off the delivery path, one job after the other in
// one goroutine, from a bounded queue: when the queue is full a job is
// dropped and counted, never waited for, since the sender is waiting for
// the reply to DATA.
type Background struct {
	q       chan func(context.Context)
	dropped atomic.Int64
	done    chan struct{}
	stop    sync.Once
	wg      sync.WaitGroup
	log     *slog.Logger
}

// JobTimeout bounds each background job.
const JobTimeout = 10 * time.Second

// NewBackground starts a worker with a queue of size jobs.
func NewBackground(size int, log *slog.Logger) *Background {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Background{q: make(chan func(context.Context), size), done: make(chan struct{}), log: log}
	b.wg.Go(b.run)
	return b
}

func (b *Background) run() {
	for {
		select {
		case job := <-b.q:
			b.do(job)
		case <-b.done:
			for { // what was queued before Close
				select {
				case job := <-b.q:
					b.do(job)
				default:
					return
				}
			}
		}
	}
}

func (b *Background) do(job func(context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), JobTimeout)
	defer cancel()
	job(ctx)
}

// Go queues job; false when it was dropped (the queue is full, or
// Close was called).
func (b *Background) Go(job func(context.Context)) bool {
	select {
	case <-b.done:
	default:
		select {
		case b.q <- job:
			return true
		default:
		}
	}
	if n := b.dropped.Add(1); n&(n-1) == 0 { // 1, 2, 4, 8 ...: the log says it without flooding
		b.log.Warn("filter: background queue full, work dropped", "dropped", n)
	}
	return false
}

// Dropped is how many jobs were dropped.
func (b *Background) Dropped() int64 { return b.dropped.Load() }

// Close runs what is queued and stops the worker.
func (b *Background) Close() {
	b.stop.Do(func() { close(b.done) })
	b.wg.Wait()
}

// Recorder is reputation's side of learning: *reputation.Reputation.
type Recorder interface {
	Record(ctx context.Context, o reputation.Observation) error
}

// RecordVerdicts returns an OnVerdict that tells reputation, in the
// background, what the filter decided of each message, once per message
// (its first verdict): refused or filed into Junk is spam (phishing when
// a phishing finding weighs most), passed is ham; a warning or a deferral
// says nothing.
func RecordVerdicts(rec Recorder, bg *Background, log *slog.Logger) func(context.Context, *Input, string, Result) {
	return func(_ context.Context, in *Input, _ string, res Result) {
		class := verdictClass(res)
		if class == "" || !first(in, "reputation.recorded") {
			return
		}
		q := reputationQuery(in)
		o := reputation.Observation{SenderDomain: q.SenderDomain, IP: q.IP, LinkDomains: q.LinkDomains,
			Class: class, Source: reputation.FromVerdict}
		id := in.Env.ID
		bg.Go(func(ctx context.Context) {
			if err := rec.Record(ctx, o); err != nil && log != nil {
				log.Warn("filter: recording a verdict", "id", id, "err", err)
			}
		})
	}
}

// verdictClass is the class a verdict teaches reputation.
func verdictClass(res Result) string {
	switch res.Action {
	case Pass:
		if res.warned() {
			return ""
		}
		return reputation.Ham
	case Junk, Reject:
		if top := res.top(1); len(top) == 1 && strings.HasPrefix(top[0].Name, "phish.") {
			return reputation.Phish
		}
		return reputation.Spam
	}
	return ""
}

// Voucher is greylisting's side: *greylist.Greylist.
type Voucher interface {
	Vouch(ctx context.Context, ip netip.Addr, from string) error
}

// VouchVerdicts returns an OnVerdict that tells greylisting, in the
// background, of a sender that proved itself: a message delivered
// without Junk whose envelope sender passed SPF and which carries a DKIM
// signature that passed, aligned with the From domain (its
// organizational domain, RFC 7489 section 3.2). Greylisting then spares
// that sender domain at that network (package greylist).
func VouchVerdicts(g Voucher, bg *Background, log *slog.Logger) func(context.Context, *Input, string, Result) {
	return func(_ context.Context, in *Input, account string, res Result) {
		if account == "" || res.Action != Pass && res.Action != Warn || !provedItself(in.Auth) || in.Env.MailFrom == "" {
			return
		}
		if !first(in, "greylist.vouched") {
			return
		}
		ip, from, id := in.Env.RemoteIP, in.Env.MailFrom, in.Env.ID
		bg.Go(func(ctx context.Context) {
			if err := g.Vouch(ctx, ip, from); err != nil && log != nil {
				log.Warn("filter: vouching for a sender", "id", id, "err", err)
			}
		})
	}
}

// provedItself reports SPF pass and a DKIM pass aligned with From.
func provedItself(a *delivery.Auth) bool {
	if a == nil || a.SPF != "pass" || a.FromDomain == "" {
		return false
	}
	from := orgDomain(a.FromDomain)
	for _, d := range a.DKIM {
		if orgDomain(d) == from {
			return true
		}
	}
	return false
}

// orgDomain is a domain's organizational domain (public suffix plus one
// label), or the domain itself when it has none.
func orgDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

// first reports whether this is the first call for key and message.
func first(in *Input, key string) bool {
	was := false
	in.Once(key, func() any { was = true; return nil })
	return was
}

// OnVerdicts returns an OnVerdict that calls each of fs in turn.
func OnVerdicts(fs ...func(context.Context, *Input, string, Result)) func(context.Context, *Input, string, Result) {
	return func(ctx context.Context, in *Input, account string, res Result) {
		for _, f := range fs {
			f(ctx, in, account, res)
		}
	}
}
