package classify

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/filter/corpus"
)

// TestNaiveBayesCV measures, inside the training split only, whether a
// Robinson/Fisher naive Bayes (SpamBayes' chi-square combining) over the
// same features adds to the spam head: out-of-fold spam recall of each
// and of their log-odds summed, at the score above all ham but one. It
// runs only when SEALPOST_CV_NB is set.
func TestNaiveBayesCV(t *testing.T) {
	if os.Getenv("SEALPOST_CV_NB") == "" {
		t.Skip("SEALPOST_CV_NB not set")
	}
	var train []Example
	for _, e := range examplesOf(loadCorpus(t), corpus.Train) {
		if e.Class != Phish {
			train = append(train, e)
		}
	}
	opt := TrainOptions{}.withDefaults()
	for draw := range uint64(3) {
		fold := rand.New(rand.NewPCG(7+draw, 0xb0)).Perm(len(train))
		lr := make([]float64, len(train))
		nb := make([]float64, len(train))
		for k := range 5 {
			var in []Example
			for i, e := range train {
				if fold[i]%5 != k {
					in = append(in, e)
				}
			}
			m := fit(in, opt)
			b := fitNB(in)
			for i, e := range train {
				if fold[i]%5 == k {
					lr[i] = logit(m.Score(e.Features).Spam)
					nb[i] = logit(math.Min(math.Max(b.score(e.Features), 1e-6), 1-1e-6))
				}
			}
		}
		for _, a := range []float64{0, 0.25, 0.5, 1, -1} {
			z := make([]float64, len(train))
			for i := range z {
				switch {
				case a < 0:
					z[i] = nb[i]
				default:
					z[i] = lr[i] + a*nb[i]
				}
			}
			t.Logf("draw %d, NB weight %v (-1: NB alone): spam recall %.4f above all ham but one",
				draw, a, recallAboveHam(train, z, 1))
		}
	}
}

func recallAboveHam(ex []Example, z []float64, allowed int) float64 {
	var ham []float64
	for i, e := range ex {
		if e.Class == Ham {
			ham = append(ham, z[i])
		}
	}
	slices.Sort(ham)
	edge := ham[len(ham)-1-allowed]
	var n, caught int
	for i, e := range ex {
		if e.Class == Spam {
			n++
			if z[i] > edge {
				caught++
			}
		}
	}
	return float64(caught) / float64(n)
}

type naiveBayes struct {
	spam, ham map[uint64]int
	ns, nh    int
}

func fitNB(ex []Example) *naiveBayes {
	b := &naiveBayes{spam: map[uint64]int{}, ham: map[uint64]int{}}
	for _, e := range ex {
		c := b.ham
		if e.Class == Spam {
			c = b.spam
			b.ns++
		} else {
			b.nh++
		}
		for _, f := range e.Features {
			c[f]++
		}
	}
	return b
}

// score is SpamBayes' chi-square combining of Robinson's token
// probabilities (s 0.45, x 0.5, tokens at least 0.1 from 0.5, the 150
// strongest).
func (b *naiveBayes) score(fs Features) float64 {
	var probs []float64
	for _, f := range fs {
		s, h := float64(b.spam[f]), float64(b.ham[f])
		if s+h == 0 {
			continue
		}
		sr, hr := s/float64(b.ns), h/float64(b.nh)
		p := sr / (sr + hr)
		n := s + h
		p = (0.45*0.5 + n*p) / (0.45 + n)
		if math.Abs(p-0.5) >= 0.1 {
			probs = append(probs, p)
		}
	}
	slices.SortFunc(probs, func(a, c float64) int { return cmpFloat(math.Abs(c-0.5), math.Abs(a-0.5)) })
	if len(probs) > 150 {
		probs = probs[:150]
	}
	if len(probs) == 0 {
		return 0.5
	}
	var lh, ls float64
	for _, p := range probs {
		lh += math.Log(p)
		ls += math.Log(1 - p)
	}
	S := 1 - chi2Q(-2*ls, 2*len(probs))
	H := 1 - chi2Q(-2*lh, 2*len(probs))
	return (S - H + 1) / 2
}

func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	term := math.Exp(-m)
	sum := term
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return math.Min(sum, 1)
}
