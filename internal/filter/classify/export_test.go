package classify

import (
	"testing"

	"sealpost.dev/sealpost/internal/filter/corpus"
)

// What the external tests (stack_test.go, which needs package filter and
// so cannot be in this package) use of this package's tests.

// TrainCorpusForTest returns the training split of the corpora, in the
// order TestCrossValidation sees it, with each message's bytes.
func TrainCorpusForTest(tb testing.TB) (raws [][]byte, examples []Example) {
	for _, m := range loadCorpus(tb) {
		if corpus.Train.In(m.raw) {
			raws = append(raws, m.raw)
			examples = append(examples, m.ex)
		}
	}
	return raws, examples
}

// CVOptionsForTest reads SEALPOST_CV_OPT as TestCrossValidation does,
// with the defaults filled in.
func CVOptionsForTest(t *testing.T) TrainOptions { return cvOptions(t).withDefaults() }

// CrossValidateForTest returns each example's out-of-fold scores over
// the folds drawn from opt.Seed, as threshold choice sees them.
func CrossValidateForTest(examples []Example, opt TrainOptions) []Scores {
	s := crossValidate(examples, opt)
	out := make([]Scores, len(s))
	for i, x := range s {
		out[i] = x.scores
	}
	return out
}

// FitForTest fits the weights as Train does, without thresholds.
func FitForTest(examples []Example, opt TrainOptions) *Model { return fit(examples, opt) }

// ChooseThresholdsForTest chooses thresholds from out-of-fold scores s
// of examples as Train does.
func ChooseThresholdsForTest(examples []Example, s []Scores, opt TrainOptions) Thresholds {
	sc := make([]scored, len(s))
	for i := range s {
		sc[i] = scored{examples[i].Class, s[i]}
	}
	return chooseThresholds(sc, opt)
}
