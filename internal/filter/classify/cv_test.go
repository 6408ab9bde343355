package classify

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/filter/corpus"
)

// TestCrossValidation reports what choices are made from: out-of-fold
// figures inside the training split alone, over several draws of the
// folds. It runs only when SEALPOST_CV is set (a number of draws).
func TestCrossValidation(t *testing.T) {
	draws, _ := strconv.Atoi(os.Getenv("SEALPOST_CV"))
	if draws == 0 {
		t.Skip("SEALPOST_CV not set")
	}
	opt := cvOptions(t)
	if v := os.Getenv("SEALPOST_CV_PAIRS"); v != "" {
		// Must come before the corpus is loaded (once per binary).
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > osbWindow {
			t.Fatalf("SEALPOST_CV_PAIRS=%q: want 0..%d", v, osbWindow)
		}
		bodyPairs = n
	}
	train := examplesOf(loadCorpus(t), corpus.Train)
	if v := os.Getenv("SEALPOST_NESTED"); v != "" {
		// SEALPOST_NESTED=n: the n-th draw of the outer folds.
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SEALPOST_NESTED=%q: want a number from 1", v)
		}
		nested(t, train, opt, draws, uint64(n))
		return
	}
	var all [][]scored
	for d := range draws {
		o := opt
		o.Seed = uint64(d + 1)
		all = append(all, crossValidate(train, o.withDefaults()))
	}
	for _, margin := range []float64{0, 0.25, 0.5} {
		var recall, fp, phish float64
		for _, s := range all {
			o := opt.withDefaults()
			o.Margin = margin
			th := chooseThresholds(s, o)
			r, f, p := rates(s, th)
			recall += r
			fp += f
			phish += p
		}
		n := float64(len(all))
		t.Logf("margin %.2f: spam recall %.4f, ham FP %.2f, phish recall %.4f (mean of %d draws, same-fold thresholds)",
			margin, recall/n, fp/n, phish/n, len(all))
	}
	// Thresholds from one draw applied to another draw's out-of-fold
	// scores: how a threshold holds up on scores it was not chosen on.
	if len(all) > 1 {
		for _, margin := range []float64{0, 0.25, 0.5} {
			var recall, fp float64
			for i := range all {
				o := opt.withDefaults()
				o.Margin = margin
				th := chooseThresholds(all[i], o)
				r, f, _ := rates(all[(i+1)%len(all)], th)
				recall += r
				fp += f
			}
			n := float64(len(all))
			t.Logf("margin %.2f: spam recall %.4f, ham FP %.2f (thresholds of the next draw)", margin, recall/n, fp/n)
		}
	}
	// Threshold-free: spam recall above every ham score, spam head alone.
	var above float64
	for _, s := range all {
		var hamMax = 0.0
		for _, x := range s {
			if x.class == Ham {
				hamMax = math.Max(hamMax, math.Max(x.scores.Spam, x.scores.Phish))
			}
		}
		var caught, n int
		for _, x := range s {
			if x.class == Spam {
				n++
				if math.Max(x.scores.Spam, x.scores.Phish) > hamMax {
					caught++
				}
			}
		}
		above += float64(caught) / float64(n)
	}
	t.Logf("spam above every ham (either head): %.4f", above/float64(len(all)))
	// The ham that score highest, to see what sets the threshold.
	s := all[0]
	idx := make([]int, 0)
	for i, x := range s {
		if x.class == Ham {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		return -cmpFloat(s[a].scores.Spam, s[b].scores.Spam)
	})
	for _, i := range idx[:5] {
		t.Logf("high ham: spam %.4f phish %.4f", s[i].scores.Spam, s[i].scores.Phish)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cvOptions reads SEALPOST_CV_OPT, "Epochs=10,Rate=0.1", into options.
func cvOptions(t *testing.T) TrainOptions {
	var o TrainOptions
	for _, kv := range strings.Split(os.Getenv("SEALPOST_CV_OPT"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatal(err)
		}
		switch k {
		case "Epochs":
			o.Epochs = int(x)
		case "Rate":
			o.Rate = x
		case "HamWeight":
			o.HamWeight = x
		case "SpamWeight":
			o.SpamWeight = x
		case "Folds":
			o.Folds = int(x)
		case "Draws":
			o.Draws = int(x)
		case "Bits":
			o.Bits = int(x)
		case "Fits":
			o.Fits = int(x)
		case "Seed":
			o.Seed = uint64(x)
		default:
			t.Fatalf("unknown option %s", k)
		}
	}
	return o
}

// rates returns spam recall, ham false positives and phishing recall of
// scores under th.
func rates(s []scored, th Thresholds) (spamRecall, hamFP, phishRecall float64) {
	var n, caught [3]int
	for _, x := range s {
		n[x.class]++
		if th.Classify(x.scores) != Ham {
			caught[x.class]++
		}
	}
	return float64(caught[Spam]) / float64(n[Spam]), float64(caught[Ham]), float64(caught[Phish]) / float64(n[Phish])
}

// nested measures the whole of Train, threshold choice included, the
// way the test split does: each outer fold of the training split is
// classified by a model trained (and thresholded by its own inner
// cross-validation) on the other folds, for several margins at once.
func nested(t *testing.T, train []Example, opt TrainOptions, folds int, draw uint64) {
	opt = opt.withDefaults()
	fold := rand.New(rand.NewPCG(98+draw, 0x0e57)).Perm(len(train))
	margins := []float64{0, 0.25, 0.5, 0.75, 1, 1.5}
	// Threshold rules: how many of the inner draws, and the ham
	// false-positive rate aimed at (1e-9: above every out-of-fold ham).
	type rule struct {
		draws    int
		maxHamFP float64
	}
	rules := []rule{{1, 0.001}, {1, 1e-9}}
	for _, d := range []int{3, 5} {
		if opt.Draws >= d {
			rules = append(rules, rule{d, 0.001}, rule{d, 1e-9})
		}
	}
	caught := make([][6][3]int, len(rules)) // by rule, margin, class
	total := make([][6][3]int, len(rules))
	// With SEALPOST_CV_NB_WEIGHT, the spam head combined with naive
	// Bayes, by weight, margin and class (opt.Draws inner draws, max ham
	// FP 0.001).
	weights := nbWeights(t)
	nbCaught := make([][6][3]int, len(weights))
	nbTotal := make([][6][3]int, len(weights))
	for k := range folds {
		var in, out []Example
		for i, e := range train {
			if fold[i]%folds == k {
				out = append(out, e)
			} else {
				in = append(in, e)
			}
		}
		var inner [][]scored
		for d := range opt.Draws {
			o := opt
			o.Seed = opt.Seed + uint64(d)*0x9e37
			inner = append(inner, crossValidate(in, o))
		}
		m := fit(in, opt)
		var outScores []scored
		for _, e := range out {
			outScores = append(outScores, scored{e.Class, m.Score(e.Features)})
		}
		for r, rule := range rules {
			for j, margin := range margins {
				o := opt
				o.Margin = margin
				o.MaxHamFP = rule.maxHamFP
				th := highestThresholds(inner[:rule.draws], o)
				tally(&caught[r][j], &total[r][j], th, outScores)
			}
		}
		if len(weights) == 0 {
			continue
		}
		// Naive Bayes fitted on the same examples as each regression:
		// the inner folds' and the outer model's.
		var innerNB [][]float64
		for d := range opt.Draws {
			o := opt
			o.Seed = opt.Seed + uint64(d)*0x9e37
			innerNB = append(innerNB, nbOutOfFold(in, o))
		}
		b := fitNBSpamHam(in)
		outNB := make([]float64, len(out))
		for i, e := range out {
			outNB[i] = nbLogit(b, e.Features)
		}
		for w, a := range weights {
			outA := withNB(outScores, outNB, a)
			for j, margin := range margins {
				o := opt
				o.Margin = margin
				o.MaxHamFP = 0.001
				innerA := make([][]scored, len(inner))
				for d, s := range inner {
					innerA[d] = withNB(s, innerNB[d], a)
				}
				th := highestThresholds(innerA, o)
				tally(&nbCaught[w][j], &nbTotal[w][j], th, outA)
			}
		}
	}
	for w, a := range weights {
		for j, margin := range margins {
			c, n := nbCaught[w][j], nbTotal[w][j]
			t.Logf("nested NB weight %.2f, %d draws, max ham FP 0.001, margin %.2f: spam recall %.4f (%d of %d), ham FP %d of %d, phish recall %.4f",
				a, opt.Draws, margin, float64(c[Spam])/float64(n[Spam]), c[Spam], n[Spam], c[Ham], n[Ham],
				float64(c[Phish])/float64(n[Phish]))
		}
	}
	for r, rule := range rules {
		for j, margin := range margins {
			t.Logf("nested, %d draws, max ham FP %g, margin %.2f: spam recall %.4f, ham FP %d of %d, phish recall %.4f",
				rule.draws, rule.maxHamFP, margin,
				float64(caught[r][j][Spam])/float64(total[r][j][Spam]), caught[r][j][Ham], total[r][j][Ham],
				float64(caught[r][j][Phish])/float64(total[r][j][Phish]))
		}
	}
}

// highestThresholds is the highest of the thresholds chosen on each
// draw's out-of-fold scores: the nested rule's.
func highestThresholds(draws [][]scored, o TrainOptions) Thresholds {
	var th Thresholds
	for _, s := range draws {
		x := chooseThresholds(s, o)
		th.Spam = math.Max(th.Spam, x.Spam)
		th.Phish = math.Max(th.Phish, x.Phish)
	}
	return th
}

// tally counts, by class, the held-out messages and those th does not
// take for ham.
func tally(caught, total *[3]int, th Thresholds, held []scored) {
	for _, x := range held {
		total[x.class]++
		if th.Classify(x.scores) != Ham {
			caught[x.class]++
		}
	}
}
