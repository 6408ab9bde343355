package classify

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// nbWeights reads SEALPOST_CV_NB_WEIGHT, a comma-separated list of
// weights a ("0,0.25,0.5"): the nested cross-validation then also
// measures the spam head's score sigmoid(logit(regression) + a ×
// logit(naive Bayes)), thresholds chosen on that score the way Train
// chooses them. Unset: none.
func nbWeights(t *testing.T) []float64 {
	v := os.Getenv("SEALPOST_CV_NB_WEIGHT")
	if v == "" {
		return nil
	}
	var ws []float64
	for _, s := range strings.Split(v, ",") {
		a, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || a < 0 {
			t.Fatalf("SEALPOST_CV_NB_WEIGHT=%q: want weights >= 0, comma-separated", v)
		}
		ws = append(ws, a)
	}
	return ws
}

// fitNBSpamHam fits naive Bayes to the spam and ham of ex, as the spam
// head is fitted (phishing left out: fitNB would count it as ham).
func fitNBSpamHam(ex []Example) *naiveBayes {
	var sh []Example
	for _, e := range ex {
		if e.Class != Phish {
			sh = append(sh, e)
		}
	}
	return fitNB(sh)
}

// nbLogit is naive Bayes' score for f in log-odds, the score clamped to
// 1e-6..1-1e-6 (chi-square combining gives 0 and 1 exactly).
func nbLogit(b *naiveBayes, f Features) float64 {
	return logit(math.Min(math.Max(b.score(f), 1e-6), 1-1e-6))
}

// nbOutOfFold returns naive Bayes' out-of-fold log-odds for examples
// over the very folds crossValidate(examples, opt) draws, each fitted
// on the same examples as that fold's regression.
func nbOutOfFold(examples []Example, opt TrainOptions) []float64 {
	folds := max(opt.Folds, 2)
	fold := rand.New(rand.NewPCG(opt.Seed, 0xf01d)).Perm(len(examples))
	out := make([]float64, len(examples))
	for k := range folds {
		var train []Example
		for i, e := range examples {
			if fold[i]%folds != k {
				train = append(train, e)
			}
		}
		b := fitNBSpamHam(train)
		for i, e := range examples {
			if fold[i]%folds == k {
				out[i] = nbLogit(b, e.Features)
			}
		}
	}
	return out
}

// withNB returns s with each spam score combined with naive Bayes'
// log-odds nb at weight a; a = 0 leaves the scores as they are.
func withNB(s []scored, nb []float64, a float64) []scored {
	out := make([]scored, len(s))
	for i, x := range s {
		if a != 0 {
			x.scores.Spam = sigmoid(logit(x.scores.Spam) + a*nb[i])
		}
		out[i] = x
	}
	return out
}
