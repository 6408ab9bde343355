// Package usercorpus makes the content classifier's global model from the
// users' own mail, so that a server learns what its people call spam and
// phishing without an administrator's corpus, and keeps learning as they
// report more. The server retrains once a day; `sealpost filter train
// --mailboxes` does it at once, alone or with corpora.
//
// The labels are what people did with their mail, never what the filter
// decided:
//
//   - phishing: the messages of every mailbox named Phishing
//     (training.PhishingMailbox): only a person, or their client at their
//     word, puts mail there;
//   - spam: the messages of a \Junk mailbox (RFC 6154) that the account
//     moved there itself (training's record of the move says spam). Mail
//     the filter filed there is left out: a model taught by its own
//     verdicts grows surer of its mistakes;
//   - ham: the messages an account moved out of Junk or Phishing, and
//     the messages it has read (\Seen) and kept, for at least ReportAfter,
//     in any mailbox but Junk, Phishing, Trash, Sent and Drafts (what
//     people write is not what they receive). A message read and kept
//     for two days without a report is mail its reader wanted: the way
//     large providers learn ham, since few people say so.
//
// Each account gives at most PerAccount messages of each class (2,000),
// fewer on a server of more than ten accounts (20,000 of each class in
// all), the newest (InternalDate), none older than MaxAge: recent mail,
// a bounded amount of work, and no single mailbox making the model its
// own. A body shared by several mailboxes or
// accounts (one message to many recipients) counts once; when people
// disagree about it a report of phishing or spam outweighs someone's
// keeping it, as the lesson worth learning server-wide. An account's own
// preferences stay in its personal model (classify.Personal).
//
// The words a model names when it explains a score (the top words in
// X-Sealpost-Reasons) come from reported spam and phishing only, never
// from the mail people kept.
//
// A global model made by an administrator from corpora (filter train
// without --mailboxes) is not replaced by the daily retraining: Source
// records where the stored model came from.
//
// Left out: disabled accounts, messages marked \Deleted, and bodies over
// training.MaxMessageBytes.
package usercorpus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/store"
)

// Store is what collecting needs of store.Store.
type Store interface {
	ListAccounts(ctx context.Context, domain string) ([]store.Account, error)
	ListMailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error)
	ListMessages(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]store.Message, error)
	OpenBody(ctx context.Context, blobID string) (io.ReadCloser, error)
	GetValue(ctx context.Context, namespace, key string) ([]byte, error)
}

// Options bound what Collect takes; the zero value gives the defaults.
type Options struct {
	// ReportAfter is how long a read message must have been kept to
	// count as ham; 0: DefaultReportAfter.
	ReportAfter time.Duration
	// MaxAge leaves out older mail; 0: DefaultMaxAge.
	MaxAge time.Duration
	// PerAccount bounds each class's messages per account; 0:
	// DefaultPerAccount.
	PerAccount int
	// PerClass bounds each class's messages over all accounts: each
	// account gives at most PerClass divided by the number of accounts
	// (and PerAccount), so that a server of many accounts learns from
	// a sample of each; 0: DefaultPerClass.
	PerClass int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultReportAfter = 48 * time.Hour
	DefaultMaxAge      = 365 * 24 * time.Hour
	DefaultPerAccount  = 2000
	DefaultPerClass    = 20000
	listBatch          = 500
	lookedAt           = 4 // see learnt
)

func (o Options) withDefaults() Options {
	if o.ReportAfter <= 0 {
		o.ReportAfter = DefaultReportAfter
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.PerAccount <= 0 {
		o.PerAccount = DefaultPerAccount
	}
	if o.PerClass <= 0 {
		o.PerClass = DefaultPerClass
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// label is one message chosen as an example, and how sure the choice is
// (a report outweighs a message merely kept: see the package doc).
type label struct {
	msg      store.Message
	class    classify.Class
	reported bool
}

// Collect calls fn with each labelled message of the enabled accounts,
// its class and its body, each body once.
func Collect(ctx context.Context, st Store, opt Options, fn func(c classify.Class, raw []byte)) error {
	labels, err := choose(ctx, st, opt)
	if err != nil {
		return err
	}
	for _, l := range labels {
		raw, err := read(ctx, st, l.msg.BlobID)
		if err != nil {
			if errors.Is(err, errTooLarge) || errors.Is(err, store.ErrNotFound) {
				continue // too large to learn from, or expunged meanwhile
			}
			return err
		}
		fn(l.class, raw)
	}
	return nil
}

// Count returns how many messages of each class Collect would give, at
// most (a body too large to learn from is counted here), without reading
// any.
func Count(ctx context.Context, st Store, opt Options) ([3]int, error) {
	var n [3]int
	labels, err := choose(ctx, st, opt)
	for _, l := range labels {
		n[l.class]++
	}
	return n, err
}

// choose labels the messages of every enabled account, each body once,
// in the order first met.
func choose(ctx context.Context, st Store, opt Options) ([]label, error) {
	opt = opt.withDefaults()
	accounts, err := st.ListAccounts(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("usercorpus: %w", err)
	}
	accounts = slices.DeleteFunc(accounts, func(a store.Account) bool { return a.Disabled })
	if len(accounts) > 0 {
		opt.PerAccount = max(1, min(opt.PerAccount, opt.PerClass/len(accounts)))
	}
	byBlob := map[string]int{} // index in out
	var out []label
	for _, a := range accounts {
		labels, err := accountLabels(ctx, st, a.ID, opt)
		if err != nil {
			return nil, err
		}
		for _, l := range labels {
			i, seen := byBlob[l.msg.BlobID]
			switch {
			case !seen:
				byBlob[l.msg.BlobID] = len(out)
				out = append(out, l)
			case outweighs(l, out[i]):
				out[i] = l
			}
		}
	}
	return out, nil
}

// outweighs reports whether label a replaces b for the same body: a
// report over a message merely kept, phishing over spam.
func outweighs(a, b label) bool {
	if a.reported != b.reported {
		return a.reported
	}
	return a.class == classify.Phish && b.class == classify.Spam
}

// accountLabels chooses one account's examples.
func accountLabels(ctx context.Context, st Store, account int64, opt Options) ([]label, error) {
	mailboxes, err := st.ListMailboxes(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("usercorpus: account %d: %w", account, err)
	}
	now := opt.Now()
	oldest, keptSince := now.Add(-opt.MaxAge), now.Add(-opt.ReportAfter)
	var phish, junk, kept, unread []store.Message
	for _, mb := range mailboxes {
		role := roleOf(mb)
		if role == skipped {
			continue
		}
		err := eachMessage(ctx, st, mb.ID, func(m store.Message) {
			if m.InternalDate.Before(oldest) || slices.Contains(m.Flags, `\Deleted`) {
				return
			}
			switch {
			case role == phishing:
				phish = append(phish, m)
			case role == junkBox:
				junk = append(junk, m)
			case slices.Contains(m.Flags, `\Seen`) && !m.InternalDate.After(keptSince):
				kept = append(kept, m)
			default:
				unread = append(unread, m) // ham only if moved out of Junk
			}
		})
		if err != nil {
			return nil, fmt.Errorf("usercorpus: account %d, mailbox %q: %w", account, mb.Name, err)
		}
	}
	var out []label
	for _, m := range newest(phish, opt.PerAccount) {
		out = append(out, label{m, classify.Phish, true})
	}
	spam, err := learnt(ctx, st, account, junk, training.Spam, opt.PerAccount)
	if err != nil {
		return nil, err
	}
	for _, m := range spam {
		out = append(out, label{m, classify.Spam, true})
	}
	// Ham: what the account moved out of Junk first, then what it kept.
	rescued, err := learnt(ctx, st, account, slices.Concat(kept, unread), training.Ham, opt.PerAccount)
	if err != nil {
		return nil, err
	}
	taken := map[int64]bool{}
	for _, m := range rescued {
		out = append(out, label{m, classify.Ham, true})
		taken[m.ID] = true
	}
	kept = slices.DeleteFunc(kept, func(m store.Message) bool { return taken[m.ID] })
	for _, m := range newest(kept, opt.PerAccount-len(rescued)) {
		out = append(out, label{m, classify.Ham, false})
	}
	return out, nil
}

// The roles of mailboxes.
const (
	keptBox = iota
	junkBox
	phishing
	skipped
)

func roleOf(mb store.Mailbox) int {
	switch {
	case mb.Name == training.PhishingMailbox:
		return phishing
	case mb.SpecialUse == `\Junk`:
		return junkBox
	case mb.SpecialUse == `\Trash`, mb.SpecialUse == `\Sent`, mb.SpecialUse == `\Drafts`:
		return skipped
	}
	return keptBox
}

// eachMessage calls fn for every message of a mailbox.
func eachMessage(ctx context.Context, st Store, mailbox int64, fn func(store.Message)) error {
	var from uint32 = 1
	for {
		batch, err := st.ListMessages(ctx, mailbox, from, listBatch)
		if err != nil {
			return err
		}
		for _, m := range batch {
			fn(m)
		}
		if len(batch) < listBatch {
			return nil
		}
		from = batch[len(batch)-1].UID + 1
	}
}

// newest returns at most n of msgs, the newest first.
func newest(msgs []store.Message, n int) []store.Message {
	slices.SortStableFunc(msgs, func(a, b store.Message) int { return b.InternalDate.Compare(a.InternalDate) })
	return msgs[:max(0, min(n, len(msgs)))]
}

// learnt returns at most n of msgs, the newest first, whose body the
// account's moves taught as class. Only the newest lookedAt*n are looked
// up: a record is one read of the store, and a mailbox of years holds
// tens of thousands of messages.
func learnt(ctx context.Context, st Store, account int64, msgs []store.Message, class string, n int) ([]store.Message, error) {
	var out []store.Message
	for _, m := range newest(msgs, lookedAt*n) {
		if len(out) == n {
			break
		}
		got, err := training.Learnt(ctx, st, account, m.BlobID)
		if err != nil {
			return nil, err
		}
		if got == class {
			out = append(out, m)
		}
	}
	return out, nil
}

var errTooLarge = errors.New("usercorpus: message too large to learn from")

func read(ctx context.Context, st Store, blob string) ([]byte, error) {
	r, err := st.OpenBody(ctx, blob)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	raw, err := io.ReadAll(io.LimitReader(r, training.MaxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("usercorpus: reading a body: %w", err)
	}
	if len(raw) > training.MaxMessageBytes {
		return nil, errTooLarge
	}
	return raw, nil
}

// Where a stored global model came from (Source, SetSource).
const (
	FromMailboxes           = "mailboxes"             // the daily retraining, or filter train --mailboxes alone
	FromCorpora             = "corpora"               // filter train with corpora only
	FromCorporaAndMailboxes = "corpora and mailboxes" // filter train with both
)

const (
	sourceNamespace = "filter-model"
	sourceKey       = "source"
)

// KV is the part of store.KV that Source and SetSource use.
type KV interface {
	GetValue(ctx context.Context, namespace, key string) ([]byte, error)
	PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error
}

// Source returns where the stored global model came from: one of the
// From constants, or "" when that is not recorded.
func Source(ctx context.Context, kv KV) (string, error) {
	v, err := kv.GetValue(ctx, sourceNamespace, sourceKey)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return string(v), err
}

// SetSource records where the global model just stored came from.
func SetSource(ctx context.Context, kv KV, source string) error {
	// KV values expire; this one is rewritten with every model.
	return kv.PutValue(ctx, sourceNamespace, sourceKey, []byte(source), time.Now().AddDate(100, 0, 0))
}

// Retrainer makes the global model from the users' mail.
type Retrainer struct {
	Store interface {
		Store
		KV
		store.FilterModels
	}
	Options Options
	// MinHam and MinUnwanted are the fewest ham, and spam and phishing
	// together, a model is made from; 0: DefaultMinHam and
	// DefaultMinUnwanted. Fewer examples make thresholds no one can trust:
	// until then the classifier scores nothing, and the other checks and
	// reputation judge.
	MinHam, MinUnwanted int
}

// The fewest examples a model is made from (Retrainer).
const (
	DefaultMinHam      = 200
	DefaultMinUnwanted = 200
)

// Result tells what Retrain did.
type Result struct {
	Counts [3]int // examples by class
	// Trained is true when a model was made and stored; else Skipped
	// says why.
	Trained    bool
	Skipped    string
	ModelBytes int
	Took       time.Duration
}

// AddTo adds a message Collect gave to set. Only the words of reported
// spam and phishing may be named by the model: the filter writes the
// words that weighed most into a message's X-Sealpost-Reasons, and the
// words of mail someone kept must never show in another person's message.
func AddTo(set *classify.Set, c classify.Class, raw []byte) {
	if c == classify.Ham {
		set.AddUnnamed(content.Parse(raw), c)
		return
	}
	set.Add(content.Parse(raw), c)
}

// ErrCorpusModel is Retrain's refusal to replace a model made from an
// administrator's corpora.
var ErrCorpusModel = errors.New("usercorpus: the global model was trained from corpora (sealpost filter train); retrain it with --mailboxes to add the users' mail")

// Retrain collects the users' mail and, when there is enough of it,
// trains and stores the global model. A model made from corpora is kept
// (ErrCorpusModel).
func (r *Retrainer) Retrain(ctx context.Context) (Result, error) {
	var res Result
	src, err := Source(ctx, r.Store)
	if err != nil {
		return res, fmt.Errorf("usercorpus: %w", err)
	}
	if src == FromCorpora || src == FromCorporaAndMailboxes {
		return res, ErrCorpusModel
	}
	start := time.Now()
	var set classify.Set
	err = Collect(ctx, r.Store, r.Options, func(c classify.Class, raw []byte) { AddTo(&set, c, raw) })
	if err != nil {
		return res, err
	}
	res.Counts = set.Counts
	minHam, minUnwanted := cmp.Or(r.MinHam, DefaultMinHam), cmp.Or(r.MinUnwanted, DefaultMinUnwanted)
	if n := set.Counts[classify.Ham]; n < minHam {
		res.Skipped = fmt.Sprintf("%d ham of the %d needed", n, minHam)
		return res, nil
	}
	if n := set.Counts[classify.Spam] + set.Counts[classify.Phish]; n < minUnwanted {
		res.Skipped = fmt.Sprintf("%d spam and phishing of the %d needed", n, minUnwanted)
		return res, nil
	}
	model, err := classify.Train(set.Examples, classify.TrainOptions{Vocabulary: set.Vocabulary})
	if err != nil {
		return res, fmt.Errorf("usercorpus: %w", err)
	}
	data, err := model.MarshalBinary()
	if err != nil {
		return res, err
	}
	if err := r.Store.PutFilterModel(ctx, 0, data); err != nil {
		return res, fmt.Errorf("usercorpus: storing the model: %w", err)
	}
	if err := SetSource(ctx, r.Store, FromMailboxes); err != nil {
		return res, fmt.Errorf("usercorpus: %w", err)
	}
	res.Trained, res.ModelBytes, res.Took = true, len(data), time.Since(start)
	return res, nil
}
