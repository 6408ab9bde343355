package filter

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/store"
)

// memModels is store.FilterModels in memory, counting reads.
type memModels struct {
	mu      sync.Mutex
	data    map[int64][]byte
	updated map[int64]time.Time
	gets    int
	clock   time.Time
}

func (m *memModels) GetFilterModel(_ context.Context, account int64) ([]byte, time.Time, error) {
	// A pause between a lesson's read and its write would lose another
	// lesson's update if lessons were not serialized: widen the window.
	time.Sleep(time.Millisecond)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	d, ok := m.data[account]
	if !ok {
		return nil, time.Time{}, store.ErrNotFound
	}
	return bytes.Clone(d), m.updated[account], nil
}

func (m *memModels) PutFilterModel(_ context.Context, account int64, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.data == nil {
		m.data, m.updated = map[int64][]byte{}, map[int64]time.Time{}
	}
	m.clock = m.clock.Add(time.Second)
	m.data[account], m.updated[account] = bytes.Clone(data), m.clock
	return nil
}

func (m *memModels) reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets
}

// Small synthetic mail: ham about work, spam selling things, phishing
// asking for passwords.
func hamText(i int) string {
	topics := []string{"the quarterly report draft", "lunch on thursday", "the build failure on main", "the design review notes", "holiday schedule for the team"}
	return fmt.Sprintf("From: Colleague <c%d@work.test>\r\nTo: me@home.test\r\nSubject: about %s\r\nMessage-ID: <h%d@work.test>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\nHi, could you look at %s before the meeting? I attached my comments and we can discuss them tomorrow. Thanks, see you soon.\r\n",
		i, topics[i%len(topics)], i, topics[i%len(topics)])
}

func spamText(i int) string {
	goods := []string{"cheap pills", "replica watches", "casino bonus", "weight loss formula", "lowest mortgage rates"}
	return fmt.Sprintf("From: Best Deals <deals%d@offers.test>\r\nTo: me@home.test\r\nSubject: LIMITED OFFER %s save 90%%\r\nMessage-ID: <s%d@offers.test>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\nAmazing %s at unbeatable prices! Buy now, order today, free shipping worldwide, click http://offers.test/buy to claim your discount. Unsubscribe anytime.\r\n",
		i, goods[i%len(goods)], i, goods[i%len(goods)])
}

func phishText(i int) string {
	banks := []string{"PayPal", "Bank of Example", "eBay", "Example Credit Union"}
	return fmt.Sprintf("From: %s Security <service%d@secure-login.test>\r\nTo: me@home.test\r\nSubject: Your %s account has been suspended\r\nMessage-ID: <p%d@secure-login.test>\r\nDate: Mon, 2 Nov 2026 09:00:00 +0000\r\n\r\nDear customer, we detected unusual activity. Verify your account password and billing information within 24 hours or your account will be closed: <a href=\"http://192.0.2.%d/login\">https://www.%s.test/verify</a>\r\n",
		banks[i%len(banks)], i, banks[i%len(banks)], i, i%250, strings.ToLower(strings.ReplaceAll(banks[i%len(banks)], " ", "")))
}

// testModel trains a small model on the synthetic mail, with the
// thresholds at one half.
func testModel(t testing.TB) *classify.Model {
	t.Helper()
	var ex []classify.Example
	vocab := map[uint64]string{}
	add := func(raw string, c classify.Class) {
		m := content.Parse([]byte(raw))
		for _, tok := range classify.Tokens(m) {
			vocab[classify.Hash(tok)] = tok
		}
		ex = append(ex, classify.Example{Features: classify.Extract(m), Class: c})
	}
	for i := range 40 {
		add(hamText(i), classify.Ham)
		add(spamText(i), classify.Spam)
		add(phishText(i), classify.Phish)
	}
	m, err := classify.Train(ex, classify.TrainOptions{Bits: 16, Fixed: &classify.Thresholds{Spam: 0.5, Phish: 0.5}, Vocabulary: vocab})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func putModel(t testing.TB, st store.FilterModels, m *classify.Model) {
	t.Helper()
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutFilterModel(context.Background(), 0, data); err != nil {
		t.Fatal(err)
	}
}

func inputOf(raw string) *Input {
	return &Input{Env: &delivery.Envelope{ID: "t"}, Raw: []byte(raw), Message: content.Parse([]byte(raw))}
}

// TestClassifierPoints: the model's thresholds land on the filter's: at
// the threshold JunkScore, RejectSpan past it RejectScore and no more,
// halving below.
func TestClassifierPoints(t *testing.T) {
	c := &Classifier{JunkScore: 6, RejectScore: 15}
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	const thr = 0.9
	z := logOdds(thr)
	for _, tc := range []struct {
		name string
		p    float64
		want float64
	}{
		{"at the threshold", thr, 6},
		{"half way to reject", sig(z + DefaultRejectSpan/2), 10.5},
		{"at reject", sig(z + DefaultRejectSpan), 15},
		{"past reject", 1, 15},
		{"one log-odd below", sig(z - 1), 3},
		{"three below", sig(z - 3), 0.75},
		{"certain ham", 0, 6 * math.Exp2(logOdds(0)-z)},
	} {
		if got := c.points(tc.p, thr); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: points(%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
	if got := (&Classifier{JunkScore: 5}).points(1, thr); got != 10 {
		t.Errorf("without a reject score: %v, want twice the junk score", got)
	}
	if got := (&Classifier{}).points(1, thr); got != 0 {
		t.Errorf("without a junk score: %v, want 0", got)
	}
}

// TestClassifierCheck: spam reaches Junk with a reason naming its words,
// phishing too with Warn, ham scores nothing.
func TestClassifierCheck(t *testing.T) {
	st := &memModels{}
	putModel(t, st, testModel(t))
	c := &Classifier{Models: st, JunkScore: 6, RejectScore: 15}
	f := &Filter{JunkScore: 6, WarnScore: 3, RejectScore: 15, AccountChecks: []AccountCheck{c}}
	for _, tc := range []struct {
		name, raw string
		score     string // the score's name, "" for none
		action    Action
		warn      bool
	}{
		{"ham", hamText(100), "", Pass, false},
		{"spam", spamText(101), "classifier.spam", Junk, false},
		{"phish", phishText(102), "classifier.phish", Junk, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.scoreAccount(t.Context(), inputOf(tc.raw), Result{}, Recipient{ID: 7, Address: "me@home.test"})
			if res.Action < tc.action || tc.action == Pass && res.Action != Pass {
				t.Errorf("action %v (%v), want %v", res.Action, res.Scores, tc.action)
			}
			if tc.score == "" {
				for _, s := range res.Scores {
					if s.Weight >= 3 {
						t.Errorf("ham scored %+v", s)
					}
				}
				return
			}
			if len(res.Scores) != 1 || res.Scores[0].Name != tc.score || res.Scores[0].Warn != tc.warn {
				t.Fatalf("scores %+v, want one %s (warn %v)", res.Scores, tc.score, tc.warn)
			}
			if r := res.Scores[0].Reason; !strings.Contains(r, "content looks like") || !strings.Contains(r, "top words ") {
				t.Errorf("reason %q", r)
			}
		})
	}
}

// TestClassifierModels: with no model the check scores nothing and logs
// once; the model is read at most once per ReloadEvery and a changed
// one is taken up.
func TestClassifierModels(t *testing.T) {
	st := &memModels{}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	c := &Classifier{Models: st, JunkScore: 6, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	in := inputOf(spamText(1))
	rcpt := Recipient{ID: 3}
	for range 3 {
		scores, err := c.CheckAccount(t.Context(), in, rcpt)
		if err != nil || scores != nil {
			t.Fatalf("without a model: %v, %v", scores, err)
		}
		now = now.Add(2 * time.Minute)
	}
	if n := strings.Count(logs.String(), "no content classifier model"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	c.CheckAccount(t.Context(), in, rcpt) // looks again now
	putModel(t, st, testModel(t))
	// Within the minute the absence is remembered.
	if scores, _ := c.CheckAccount(t.Context(), in, rcpt); scores != nil {
		t.Errorf("scored %v before the reload time", scores)
	}
	now = now.Add(time.Minute)
	if scores, _ := c.CheckAccount(t.Context(), in, rcpt); len(scores) != 1 {
		t.Fatalf("after the reload time: %v", scores)
	}
	before := st.reads()
	for range 10 {
		c.CheckAccount(t.Context(), in, rcpt)
	}
	if n := st.reads() - before; n != 0 {
		t.Errorf("%d reads of the store within the minute", n)
	}
	// A model whose thresholds put everything past spam: taken up after
	// the minute.
	m := testModel(t)
	m.Thresholds = classify.Thresholds{Spam: 1e-9, Phish: 1}
	putModel(t, st, m)
	now = now.Add(time.Minute)
	scores, _ := c.CheckAccount(t.Context(), inputOf(hamText(3)), rcpt)
	if len(scores) != 1 || scores[0].Weight < 6 {
		t.Errorf("with the new model, ham scores %v, want past junk", scores)
	}
}

// TestClassifierLearns: an account's lessons change its scores and no
// one else's; Unlearn takes them back; lessons of one account given at
// once are all kept.
func TestClassifierLearns(t *testing.T) {
	st := &memModels{}
	putModel(t, st, testModel(t))
	c := &Classifier{Models: st, JunkScore: 6, RejectScore: 15}
	ctx := t.Context()
	msg := hamText(200) // looks like ham to the global model
	spamPoints := func(account int64, raw string) float64 {
		scores, err := c.CheckAccount(ctx, inputOf(raw), Recipient{ID: account})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range scores {
			if s.Name == "spam" {
				return s.Weight
			}
		}
		return 0
	}
	if p := spamPoints(1, msg); p >= 6 {
		t.Fatalf("before learning: %v", p)
	}
	if err := c.Learn(ctx, 1, []byte(msg), "spam"); err != nil {
		t.Fatal(err)
	}
	if p := spamPoints(1, msg); p < 6 {
		t.Errorf("after learning spam: %v points, want junk", p)
	}
	if p := spamPoints(2, msg); p >= 6 {
		t.Errorf("another account: %v points", p)
	}
	if err := c.Unlearn(ctx, 1, []byte(msg), "spam"); err != nil {
		t.Fatal(err)
	}
	if p := spamPoints(1, msg); p >= 6 {
		t.Errorf("after unlearning: %v points", p)
	}
	for _, bad := range []struct {
		account int64
		class   string
	}{{1, "eggs"}, {0, "spam"}} {
		if err := c.Learn(ctx, bad.account, []byte(msg), bad.class); err == nil {
			t.Errorf("Learn(%d, %q) succeeded", bad.account, bad.class)
		}
	}

	// Many lessons for one account at once: each message is learnt.
	const n = 16
	for i := range n {
		if p := spamPoints(5, distinctHam(i)); p >= 6 {
			t.Fatalf("message %d is spam before any lesson: %v points", i, p)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- c.Learn(ctx, 5, []byte(distinctHam(i)), "spam")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if p := spamPoints(5, distinctHam(i)); p < 6 {
			t.Errorf("lesson %d lost: %v points", i, p)
		}
	}
	// Each lesson is on record: taking it back changes the model.
	for i := range n {
		before := bytes.Clone(st.data[5])
		if err := c.Unlearn(ctx, 5, []byte(distinctHam(i)), "spam"); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before, st.data[5]) {
			t.Errorf("lesson %d was lost: unlearning it changed nothing", i)
		}
	}
}

// distinctHam is ham whose words are its own, so that each needs its
// own lesson.
func distinctHam(i int) string {
	var words []string
	for k := range 16 {
		words = append(words, fmt.Sprintf("%c%c%c%c", 'a'+i, 'a'+k, 'a'+(i+k)%26, 'a'+(i*k)%26))
	}
	return fmt.Sprintf("From: %s@%s.test\r\nSubject: %s %s\r\n\r\n%s\r\n", words[14], words[15], words[0], words[1], strings.Join(words[2:14], " "))
}

// TestClassifierNoGlobalToLearnOn: without a global model a lesson is
// skipped without error (training still tells reputation) and nothing
// is saved.
func TestClassifierNoGlobalToLearnOn(t *testing.T) {
	st := &memModels{}
	c := &Classifier{Models: st, JunkScore: 6}
	if err := c.Learn(t.Context(), 1, []byte(spamText(1)), "spam"); err != nil {
		t.Error(err)
	}
	if len(st.data) != 0 {
		t.Errorf("saved %d models", len(st.data))
	}
}

// failingModels holds a global model and fails for every account.
type failingModels struct{ memModels }

func (m *failingModels) GetFilterModel(ctx context.Context, account int64) ([]byte, time.Time, error) {
	if account != 0 {
		return nil, time.Time{}, fmt.Errorf("store is down")
	}
	return m.memModels.GetFilterModel(ctx, account)
}

// TestClassifierPersonalFails: when an account's model cannot be read,
// the global model still scores the message.
func TestClassifierPersonalFails(t *testing.T) {
	st := &failingModels{}
	putModel(t, st, testModel(t))
	c := &Classifier{Models: st, JunkScore: 6}
	scores, err := c.CheckAccount(t.Context(), inputOf(spamText(3)), Recipient{ID: 9})
	if err != nil || len(scores) != 1 || scores[0].Weight < 6 {
		t.Errorf("scores %v, %v; want the global model's", scores, err)
	}
}
