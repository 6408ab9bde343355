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
//     the messages it has read (\Seen) that arrived at least ReportAfter
//     ago (InternalDate) and are kept in any mailbox but Junk, Phishing,
//     Trash, Sent and Drafts (what people write is not what they
//     receive). A message read and kept for two days without a report is
//     mail its reader wanted: the way large providers learn ham, since
//     few people say so.
//
// Each account gives at most PerAccount messages of each class (2,000),
// fewer on a server of more than five accounts (10,000 of each class in
// all, a few hundred megabytes of features; one each past 10,000
// accounts), the newest (InternalDate), none older than MaxAge: recent
// mail, a bounded amount of work, and no single
// mailbox making the model its own. A message in several mailboxes or
// accounts (one message to many recipients: each copy is a body of its
// own) counts once, known by its Message-ID; when people disagree about
// it a report outweighs someone's keeping it, and between reports
// phishing outweighs spam outweighs ham, as the lesson worth learning
// server-wide. An account's own preferences stay in its personal model
// (classify.Personal).
//
// The words a model names when it explains a score (the top words in
// X-Sealpost-Reasons) come from reported spam and phishing only, never
// from the mail people kept, and a word is named only for the very
// feature it was learnt from (classify.Model.Explain).
//
// A global model made by an administrator from corpora (filter train
// without --mailboxes), or stored before its source was recorded, is not
// replaced by the daily retraining: Source records where the stored model
// came from. Nor is one stored while the retraining ran. Nodes sharing a
// store take turns (Retrainer.Lease): one claims the retraining in
// store.KV (AddValue) and the others leave it to it until the claim runs
// out.
//
// Limits, known and left: the labels are what people say, so a user can
// teach the global model what they like (IMAP APPEND places any message,
// with any date and flags, in any mailbox); PerAccount bounds how much
// any one account weighs, and the model's thresholds still keep 0.1 % of
// the ham it learnt from. Each run lists
// every mailbox of every account, and training uses half the cores for
// its minutes. Disabled accounts, messages marked \Deleted, and bodies over
// training.MaxMessageBytes are left out.
package usercorpus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/store"
)

// Store is what collecting needs of store.Store.
type Store interface {
	ListAccounts(ctx context.Context, domain string) ([]store.Account, error)
	ListMailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error)
	ListSummarized(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]store.Summarized, error)
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
	DefaultPerClass    = 10000
	listBatch          = 500
	lookedAt           = 4 // see learnt
	minLookups         = 1000
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

// candidate is a message that may become an example, with the key
// that tells copies of it apart from other mail (sameMessage).
type candidate struct {
	store.Message
	key string
}

// label is one message chosen as an example, and how sure the choice is
// (a report outweighs a message merely kept: see the package doc).
type label struct {
	msg      candidate
	class    classify.Class
	reported bool
}

// Collect calls fn with each labelled message of the enabled accounts,
// its class and its body, each message once.
func Collect(ctx context.Context, st Store, opt Options, fn func(c classify.Class, raw []byte)) error {
	labels, err := choose(ctx, st, opt)
	if err != nil {
		return err
	}
	for _, l := range labels {
		raw, err := training.ReadBody(ctx, st, l.msg.BlobID)
		if err != nil {
			if errors.Is(err, training.ErrTooLarge) || errors.Is(err, store.ErrNotFound) {
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

// choose labels the messages of every enabled account, each message
// once, in the order first met.
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
	byKey := map[string]int{} // index in out
	var out []label
	for _, a := range accounts {
		labels, err := accountLabels(ctx, st, a.ID, opt)
		if err != nil {
			return nil, err
		}
		for _, l := range labels {
			i, seen := byKey[l.msg.key]
			switch {
			case !seen:
				byKey[l.msg.key] = len(out)
				out = append(out, l)
			case outweighs(l, out[i]):
				out[i] = l
			}
		}
	}
	return out, nil
}

// outweighs reports whether label a replaces b for the same message: a
// report over a message merely kept, and between reports phishing over
// spam over ham (someone's report of unwanted mail is the lesson worth
// learning server-wide; the rest is in their personal models).
func outweighs(a, b label) bool {
	if a.reported != b.reported {
		return a.reported
	}
	return a.class > b.class // Ham < Spam < Phish
}

// accountLabels chooses one account's examples.
func accountLabels(ctx context.Context, st Store, account int64, opt Options) ([]label, error) {
	mailboxes, err := st.ListMailboxes(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("usercorpus: account %d: %w", account, err)
	}
	now := opt.Now()
	oldest, keptSince := now.Add(-opt.MaxAge), now.Add(-opt.ReportAfter)
	var phish, junk, kept, unread []candidate
	for _, mb := range mailboxes {
		role := roleOf(mb)
		if role == skipped {
			continue
		}
		err := eachMessage(ctx, st, mb.ID, func(m candidate) {
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
	kept = slices.DeleteFunc(kept, func(m candidate) bool { return taken[m.ID] })
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
func eachMessage(ctx context.Context, st Store, mailbox int64, fn func(candidate)) error {
	var from uint32 = 1
	for {
		batch, err := st.ListSummarized(ctx, mailbox, from, listBatch)
		if err != nil {
			return err
		}
		for _, m := range batch {
			fn(candidate{m.Message, sameMessage(m)})
		}
		if len(batch) < listBatch {
			return nil
		}
		from = batch[len(batch)-1].UID + 1
	}
}

// sameMessage keys copies of one message: its Message-ID, from the
// stored summary. Each recipient's copy is stored as a body of its own
// (with its own trace and score fields), so a body's ID does not tell
// that a message sent to many people is one; a message without a
// Message-ID (or a summary) is keyed by its body.
func sameMessage(m store.Summarized) string {
	if len(m.Summary) > 0 {
		if sum, err := mimeinfo.Decode(m.Summary); err == nil && sum.Root != nil && sum.Root.Envelope != nil {
			if id := strings.TrimSpace(sum.Root.Envelope.MessageID); id != "" {
				return "id " + id
			}
		}
	}
	return "blob " + m.BlobID
}

// newest returns at most n of msgs, the newest first.
func newest(msgs []candidate, n int) []candidate {
	slices.SortStableFunc(msgs, func(a, b candidate) int { return b.InternalDate.Compare(a.InternalDate) })
	return msgs[:max(0, min(n, len(msgs)))]
}

// learnt returns at most n of msgs, the newest first, whose body the
// account's moves taught as class. Only the newest lookups of them are
// looked up, lookedAt*n and at least minLookups: a record is one read of
// the store, and a mailbox of years holds tens of thousands of messages
// (reports older than the newest thousand messages of a Junk folder are
// missed).
func learnt(ctx context.Context, st Store, account int64, msgs []candidate, class string, n int) ([]candidate, error) {
	var out []candidate
	for _, m := range newest(msgs, max(lookedAt*n, minLookups)) {
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
	AddValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) (bool, error)
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
	// Lease, when set, makes Retrain claim the retraining for that long
	// first (in store.KV, held by Holder), and return ErrLeased when
	// another claim is live: of nodes sharing a database, one retrains
	// in each Lease, not all of them. Zero retrains whenever asked (the
	// administrator's sealpost filter train).
	Lease  time.Duration
	Holder string
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
var ErrCorpusModel = errors.New("usercorpus: the global model was trained from corpora (sealpost filter train), or before its source was recorded; retrain it with --mailboxes to add the users' mail")

// ErrLeased is Retrain's answer when another node claimed the retraining
// (Retrainer.Lease) and its claim is live.
var ErrLeased = errors.New("usercorpus: another node retrains the global model")

// leaseKey is the claim of the retraining, in the model's namespace.
const leaseKey = "retraining"

// Retrain collects the users' mail and, when there is enough of it,
// trains and stores the global model. A model made from corpora, or one
// whose source is not recorded, is kept (ErrCorpusModel), as is one
// stored while it trained (ErrReplaced).
func (r *Retrainer) Retrain(ctx context.Context) (Result, error) {
	var res Result
	before, err := r.replaceable(ctx)
	if err != nil {
		return res, err
	}
	if r.Lease > 0 {
		// Kept to its end, not given back: the other nodes are not to
		// retrain again right after this one.
		claimed, err := r.Store.AddValue(ctx, sourceNamespace, leaseKey, []byte(r.Holder), time.Now().Add(r.Lease))
		if err != nil {
			return res, err
		}
		if !claimed {
			return res, ErrLeased
		}
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
	model, err := train(ctx, set)
	if err != nil {
		return res, err
	}
	data, err := model.MarshalBinary()
	if err != nil {
		return res, err
	}
	// Training takes minutes on a large server: the model stored must
	// still be the one looked at, not one an administrator has trained
	// meanwhile.
	if now, err := r.replaceable(ctx); err != nil {
		return res, err
	} else if !now.Equal(before) {
		return res, ErrReplaced
	}
	// The source first: should storing the model then fail, the old one
	// is taken for the users' (it was, or there was none) and nothing an
	// administrator made is ever taken for it.
	if err := SetSource(ctx, r.Store, FromMailboxes); err != nil {
		return res, fmt.Errorf("usercorpus: %w", err)
	}
	if err := r.Store.PutFilterModel(ctx, 0, data); err != nil {
		return res, fmt.Errorf("usercorpus: storing the model: %w", err)
	}
	res.Trained, res.ModelBytes, res.Took = true, len(data), time.Since(start)
	return res, nil
}

// ErrReplaced is Retrain's refusal to store its model over one stored
// while it trained.
var ErrReplaced = errors.New("usercorpus: the global model was replaced while retraining; not overwritten")

// replaceable returns when the stored global model was stored (zero when
// there is none), or ErrCorpusModel when it is not the users': made
// from corpora, or stored before its source was recorded.
func (r *Retrainer) replaceable(ctx context.Context) (time.Time, error) {
	_, updated, err := r.Store.GetFilterModel(ctx, 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, fmt.Errorf("usercorpus: %w", err)
	}
	src, err := Source(ctx, r.Store)
	if err != nil {
		return time.Time{}, fmt.Errorf("usercorpus: %w", err)
	}
	if src != FromMailboxes {
		return time.Time{}, ErrCorpusModel
	}
	return updated, nil
}

// train trains on set, giving up when ctx is done: a server shutting down
// does not wait for minutes of training (the abandoned work ends on its
// own and is dropped).
func train(ctx context.Context, set classify.Set) (*classify.Model, error) {
	type trained struct {
		m   *classify.Model
		err error
	}
	done := make(chan trained, 1)
	go func() {
		// Half the cores: the server trains beside its mail.
		m, err := classify.Train(set.Examples, classify.TrainOptions{Vocabulary: set.Vocabulary,
			Workers: max(1, runtime.GOMAXPROCS(0)/2)})
		done <- trained{m, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case t := <-done:
		if t.err != nil {
			return nil, fmt.Errorf("usercorpus: %w", t.err)
		}
		return t.m, nil
	}
}
