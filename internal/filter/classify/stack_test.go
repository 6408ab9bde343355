package classify_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// TestStacking asks whether a learnt combination of the local checks'
// scores with the classifier's (stacking) catches more spam at the same
// ham false positives than the present fixed one (the checks' hand-set
// weights plus the classifier's points, against filter.junk_score). It
// runs only when SEALPOST_STACK is set: the number of the draw of the
// outer folds (1, 2, ...), drawn as TestCrossValidation's SEALPOST_NESTED
// draws them, over the training split alone, SEALPOST_STACK_FOLDS (5)
// outer folds, the classifier's options from SEALPOST_CV_OPT.
//
// For each outer fold the classifier is fitted on the other folds and
// thresholded by its inner cross-validation (opt.Draws draws, max ham FP
// 0.001, margin 0.75) as Train does; the stackers, small ham-weighted
// logistic regressions, are fitted on the inner out-of-fold classifier
// scores of those folds with the local checks' scores, and thresholded
// by the same rule on their own out-of-fold scores (cross-fitted over
// the examples), plus a margin in their log-odds. Then the classifier
// alone, the present whole local filter and the stackers judge the
// held-out fold.
//
// The local checks are those `sealpost filter eval` runs (instance.Filter
// over the default configuration, network checks left out) over an empty
// store: no hosted domains, no reputation.
//
// Variants of the present combination (weightVariants) rescore the
// messages with filter.Weights scaling some checks' points or replacing
// single scores' weights, as filter.weights would, and are judged as the
// present one: junk at filter.junk_score on the held-out fold, and at
// matched ham.
func TestStacking(t *testing.T) {
	draw, _ := strconv.Atoi(os.Getenv("SEALPOST_STACK"))
	if draw == 0 {
		t.Skip("SEALPOST_STACK not set")
	}
	folds := 5
	if v := os.Getenv("SEALPOST_STACK_FOLDS"); v != "" {
		folds, _ = strconv.Atoi(v)
	}
	opt := classify.CVOptionsForTest(t)
	raws, train := classify.TrainCorpusForTest(t)
	start := time.Now()
	local := localScoresOf(t, raws, nil)
	t.Logf("%d training messages, local checks scored in %v", len(train), time.Since(start).Round(time.Second))
	// Each variant's local totals, scored by the filter under its
	// Weights; checked against the present scores reweighted score by
	// score as filter.Weights documents it: a full name replaces that
	// score's weight, else the check's name scales it.
	variantLocal := make([][]localOf, len(weightVariants))
	for v, wv := range weightVariants {
		variantLocal[v] = localScoresOf(t, raws, wv.weights)
		for i := range raws {
			var want float64
			for _, s := range local[i].scores {
				check, _, _ := strings.Cut(s.Name, ".")
				if w, ok := wv.weights[s.Name]; ok {
					want += w
				} else if k, ok := wv.weights[check]; ok {
					want += k * s.Weight
				} else {
					want += s.Weight
				}
			}
			if got := variantLocal[v][i].total; math.Abs(got-want) > 1e-9 {
				t.Fatalf("%s: message %d totals %v under filter.Weights, %v scaled", wv.name, i, got, want)
			}
			// Single scores scaled, which filter.Weights cannot say.
			for _, s := range variantLocal[v][i].scores {
				if k, ok := wv.scale[s.Name]; ok {
					variantLocal[v][i].total += (k - 1) * s.Weight
				}
			}
		}
	}

	fold := rand.New(rand.NewPCG(98+uint64(draw), 0x0e57)).Perm(len(train))
	margins := []float64{0, 0.25, 0.5, 0.75, 1}
	const stated = 3 // margins[3], 0.75: the classifier's
	jc := &filter.Classifier{JunkScore: 6, RejectScore: 15}
	// The stackers' feature sets.
	kinds := []stackKind{
		{name: "S0 classifier logits only (control)"},
		{name: "S1 logits + each check's sum", byCheck: true},
		{name: "S2 logits + each named score", byName: true},
	}
	// Per message of the held-out folds, each method's score relative to
	// its threshold (caught at >= 0), for the figures at matched ham.
	type held struct {
		class      classify.Class
		fold, i    int     // i: index in train
		points     float64 // the classifier check's
		clf, whole float64
		variants   []float64   // by weightVariants, as whole
		stack      [][]float64 // by kind, margin
	}
	var heldOut []held
	var junks []float64 // by fold: the re-chosen junk threshold
	for k := range folds {
		var in, out []int
		for i := range train {
			if fold[i]%folds == k {
				out = append(out, i)
			} else {
				in = append(in, i)
			}
		}
		inEx := pick(train, in)
		var inner [][]classify.Scores
		for d := range opt.Draws {
			o := opt
			o.Seed = opt.Seed + uint64(d)*0x9e37
			inner = append(inner, classify.CrossValidateForTest(inEx, o))
		}
		m := classify.FitForTest(inEx, opt)
		var th classify.Thresholds
		for _, s := range inner {
			x := classify.ChooseThresholdsForTest(inEx, s, opt)
			th.Spam = math.Max(th.Spam, x.Spam)
			th.Phish = math.Max(th.Phish, x.Phish)
		}
		m.Thresholds = th
		// Names of scores seen on at least minNamed examples of the
		// outer-training part (for S2).
		const minNamed = 10
		seen := map[string]int{}
		for _, i := range in {
			for n := range local[i].byName {
				seen[n]++
			}
		}
		var names []string
		for n, c := range seen {
			if c >= minNamed {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		stackers := make([]*stacker, len(kinds))
		for j := range kinds {
			kinds[j].names = names
			stackers[j] = fitStacker(t, kinds[j], inEx, inner, pickLocal(local, in), margins, opt.MaxHamFP, th.Phish)
		}
		// The present combination with its junk threshold chosen by the
		// same rule on the inner out-of-fold totals (points).
		var junk float64
		for _, sc := range inner {
			var ham []float64
			for j, e := range inEx {
				if e.Class == classify.Ham {
					ham = append(ham, local[in[j]].total+pointsOf(jc, m, e.Features, sc[j]))
				}
			}
			slices.SortFunc(ham, func(a, b float64) int { return cmp.Compare(b, a) })
			junk = math.Max(junk, ham[int(opt.MaxHamFP*float64(len(ham)))])
		}
		junks = append(junks, junk)
		t.Logf("fold %d: classifier thresholds spam %.3f phish %.3f; S1 %s", k, th.Spam, th.Phish, stackers[1].describe())
		for _, i := range out {
			e := train[i]
			s := m.Score(e.Features)
			h := held{class: e.Class, fold: k, i: i}
			h.clf = math.Max(clampLogit(s.Spam)-clampLogit(th.Spam), clampLogit(s.Phish)-clampLogit(th.Phish))
			points := pointsOf(jc, m, e.Features, s)
			h.points = points
			h.whole = local[i].total + points - jc.JunkScore
			for v := range weightVariants {
				h.variants = append(h.variants, variantLocal[v][i].total+points-jc.JunkScore)
			}
			for j := range kinds {
				// The phishing head decides as before; the stacker
				// replaces the spam head and the local checks' points.
				z := stackers[j].score(s, local[i])
				ph := clampLogit(s.Phish) - clampLogit(th.Phish)
				var rel []float64
				for _, thr := range stackers[j].thresholds {
					rel = append(rel, math.Max(ph, z-thr))
				}
				h.stack = append(h.stack, rel)
			}
			heldOut = append(heldOut, h)
		}
	}
	// Figures at the chosen thresholds.
	type count struct{ n, caught [3]int }
	// Lines are also written on, with counts: spam caught/n, ham flagged/n,
	// phishing caught/n.
	line := func(name string, caught func(h held) bool) {
		var c count
		for _, h := range heldOut {
			c.n[h.class]++
			if caught(h) {
				c.caught[h.class]++
			}
		}
		t.Logf("draw %d  %-44s spam %3d/%d (%.4f)  ham FP %d/%d  phish %.4f (%d/%d)", draw, name,
			c.caught[classify.Spam], c.n[classify.Spam], frac(c.caught[classify.Spam], c.n[classify.Spam]),
			c.caught[classify.Ham], c.n[classify.Ham], frac(c.caught[classify.Phish], c.n[classify.Phish]),
			c.caught[classify.Phish], c.n[classify.Phish])
	}
	t.Logf("re-chosen junk thresholds by fold: %.2f", junks)
	t.Logf("--- thresholds chosen inside each outer-training part (classifier margin 0.75)")
	line("classifier alone", func(h held) bool { return h.clf >= 0 })
	line("present whole local filter (junk 6)", func(h held) bool { return h.whole >= 0 })
	for v, wv := range weightVariants {
		line(wv.name+" (junk 6)", func(h held) bool { return h.variants[v] >= 0 })
	}
	for _, mg := range []float64{0, 1, 2} {
		line(fmt.Sprintf("present weights, junk re-chosen +%.0f point", mg), func(h held) bool {
			return h.whole+jc.JunkScore >= junks[h.fold]+mg
		})
	}
	for j, kind := range kinds {
		for mi, mg := range margins {
			tag := ""
			if mi == stated {
				tag = " *"
			}
			line(fmt.Sprintf("%s, margin %.2f%s", kind.name[:2], mg, tag), func(h held) bool { return h.stack[j][mi] >= 0 })
		}
	}
	// Which named scores of the local checks fire on which class (the
	// whole training split, unweighted by folds), and what the ham the
	// present filter flags at junk 6 scored.
	type fired struct {
		n       [3]int
		weight  float64            // the largest
		weights map[float64][3]int // messages by the score's weight, by class
	}
	byName := map[string]*fired{}
	for i, e := range train {
		for n, w := range local[i].byName {
			f := byName[n]
			if f == nil {
				f = &fired{weight: w, weights: map[float64][3]int{}}
				byName[n] = f
			}
			f.n[e.Class]++
			f.weight = math.Max(f.weight, w)
			c := f.weights[w]
			c[e.Class]++
			f.weights[w] = c
		}
	}
	t.Logf("--- named local scores: messages with it by class (of ham %d, spam %d, phish %d)", countClass(train, classify.Ham), countClass(train, classify.Spam), countClass(train, classify.Phish))
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		f := byName[n]
		if f.n[classify.Ham] > 0 || f.n[classify.Ham]+f.n[classify.Spam]+f.n[classify.Phish] >= 10 {
			t.Logf("draw %d  %-40s max weight %4.1f  ham %4d  spam %4d  phish %4d", draw, n, f.weight, f.n[classify.Ham], f.n[classify.Spam], f.n[classify.Phish])
			if len(f.weights) > 1 {
				// A full name in filter.Weights replaces each of these
				// weights by one.
				for _, w := range slices.Sorted(maps.Keys(f.weights)) {
					c := f.weights[w]
					t.Logf("draw %d  %-40s   weight %4.1f: ham %4d  spam %4d  phish %4d", draw, n, w, c[classify.Ham], c[classify.Spam], c[classify.Phish])
				}
			}
		}
	}
	for _, h := range heldOut {
		if h.class == classify.Ham && h.whole >= 0 {
			var parts []string
			for _, n := range slices.Sorted(maps.Keys(local[h.i].byName)) {
				parts = append(parts, fmt.Sprintf("%s=%.1f", n, local[h.i].byName[n]))
			}
			t.Logf("draw %d  ham flagged at junk 6 (fold %d): classifier %.1f + %s", draw, h.fold, h.points, strings.Join(parts, " "))
		}
	}
	// Matched ham: each method's held-out scores (relative to its own
	// fold's threshold, so that the folds pool) cut where exactly n
	// held-out ham are above: ranking at the low false-positive end,
	// free of where each threshold happened to fall.
	t.Logf("--- matched ham false positives (cut on the held-out scores themselves; an oracle threshold, for comparison only)")
	atHam := func(name string, score func(h held) float64) {
		var ham []float64
		for _, h := range heldOut {
			if h.class == classify.Ham {
				ham = append(ham, score(h))
			}
		}
		slices.SortFunc(ham, func(a, b float64) int { return cmp.Compare(b, a) })
		var parts []string
		for n := range 4 {
			cut := ham[n] // caught: strictly above the (n+1)-th highest ham
			var sp, nsp, ph, nph int
			for _, h := range heldOut {
				switch h.class {
				case classify.Spam:
					nsp++
					if score(h) > cut {
						sp++
					}
				case classify.Phish:
					nph++
					if score(h) > cut {
						ph++
					}
				}
			}
			parts = append(parts, fmt.Sprintf("%d ham: spam %3d phish %3d", n, sp, ph))
		}
		t.Logf("draw %d  %-44s %s", draw, name, strings.Join(parts, " | "))
	}
	atHam("classifier alone", func(h held) float64 { return h.clf })
	atHam("present whole local filter", func(h held) float64 { return h.whole })
	for v, wv := range weightVariants {
		atHam(wv.name, func(h held) float64 { return h.variants[v] })
	}
	atHam("present weights, junk re-chosen", func(h held) float64 { return h.whole + jc.JunkScore - junks[h.fold] })
	for j, kind := range kinds {
		atHam(kind.name, func(h held) float64 { return h.stack[j][0] })
	}
}

// weightVariants are the present combination with some checks' points
// scaled, by filter.Weights keyed by the check's name, or some single
// scores' weights replaced, keyed by the score's full name. A full name
// sets one weight for every finding of the name: "x0.5" of a single
// score is half its usual weight (link_text_mismatch 2, of 2 or 4 for a
// known domain shown; display_name_address 3, of 3, 5 for one of ours,
// 0.5 through a mailing list), set for all.
//
// Scale, by full name, multiplies single scores' weights after the
// filter's: what filter.Weights cannot express (its full names replace),
// for comparison with the replacements.
var weightVariants = []struct {
	name    string
	weights map[string]float64
	scale   map[string]float64
}{
	{"structure+headers x0", map[string]float64{"structure": 0, "headers": 0}, nil},
	{"structure+headers x0.5", map[string]float64{"structure": 0.5, "headers": 0.5}, nil},
	{"structure x0", map[string]float64{"structure": 0}, nil},
	{"headers x0", map[string]float64{"headers": 0}, nil},
	{"phish x0", map[string]float64{"phish": 0}, nil},
	{"phish x0.5", map[string]float64{"phish": 0.5}, nil},
	{"attach x0", map[string]float64{"attach": 0}, nil},
	{"reputation x0", map[string]float64{"reputation": 0}, nil},
	{"(a) phish.form_in_mail =0", map[string]float64{"phish.form_in_mail": 0}, nil},
	{"(b) phish.link_text_mismatch =1", map[string]float64{"phish.link_text_mismatch": 1}, nil},
	{"(c) a+b", map[string]float64{"phish.form_in_mail": 0, "phish.link_text_mismatch": 1}, nil},
	{"(d) c + phish.display_name_address =1.5", map[string]float64{"phish.form_in_mail": 0, "phish.link_text_mismatch": 1, "phish.display_name_address": 1.5}, nil},
	{"(b*) phish.link_text_mismatch x0.5 (test)", nil, map[string]float64{"phish.link_text_mismatch": 0.5}},
	{"(c*) a + b*", map[string]float64{"phish.form_in_mail": 0}, map[string]float64{"phish.link_text_mismatch": 0.5}},
	{"(d*) c* + display_name_address x0.5 (test)", map[string]float64{"phish.form_in_mail": 0}, map[string]float64{"phish.link_text_mismatch": 0.5, "phish.display_name_address": 0.5}},
}

// pointsOf is what the classifier check adds for scores s of a message
// with features f, under m's thresholds.
func pointsOf(jc *filter.Classifier, m *classify.Model, f classify.Features, s classify.Scores) float64 {
	var p float64
	for _, sc := range jc.Scores(m, f, s) {
		p += sc.Weight
	}
	return p
}

func countClass(ex []classify.Example, c classify.Class) int {
	n := 0
	for _, e := range ex {
		if e.Class == c {
			n++
		}
	}
	return n
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func pick(ex []classify.Example, idx []int) []classify.Example {
	out := make([]classify.Example, len(idx))
	for i, j := range idx {
		out[i] = ex[j]
	}
	return out
}

func pickLocal(l []localOf, idx []int) []localOf {
	out := make([]localOf, len(idx))
	for i, j := range idx {
		out[i] = l[j]
	}
	return out
}

// clampLogit is the log-odds of p, within ±20.
func clampLogit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-9), 1-1e-9)
	return math.Max(-20, math.Min(20, math.Log(p/(1-p))))
}

// localOf is what the local checks other than the classifier scored of
// one message: the total of their weighted scores, by check and by full
// name, and each score as it came.
type localOf struct {
	total   float64
	byCheck map[string]float64
	byName  map[string]float64
	scores  []filter.Score
}

// checkNames are the local checks other than the classifier, in the
// stackers' order of features.
var checkNames = []string{"structure", "headers", "attach", "phish", "reputation"}

// localScoresOf scores each message with the local filter `filter eval`
// runs (see localFilter in package cli), the classifier left out: its
// points are added per fold. Weights, when not nil, are the filter's
// (filter.weights).
func localScoresOf(t *testing.T, raws [][]byte, weights map[string]float64) []localOf {
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Default()
	f, err := instance.Filter(cfg, st, instance.FilterDeps{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if f.Weights != nil {
		t.Fatalf("the default configuration has filter weights: %v", f.Weights)
	}
	f.Weights = weights
	f.Checks = withoutStack[filter.Check](f.Checks)
	f.AccountChecks = withoutStack[filter.AccountCheck](f.AccountChecks)
	f.Accounts = stackAccounts{}
	f.Banner, f.ExemptRecipients, f.ExemptSenders = nil, nil, nil
	f.Arrived = func(in *filter.Input) time.Time { return in.Message.Arrival }
	var last filter.Result
	f.OnVerdict = func(_ context.Context, _ *filter.Input, _ string, res filter.Result) { last = res }
	const rcpt = "eval@eval.invalid"
	out := make([]localOf, len(raws))
	for i, raw := range raws {
		last = filter.Result{}
		env := delivery.Envelope{ID: "stack", RemoteIP: netip.MustParseAddr("192.0.2.1"),
			Helo: "eval.invalid", Recipients: []delivery.Recipient{{Address: rcpt}}}
		v, err := f.Check(t.Context(), &env, stackMessage(raw))
		if err != nil {
			t.Fatal(err)
		}
		if v.Action == delivery.Accept && v.ForAccount != nil {
			if _, err := v.ForAccount(t.Context(), rcpt); err != nil {
				t.Fatal(err)
			}
		}
		if last.Failed != "" {
			t.Fatalf("message %d: %s", i, last.Failed)
		}
		l := localOf{byCheck: map[string]float64{}, byName: map[string]float64{}}
		for _, s := range last.Scores {
			check, _, _ := strings.Cut(s.Name, ".")
			if check == "classifier" {
				t.Fatalf("the classifier scored with an empty store: %v", s)
			}
			if !slices.Contains(checkNames, check) {
				t.Fatalf("score of an unknown check: %v", s)
			}
			l.total += s.Weight
			l.byCheck[check] += s.Weight
			l.byName[s.Name] += s.Weight
			l.scores = append(l.scores, filter.Score{Name: s.Name, Weight: s.Weight})
		}
		out[i] = l
	}
	return out
}

// withoutStack drops the checks that wait on the network and the
// classifier (its points are added per fold, from that fold's model).
func withoutStack[C interface{ Name() string }](checks []C) []C {
	var out []C
	for _, c := range checks {
		if nc, ok := any(c).(filter.NetworkCheck); ok && nc.Network() || c.Name() == "classifier" {
			continue
		}
		out = append(out, c)
	}
	return out
}

type stackAccounts struct{}

func (stackAccounts) GetAccount(_ context.Context, address string) (store.Account, error) {
	return store.Account{Address: address}, nil
}

type stackMessage []byte

func (m stackMessage) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(m)), nil }
func (m stackMessage) Size() int64                  { return int64(len(m)) }

// stackKind is a stacker's set of features: the classifier's two
// log-odds, then each local check's sum (byCheck) or each named score
// of names (byName).
type stackKind struct {
	name            string
	byCheck, byName bool
	names           []string
}

func (k stackKind) features(s classify.Scores, l localOf) []float64 {
	x := []float64{1, clampLogit(s.Spam), clampLogit(s.Phish)}
	switch {
	case k.byCheck:
		for _, c := range checkNames {
			x = append(x, l.byCheck[c])
		}
	case k.byName:
		for _, n := range k.names {
			x = append(x, l.byName[n])
		}
	}
	return x
}

func (k stackKind) labels() []string {
	out := []string{"bias", "spam", "phish"}
	switch {
	case k.byCheck:
		out = append(out, checkNames...)
	case k.byName:
		out = append(out, k.names...)
	}
	return out
}

// Stacker fitting: weights as the classifier's (ham 12, phishing 1,
// spam the ratio of phishing to spam), L2 penalty stackL2 on all but
// the bias.
const (
	stackHamWeight = 12
	stackL2        = 1
	stackFolds     = 5
)

type stacker struct {
	kind       stackKind
	w          []float64
	thresholds []float64 // by margin, in log-odds
}

func (s *stacker) score(sc classify.Scores, l localOf) float64 {
	return dot(s.w, s.kind.features(sc, l))
}

func (s *stacker) describe() string {
	var b strings.Builder
	for i, n := range s.kind.labels() {
		fmt.Fprintf(&b, "%s=%.2f ", n, s.w[i])
	}
	fmt.Fprintf(&b, "thr(0.75)=%.2f", s.thresholds[3])
	return b.String()
}

// row is one example's features from one inner draw.
type row struct {
	x       []float64
	y, wt   float64
	example int
	draw    int
	class   classify.Class
	phished bool // a ham the phishing head flags
}

// fitStacker fits kind on the inner out-of-fold scores of ex (one row
// per example and draw) and chooses its thresholds as Train chooses the
// classifier's: on out-of-fold stacker scores (stackFolds folds over the
// examples, all draws' rows of an example in one fold), each draw's
// threshold lets maxHamFP of its ham through, the highest is kept, and
// each margin, in the classifier's spam log-odds, is added.
func fitStacker(t *testing.T, kind stackKind, ex []classify.Example, inner [][]classify.Scores, local []localOf, margins []float64, maxHamFP, phishTh float64) *stacker {
	var n [3]int
	for _, e := range ex {
		n[e.Class]++
	}
	spamWeight := 1.0
	if n[classify.Spam] > 0 && n[classify.Phish] > n[classify.Spam] {
		spamWeight = float64(n[classify.Phish]) / float64(n[classify.Spam])
	}
	var rows []row
	for d, s := range inner {
		for i, e := range ex {
			if e.Class == classify.Phish {
				continue // spam against ham: the phishing head stays
			}
			r := row{x: kind.features(s[i], local[i]), example: i, draw: d, class: e.Class}
			if e.Class == classify.Ham && s[i].Phish >= phishTh {
				r.phished = true
			}
			switch e.Class {
			case classify.Ham:
				r.wt = stackHamWeight
			case classify.Spam:
				r.y, r.wt = 1, spamWeight
			default:
				r.y, r.wt = 1, 1
			}
			rows = append(rows, r)
		}
	}
	fold := rand.New(rand.NewPCG(0x57ac, 0)).Perm(len(ex))
	oof := make([]float64, len(rows))
	for k := range stackFolds {
		var fitRows []row
		for _, r := range rows {
			if fold[r.example]%stackFolds != k {
				fitRows = append(fitRows, r)
			}
		}
		w := logistic(t, fitRows)
		for j, r := range rows {
			if fold[r.example]%stackFolds == k {
				oof[j] = dot(w, r.x)
			}
		}
	}
	edge := math.Inf(-1)
	for d := range inner {
		// The ham the phishing head flags use up the allowance first.
		var ham []float64
		nHam, phished := 0, 0
		for j, r := range rows {
			if r.draw != d || r.class != classify.Ham {
				continue
			}
			nHam++
			if r.phished {
				phished++
			} else {
				ham = append(ham, oof[j])
			}
		}
		slices.SortFunc(ham, func(a, b float64) int { return cmp.Compare(b, a) })
		allowed := max(0, int(maxHamFP*float64(nHam))-phished)
		edge = math.Max(edge, ham[min(allowed, len(ham)-1)])
	}
	// A margin is in the classifier's spam log-odds, as Train's: moved
	// up by m, the threshold asks m more of the classifier's spam
	// log-odds, the other features as they are (in the stacker's own
	// log-odds, whose scale it learns, the same margin would be another
	// insurance).
	s := &stacker{kind: kind, w: logistic(t, rows)}
	for _, m := range margins {
		s.thresholds = append(s.thresholds, edge+m*s.w[1])
	}
	return s
}

func dot(a, b []float64) float64 {
	var z float64
	for i := range a {
		z += a[i] * b[i]
	}
	return z
}

// logistic fits weighted L2-penalized logistic regression by Newton's
// method (the first feature is the bias, not penalized).
func logistic(t *testing.T, rows []row) []float64 {
	p := len(rows[0].x)
	w := make([]float64, p)
	for iter := 0; iter < 100; iter++ {
		g := make([]float64, p)
		h := make([][]float64, p)
		for i := range h {
			h[i] = make([]float64, p)
		}
		for _, r := range rows {
			mu := 1 / (1 + math.Exp(-dot(w, r.x)))
			for i := range p {
				g[i] += r.wt * (mu - r.y) * r.x[i]
				for j := range p {
					h[i][j] += r.wt * mu * (1 - mu) * r.x[i] * r.x[j]
				}
			}
		}
		for i := 1; i < p; i++ {
			g[i] += stackL2 * w[i]
			h[i][i] += stackL2
		}
		h[0][0] += 1e-9
		step, ok := solve(h, g)
		if !ok {
			t.Fatal("stacker: singular Hessian")
		}
		// Backtracking: halve the step while the loss grows.
		before := loss(w, rows)
		var size float64
		for i := range step {
			size = math.Max(size, math.Abs(step[i]))
		}
		next := make([]float64, p)
		for range 30 {
			for i := range w {
				next[i] = w[i] - step[i]
			}
			if loss(next, rows) <= before {
				break
			}
			for i := range step {
				step[i] /= 2
			}
		}
		copy(w, next)
		if size < 1e-8 {
			return w
		}
	}
	return w
}

// loss is the penalized weighted negative log-likelihood.
func loss(w []float64, rows []row) float64 {
	var l float64
	for _, r := range rows {
		z := dot(w, r.x)
		// log(1+e^z) - y z, stably
		l += r.wt * (math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - r.y*z)
	}
	for i := 1; i < len(w); i++ {
		l += stackL2 / 2 * w[i] * w[i]
	}
	return l
}

// solve solves a x = b by Gaussian elimination with partial pivoting.
func solve(a [][]float64, b []float64) ([]float64, bool) {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(slices.Clone(a[i]), b[i])
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		if math.Abs(m[p][c]) < 1e-300 {
			return nil, false
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		v := m[r][n]
		for k := r + 1; k < n; k++ {
			v -= m[r][k] * x[k]
		}
		x[r] = v / m[r][r]
	}
	return x, true
}
