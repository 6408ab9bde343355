// Package filter is Sealpost's spam and phishing filter: a scoring
// framework that runs checks on each inbound message, adds up their
// weighted scores and decides, from thresholds, to reject the message at
// SMTP time (550 5.7.1 with a short reason the sender can read), to file it
// into the recipient's Junk folder (the `\Junk` special use, RFC 6154), to
// deliver it with a warning, or to deliver it as it is. It is a
// delivery.Hook, placed after the mail-authentication hook (package
// mailauth), whose results it reads from delivery.Envelope.Auth.
//
// Every check implements Check (the whole message) or AccountCheck (one
// local recipient: a per-user model, the user's correspondents). A check
// returns named scores, each with a weight and a reason for people. Checks
// that do network I/O (NetworkCheck) run concurrently; the local ones run
// one after the other in a goroutine of their own, and all run under one
// deadline (Filter.Timeout). A check that fails or runs out of time is
// logged and scores nothing, unless its OnError policy is Tempfail: then
// the message is deferred with 451 4.7.1, never lost (a virus scanner
// that is down). A panic in a check is an error of that check.
//
// Each score's weight may be replaced by name, and each check's scores
// scaled by the check's name (Filter.Weights). Recipients and
// authenticated sender domains may be exempted.
//
// The verdict is shown in two header fields added on top of each stored
// copy:
//
//	X-Sealpost-Score: 6.5 (junk)
//	X-Sealpost-Reasons: phish.dmarc_reject_fail=6 "the message claims to
//	 be from example.com, which asks that mail failing its checks be
//	 rejected, and it fails them",
//	 headers.no_message_id=0.5 "no Message-ID field",
//	 classifier.spam=1 "..."
//
// and logged (one INFO record per verdict: id, account, score, action and
// each score). Fields with our prefix (X-Sealpost-) that arrive over SMTP
// are removed, so that nobody can forge our verdict or our security
// alerts (X-Sealpost-Alert, package alert).
//
// Suspicious mail (a warn verdict, or a phishing finding, Score.Warn,
// whether in the inbox or in Junk) gets a banner at the top of its body (Banner), for text/plain, text/html and the text
// alternatives of multipart/alternative and of the first part of
// multipart/mixed; other structures are left alone and only the header
// fields warn.
//
// Implemented here: the framework, verdicts, header fields, banner and
// logging; the checks that need nothing but the message: structural
// flaws (content.Message.Flaws) and header sanity (Date, Message-ID,
// From); and the adapters of the checks of other packages, each a small
// file:
//
//   - Phish (package phish): links, wording, a From domain imitating
//     ours, DMARC failure of a domain that publishes p=reject (the one
//     DMARC score: the framework has no DMARC check of its own); per
//     recipient, display names that impersonate our users or the
//     recipient's correspondents (CorrespondentLister).
//   - Attachments (package attach).
//   - DNSBL (package dnsbl): the client's address and the From and link
//     domains against configured zones; a network check.
//   - Clamd (package clamd): malware scanning; a network check whose
//     failure defers or passes the message as configured.
//   - Reputation (package reputation), per recipient; RecordVerdicts
//     tells reputation each verdict and VouchVerdicts tells greylisting
//     of senders that proved themselves, both through Background, a
//     bounded queue off the delivery path (what does not fit is dropped
//     and counted).
//
// Phishing findings (Score.Warn) put the banner on the message wherever
// it is filed, Junk included.
//
//   - Classifier (package classify): the content classifier, global and
//     per-account models, as an AccountCheck; it is also training's
//     Learner.
//
// Left out: a reject decided per recipient: the SMTP reply to DATA is
// one for all recipients, so only the message-level score can reject; and
// filtering of the copies forwarded to outside addresses, which carry no
// X-Sealpost fields and are never filed or rewritten.
package filter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/store"
)

// Input is what the checks read about one message. It is shared by all
// checks of the message, concurrently: checks must not modify it.
type Input struct {
	Env *delivery.Envelope
	// Auth is what mail authentication found (Env.Auth); nil when it did
	// not run. Checks that read it must allow for nil.
	Auth *delivery.Auth
	// Raw is the message as received, at most MaxRaw bytes of it;
	// Truncated says it is cut. Size is the whole message's size.
	Raw       []byte
	Truncated bool
	Size      int64
	// Message is Raw parsed once, for every check.
	Message *content.Message

	mu   sync.Mutex
	memo map[string]any
}

// Once returns what compute returns, computing it once per message and
// key: checks share work through it (the classifier's features, found in
// Check and used again in CheckAccount for each recipient). Keys are
// check names or start with one. compute must not call Once.
func (in *Input) Once(key string, compute func() any) any {
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.memo[key]; ok {
		return v
	}
	v := compute()
	if in.memo == nil {
		in.memo = map[string]any{}
	}
	in.memo[key] = v
	return v
}

// Recipient is the local account an AccountCheck decides for.
type Recipient struct {
	ID      int64
	Address string
}

// Score is one weighted finding of a check.
type Score struct {
	// Name identifies the finding within its check ("no_date"); the
	// framework prefixes the check's name ("headers.no_date"). "" is the
	// check's name alone.
	Name string
	// Weight is the points it adds: positive is suspicious, negative
	// speaks for the message (a known correspondent).
	Weight float64
	// Reason explains it in one short line, for people: it goes into the
	// header field, the log and, for Warn scores, the banner.
	Reason string
	// Warn marks a finding the recipient should be told about even when
	// the total stays below the warn threshold (phishing findings such as
	// a display name that impersonates a colleague).
	Warn bool
}

// Check scores a whole message. Name is stable and unique among the
// checks: it prefixes the scores' names and keys the configuration
// (weights, tempfail). Check may run concurrently with other checks and
// with itself for other messages; it must return soon after ctx is done.
// Returning no score is the ordinary outcome for a clean message; an
// error means the check could not judge (then OnError applies).
type Check interface {
	Name() string
	Check(ctx context.Context, in *Input) ([]Score, error)
}

// AccountCheck scores a message for one local recipient; it runs after
// the message-level checks, once per local account the message is
// delivered to, under a deadline of its own (Filter.Timeout). The
// message is accepted by then: its failure is logged and never defers.
type AccountCheck interface {
	Name() string
	CheckAccount(ctx context.Context, in *Input, rcpt Recipient) ([]Score, error)
}

// NetworkCheck is implemented by checks that wait on the network (DNS
// blocklists, a virus scanner): they run concurrently, each in its own
// goroutine. Checks without it run one after the other.
type NetworkCheck interface {
	Network() bool
}

// OnError is what a failing check means for the message.
type OnError int

const (
	// Ignore logs the failure; the check scores nothing.
	Ignore OnError = iota
	// Tempfail defers the message (451) so that the sender tries again.
	Tempfail
)

// Action is a verdict's decision.
type Action int

const (
	Pass   Action = iota // deliver as it is
	Warn                 // deliver to the inbox with a warning
	Junk                 // file into Junk
	Reject               // refuse at SMTP time
	Defer                // a check that must not fail failed: 451
)

func (a Action) String() string {
	switch a {
	case Pass:
		return "pass"
	case Warn:
		return "warn"
	case Junk:
		return "junk"
	case Reject:
		return "reject"
	case Defer:
		return "defer"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Defaults.
const (
	// MaxRaw bounds the bytes of a message the checks read (and the size
	// of a message that gets a banner).
	MaxRaw = content.MaxInput
	// DefaultTimeout bounds the checks of one message, and then the
	// account checks of each recipient.
	DefaultTimeout = 15 * time.Second
	// HeaderPrefix starts the names of our header fields.
	HeaderPrefix = "X-Sealpost-"
)

// Accounts looks up local accounts by address (store.Store does).
type Accounts interface {
	GetAccount(ctx context.Context, address string) (store.Account, error)
}

// Filter is the delivery hook. Without checks (the zero value, or the
// filter turned off) it only removes forged X-Sealpost- fields and adds
// none; it is safe for concurrent use once set up.
type Filter struct {
	Checks        []Check
	AccountChecks []AccountCheck
	// Accounts gives AccountChecks the recipient's account ID; required
	// when there are AccountChecks.
	Accounts Accounts
	// Thresholds: a total at or above one decides that action; 0 turns an
	// action off.
	RejectScore, JunkScore, WarnScore float64
	// Weights replace the weight of a score by its full name
	// ("headers.no_date"), or scale every score of a check by the check's
	// name ("dnsbl"); a full name wins over the check's name.
	Weights map[string]float64
	// OnError gives, by check name, what the check's failure means;
	// absent is Ignore.
	OnError map[string]OnError
	// Banner, when set, writes the warning put at the top of the body of
	// suspicious mail delivered to the inbox; nil adds no banner.
	Banner *BannerTemplate
	// ExemptRecipients are addresses or domains (lower case) whose mail
	// is not filtered: never refused while one of them is a recipient,
	// never filed or warned for them. ExemptSenders are domains whose
	// authenticated mail (the DMARC-aligned identity, or a passing SPF or
	// DKIM domain, or one below) is not filtered.
	ExemptRecipients, ExemptSenders []string
	// Timeout bounds the checks of one message; 0 is DefaultTimeout.
	Timeout time.Duration
	// OnVerdict, when set, hears every verdict after it is logged: for
	// each local account (account is its address), or for the whole
	// message when it is refused or deferred (account ""). Reputation
	// learns from it. It runs in the delivery path: it must be quick.
	OnVerdict func(ctx context.Context, in *Input, account string, res Result)
	// Arrived, when set, says when the message being checked arrived
	// (the classifier compares its Date with it); nil is now, as for
	// mail arriving over SMTP. Judging collected mail sets it to the
	// time the message was received, in.Message.Arrival as parsed.
	Arrived func(in *Input) time.Time
	Logger  *slog.Logger
}

// Check implements delivery.Hook. It removes the X-Sealpost- fields of
// mail received over SMTP (ours are added only by the server), runs the
// message-level checks and either rejects or defers the message
// or leaves the decision for each local account (Verdict.ForAccount).
// Mail of our own users and mail the queue hands back is not filtered.
func (f *Filter) Check(ctx context.Context, env *delivery.Envelope, msg delivery.Message) (delivery.Verdict, error) {
	if !env.RemoteIP.IsValid() {
		// Mail the server makes or the queue hands back: its X-Sealpost-
		// fields are ours (security alerts carry X-Sealpost-Alert).
		return delivery.Verdict{}, nil
	}
	raw, truncated, err := readBounded(msg)
	if err != nil {
		return delivery.Verdict{}, fmt.Errorf("filter: reading the message: %w", err)
	}
	v := delivery.Verdict{Drop: ourFields(raw)}
	if len(f.Checks)+len(f.AccountChecks) == 0 || env.Account != 0 || f.exemptSender(env.Auth) || f.allExempt(env) {
		return v, nil
	}
	in := &Input{Env: env, Auth: env.Auth, Raw: raw, Truncated: truncated, Size: msg.Size(), Message: content.Parse(raw)}
	// A message over SMTP is arriving now; its topmost Received field
	// is the sending server's, not ours (ours is added when it is stored).
	if f.Arrived != nil {
		in.Message.Arrival = f.Arrived(in)
	} else {
		in.Message.Arrival = time.Now()
	}
	res := f.score(ctx, in)
	switch res.Action {
	case Defer:
		f.verdict(ctx, in, "", res)
		return delivery.Verdict{Action: delivery.Defer, Code: 451, Enhanced: "4.7.1", Drop: v.Drop,
			Text: "message could not be checked now, try again later", Reason: "filter: " + res.Failed}, nil
	case Reject:
		if f.anyExempt(env) {
			break // an exempt recipient must get it: Junk for the others
		}
		f.verdict(ctx, in, "", res)
		return delivery.Verdict{Action: delivery.Reject, Code: 550, Enhanced: "5.7.1", Drop: v.Drop,
			Text: rejectText(res), Reason: fmt.Sprintf("filter: score %.1f", res.Total)}, nil
	}
	v.ForAccount = func(ctx context.Context, account string) (delivery.Verdict, error) {
		return f.forAccount(ctx, in, res, account)
	}
	return v, nil
}

// forAccount decides for one local account: the account checks' scores
// are added to the message's, and the total decides the folder, the
// header fields and the banner.
func (f *Filter) forAccount(ctx context.Context, in *Input, msgRes Result, account string) (delivery.Verdict, error) {
	res := msgRes
	if f.exemptRecipient(account) {
		res = Result{Action: Pass}
	} else if len(f.AccountChecks) > 0 {
		rcpt := Recipient{Address: account}
		if f.Accounts != nil {
			a, err := f.Accounts.GetAccount(ctx, account)
			if err != nil {
				return delivery.Verdict{}, fmt.Errorf("filter: %w", err)
			}
			rcpt.ID = a.ID
		}
		res = f.scoreAccount(ctx, in, msgRes, rcpt)
	}
	if res.Action == Reject {
		res.Action = Junk // too late to refuse: it was accepted for others
	}
	f.verdict(ctx, in, account, res)
	v := delivery.Verdict{Headers: resultFields(res)}
	if res.Action == Junk {
		v.Folder, v.Reason = `\Junk`, fmt.Sprintf("filter: score %.1f", res.Total)
	}
	// Phishing filed into Junk gets the banner too: people open their
	// Junk folder, and then they should be told what is wrong.
	if f.Banner != nil && (res.Action == Warn || res.warned()) {
		if text := f.Banner.Text(in, res); text != "" && !in.Truncated {
			v.Rewrite = func(r io.Reader) (io.Reader, error) { return rewriteWithBanner(r, text) }
		}
	}
	return v, nil
}

// verdict logs a verdict and tells OnVerdict.
func (f *Filter) verdict(ctx context.Context, in *Input, account string, res Result) {
	f.logVerdict(ctx, in.Env, account, res)
	if f.OnVerdict != nil {
		f.OnVerdict(ctx, in, account, res)
	}
}

// rewriteWithBanner reads the message to store and returns it with the
// banner; a message whose structure takes no banner is returned as it is.
func rewriteWithBanner(r io.Reader, text string) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxRaw+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxRaw {
		return nil, errors.New("message too large for a banner")
	}
	out, _ := AddBanner(b, text)
	return strings.NewReader(string(out)), nil
}

// rejectText is the reply text the sender reads: the reasons of the
// heaviest scores, short.
func rejectText(res Result) string {
	text := "message refused as spam"
	if top := res.top(2); len(top) > 0 {
		reasons := make([]string, len(top))
		for i, s := range top {
			reasons[i] = s.Reason
		}
		text += ": " + strings.Join(reasons, "; ")
	}
	return replyText(text)
}

// replyText keeps an SMTP reply text printable ASCII, one line, bounded.
func replyText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case b.Len() >= 200:
			return b.String() + "..."
		case r >= ' ' && r < 0x7f:
			b.WriteRune(r)
		case r == '\t' || r == '\r' || r == '\n':
			b.WriteByte(' ')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func (f *Filter) log() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

func (f *Filter) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return DefaultTimeout
}

// exemptRecipient reports whether the account's address or domain is
// exempt.
func (f *Filter) exemptRecipient(addr string) bool {
	addr = strings.ToLower(addr)
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	for _, e := range f.ExemptRecipients {
		if e == addr || e == domain {
			return true
		}
	}
	return false
}

// allExempt reports whether every recipient is exempt: then there is
// nothing to filter for.
func (f *Filter) allExempt(env *delivery.Envelope) bool {
	if len(f.ExemptRecipients) == 0 || len(env.Recipients) == 0 {
		return false
	}
	for _, r := range env.Recipients {
		if !f.exemptRecipient(r.Address) {
			return false
		}
	}
	return true
}

// anyExempt reports whether a recipient is exempt.
func (f *Filter) anyExempt(env *delivery.Envelope) bool {
	for _, r := range env.Recipients {
		if f.exemptRecipient(r.Address) {
			return true
		}
	}
	return false
}

// exemptSender reports whether an authenticated domain of the message is
// exempt: the aligned DMARC identity, or a domain that passed SPF or
// DKIM. An unauthenticated claim exempts nothing.
func (f *Filter) exemptSender(a *delivery.Auth) bool {
	if a == nil || len(f.ExemptSenders) == 0 {
		return false
	}
	var domains []string
	if a.Aligned != "" {
		domains = append(domains, a.Aligned)
	}
	if a.SPF == "pass" {
		domains = append(domains, a.SPFDomain)
	}
	domains = append(domains, a.DKIM...)
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		for _, e := range f.ExemptSenders {
			if d == e || strings.HasSuffix(d, "."+e) {
				return true
			}
		}
	}
	return false
}

// readBounded reads at most MaxRaw bytes of the message.
func readBounded(msg delivery.Message) ([]byte, bool, error) {
	r, err := msg.Open()
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, MaxRaw))
	if err != nil {
		return nil, false, err
	}
	return b, msg.Size() > int64(len(b)), nil
}
