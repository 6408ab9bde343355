package filter

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/store"
)

// Classifier is the content classifier (package classify) as an
// AccountCheck: each recipient's message is scored with the global model
// and the recipient's own corrections (classify.Personal), the features
// being extracted once per message. It is also training's Learner
// (Learn, Unlearn): people's moves into and out of Junk and their
// phishing reports change their own model.
//
// # From probabilities to points
//
// The model's thresholds were chosen for its own false-positive rate;
// the points are made so that they keep that meaning in the filter's
// sum. Working in log-odds z (the model's scores are logistic), with z_t
// the log-odds of the head's threshold:
//
//   - at z_t the score is JunkScore: the model alone files the message
//     into Junk exactly where it would classify it as spam or phishing;
//   - above, the points grow linearly and reach RejectScore RejectSpan
//     log-odds past the threshold (never more). As an account check the
//     classifier cannot refuse at SMTP time (the framework files such
//     mail into Junk); the points past JunkScore show how sure the model
//     is and outweigh a known correspondent's credit;
//   - below, they halve every Halving log-odds, and a score under
//     minPoints is left out: content that is nearly spam still adds
//     enough that a few other findings file it, clear ham adds nothing.
//
// The spam and phishing heads are mapped alike and the heavier one
// counts (never both: they judge the same words). A phishing score at or
// past its threshold is given as "classifier.phish" with Warn, decided
// first as the model decides Phish first; otherwise "classifier.spam" or
// "classifier.phish", whichever weighs more. With the defaults (junk 6,
// reject 15) a message at the spam threshold scores 6, one log-odd below
// it 3 (warn), three below 0.75.
//
// # Models
//
// The global model (account 0 of store.FilterModels) is loaded at the
// first message and its updated time checked again at most every
// ReloadEvery; a changed one is loaded and replaces the old one for the
// messages after. Personal models are kept in an LRU cache of
// CacheSize accounts, each checked against the store at most every
// ReloadEvery, and replaced at once when this process learns. With no
// global model saved the check scores nothing (logged once until one
// appears); an account without a model of its own is scored with the
// global one. Lessons given while no global model is saved are skipped
// (they are corrections of a model that does not exist yet).
//
// Learning is serialized per account within the process (a lock for
// each of a fixed set of stripes), so that concurrent moves of one
// account each read, change and write the model in turn and none is
// lost. Two nodes sharing a PostgreSQL store can still interleave their
// read-change-write of one account's model, and the later write wins:
// the lost lesson is one message's correction, which the user repeats
// when the mail comes again.
type Classifier struct {
	Models store.FilterModels
	// JunkScore and RejectScore are the filter's thresholds the points
	// are fitted to (Filter.JunkScore, Filter.RejectScore); RejectScore 0
	// caps the points at twice JunkScore.
	JunkScore, RejectScore float64
	// RejectSpan and Halving shape the points (see above); 0 is
	// DefaultRejectSpan, DefaultHalving.
	RejectSpan, Halving float64
	// ReloadEvery bounds how often the store is asked for newer models; 0
	// is DefaultReload.
	ReloadEvery time.Duration
	// CacheSize bounds the personal models kept; 0 is DefaultCacheSize.
	CacheSize int
	Logger    *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu       sync.Mutex
	global   *classify.Model
	updated  time.Time // of global
	checked  time.Time // when the store was last asked for the global model
	warned   bool      // that there is no global model
	personal map[int64]*list.Element
	lru      *list.List // of *personalEntry, most recent first

	learning [learnStripes]sync.Mutex
}

// Defaults of Classifier.
const (
	DefaultRejectSpan = 6.0 // log-odds past the threshold where the model alone rejects
	DefaultHalving    = 1.0 // log-odds below the threshold that halve the points
	DefaultReload     = time.Minute
	DefaultCacheSize  = 1000
	minPoints         = 0.1 // less is not written down
	explainTokens     = 3   // words named in the reason
	learnStripes      = 64
)

// personalEntry is one account's cached model.
type personalEntry struct {
	account int64
	p       *classify.Personal // nil: the account has none
	checked time.Time
}

// featuresKey keys the message's features in Input.Once.
const featuresKey = "classifier.features"

// Name implements AccountCheck.
func (c *Classifier) Name() string { return "classifier" }

// CheckAccount implements AccountCheck.
func (c *Classifier) CheckAccount(ctx context.Context, in *Input, rcpt Recipient) ([]Score, error) {
	global, err := c.Global(ctx)
	if global == nil {
		return nil, err
	}
	if err != nil {
		// The model loaded before still judges.
		c.log().Warn("filter: content classifier", "err", err)
	}
	p, err := c.personalModel(ctx, rcpt.ID)
	if err != nil {
		// The global model alone still judges: better than nothing.
		c.log().Warn("filter: content classifier", "account", rcpt.ID, "err", err)
		p = nil
	}
	f := in.Once(featuresKey, func() any { return classify.Extract(in.Message) }).(classify.Features)
	return c.Scores(global, f, classify.ScoreWith(global, p, f)), nil
}

// Scores turns the model's scores of a message with features f into the
// check's scores (see the type's doc); global explains them.
func (c *Classifier) Scores(global *classify.Model, f classify.Features, s classify.Scores) []Score {
	t := global.Thresholds
	spam, phish := c.points(s.Spam, t.Spam), c.points(s.Phish, t.Phish)
	var out Score
	switch {
	case s.Phish >= t.Phish:
		out = Score{Name: "phish", Weight: max(spam, phish), Warn: true,
			Reason: fmt.Sprintf("content looks like phishing (%.2f)", s.Phish)}
	case phish > spam:
		out = Score{Name: "phish", Weight: phish, Reason: fmt.Sprintf("content somewhat like phishing (%.2f)", s.Phish)}
	default:
		verb := "looks like"
		if s.Spam < t.Spam {
			verb = "somewhat like"
		}
		out = Score{Name: "spam", Weight: spam, Reason: fmt.Sprintf("content %s spam (%.2f)", verb, s.Spam)}
	}
	if out.Weight < minPoints {
		return nil
	}
	// Explain sorts all of the message's features: worth it only for a
	// score that counts.
	if out.Weight >= c.JunkScore/2 {
		if words := topWords(global, f); words != "" {
			out.Reason += ": top words " + words
		}
	}
	return []Score{out}
}

// points maps a head's score p, whose threshold is t, to points.
func (c *Classifier) points(p, t float64) float64 {
	junk := c.JunkScore
	if junk <= 0 {
		return 0
	}
	top := c.RejectScore
	if top <= junk {
		top = 2 * junk
	}
	d := logOdds(p) - logOdds(t)
	if d >= 0 {
		span := c.RejectSpan
		if span <= 0 {
			span = DefaultRejectSpan
		}
		return min(top, junk+(top-junk)*d/span)
	}
	h := c.Halving
	if h <= 0 {
		h = DefaultHalving
	}
	return junk * math.Exp2(d/h)
}

// logOdds is the logit of p, bounded so that 0 and 1 stay finite.
func logOdds(p float64) float64 {
	p = min(max(p, 1e-9), 1-1e-9)
	return math.Log(p / (1 - p))
}

// topWords names the readable features that pushed the message most
// away from ham.
func topWords(m *classify.Model, f classify.Features) string {
	var words []string
	for _, c := range m.Explain(f, 4*explainTokens) {
		if c.Token == "" || c.Weight <= 0 {
			continue
		}
		words = append(words, c.Token)
		if len(words) == explainTokens {
			break
		}
	}
	return strings.Join(words, ", ")
}

// Global returns the global model, loading it when it is time to look
// again; nil (and no error) when none is saved.
func (c *Classifier) Global(ctx context.Context) (*classify.Model, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.checked.IsZero() && now.Sub(c.checked) < c.reload() {
		return c.global, nil
	}
	c.checked = now
	data, updated, err := c.Models.GetFilterModel(ctx, 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !c.warned {
			c.log().Warn("filter: no content classifier model saved; the classifier scores nothing until one is, made from the users' reports ([filter] retrain) or by sealpost filter train")
			c.warned = true
		}
		c.global = nil
		return nil, nil
	case err != nil:
		c.checked = time.Time{} // ask again at the next message
		return c.global, fmt.Errorf("loading the global model: %w", err)
	case c.global != nil && updated.Equal(c.updated):
		return c.global, nil
	}
	m, err := classify.UnmarshalModel(data)
	if err != nil {
		return c.global, fmt.Errorf("loading the global model: %w", err)
	}
	if c.global != nil {
		c.log().Info("filter: content classifier model reloaded", "updated", updated)
	}
	c.global, c.updated, c.warned = m, updated, false
	return m, nil
}

// Reload makes the next message load the global model again, as if
// ReloadEvery had passed: for the process that has just stored a new one.
func (c *Classifier) Reload() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = time.Time{}
}

// personalModel returns the account's model, nil when it has none
// (account 0 is the global model's place: never a person's).
func (c *Classifier) personalModel(ctx context.Context, account int64) (*classify.Personal, error) {
	if account <= 0 {
		return nil, nil
	}
	c.mu.Lock()
	now := c.now()
	if el, ok := c.personal[account]; ok {
		e := el.Value.(*personalEntry)
		if now.Sub(e.checked) < c.reload() {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.p, nil
		}
	}
	c.mu.Unlock()
	p, err := c.loadPersonal(ctx, account)
	if err != nil {
		return nil, err
	}
	c.remember(account, p)
	return p, nil
}

// loadPersonal reads an account's model from the store: nil when there
// is none.
func (c *Classifier) loadPersonal(ctx context.Context, account int64) (*classify.Personal, error) {
	data, _, err := c.Models.GetFilterModel(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading the model of account %d: %w", account, err)
	}
	p, err := classify.UnmarshalPersonal(data)
	if err != nil {
		return nil, fmt.Errorf("loading the model of account %d: %w", account, err)
	}
	return p, nil
}

// remember caches an account's model, dropping the least recently used
// beyond CacheSize.
func (c *Classifier) remember(account int64, p *classify.Personal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.personal == nil {
		c.personal, c.lru = map[int64]*list.Element{}, list.New()
	}
	e := &personalEntry{account: account, p: p, checked: c.now()}
	if el, ok := c.personal[account]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.personal[account] = c.lru.PushFront(e)
	size := c.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	for c.lru.Len() > size {
		old := c.lru.Back()
		delete(c.personal, old.Value.(*personalEntry).account)
		c.lru.Remove(old)
	}
}

// Learn implements training.Learner: the account's model learns that
// raw is of class ("ham", "spam" or "phish") and is saved.
func (c *Classifier) Learn(ctx context.Context, account int64, raw []byte, class string) error {
	return c.lesson(ctx, account, raw, class, (*classify.Personal).Learn)
}

// Unlearn implements training.Learner: it takes back Learn(raw, class).
func (c *Classifier) Unlearn(ctx context.Context, account int64, raw []byte, class string) error {
	return c.lesson(ctx, account, raw, class, (*classify.Personal).Unlearn)
}

// lesson reads the account's model from the store, applies one lesson
// and saves it, the account's lessons one at a time.
func (c *Classifier) lesson(ctx context.Context, account int64, raw []byte, class string,
	apply func(*classify.Personal, *classify.Model, classify.Features, classify.Class)) error {
	if account <= 0 {
		return fmt.Errorf("classifier: no model for account %d", account)
	}
	cl, err := classify.ParseClass(class)
	if err != nil {
		return err
	}
	global, err := c.Global(ctx)
	if err != nil {
		return err
	}
	if global == nil {
		// Nothing scores with a personal model yet: the lesson is
		// skipped, and training still tells reputation.
		c.log().Debug("filter: no content classifier model; lesson skipped", "account", account)
		return nil
	}
	f := classify.Extract(content.Parse(raw))
	mu := &c.learning[uint64(account)%learnStripes]
	mu.Lock()
	defer mu.Unlock()
	p, err := c.loadPersonal(ctx, account)
	if err != nil {
		return err
	}
	if p == nil {
		p = classify.NewPersonal()
	}
	apply(p, global, f, cl)
	data, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	if err := c.Models.PutFilterModel(ctx, account, data); err != nil {
		return fmt.Errorf("saving the model of account %d: %w", account, err)
	}
	c.remember(account, p)
	return nil
}

func (c *Classifier) reload() time.Duration {
	if c.ReloadEvery > 0 {
		return c.ReloadEvery
	}
	return DefaultReload
}

func (c *Classifier) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Classifier) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
