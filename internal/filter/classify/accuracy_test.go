package classify

import (
	"os"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/filter/corpus"
)

// The figures TestAccuracy measured on the test split when the model was
// last changed, less a small margin: a change that makes them worse
// fails the test.
const (
	minSpamRecall  = 0.89
	minPhishRecall = 0.98
	maxHamFPCount  = 1
)

// TestAccuracy trains on the training split of the corpora and measures
// the test split, which nothing else looks at.
func TestAccuracy(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("short mode")
	}
	if raceEnabled {
		// Training on the whole corpus is pure computation, seven times
		// slower under the race detector; scripts/test.sh runs this test
		// again without it. TestTrainSynthetic covers training with -race.
		t.Skip("under -race: scripts/test.sh runs TestAccuracy without the race detector")
	}
	msgs := loadCorpus(t)
	start := time.Now()
	m, err := Train(examplesOf(msgs, corpus.Train), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained in %v, thresholds %+v", time.Since(start), m.Thresholds)
	var conf [3][3]int
	for _, e := range examplesOf(msgs, corpus.Test) {
		conf[e.Class][m.Classify(e.Features)]++
	}
	total := func(c Class) int { return conf[c][Ham] + conf[c][Spam] + conf[c][Phish] }
	spamRecall := float64(conf[Spam][Spam]+conf[Spam][Phish]) / float64(total(Spam))
	phishRecall := float64(conf[Phish][Spam]+conf[Phish][Phish]) / float64(total(Phish))
	hamFP := conf[Ham][Spam] + conf[Ham][Phish]
	t.Logf("test split: confusion (actual × predicted ham/spam/phish) %v", conf)
	t.Logf("spam recall %.4f, ham false positives %d of %d (%.4f), phish recall %.4f, phish as phish %.4f",
		spamRecall, hamFP, total(Ham), float64(hamFP)/float64(total(Ham)), phishRecall,
		float64(conf[Phish][Phish])/float64(total(Phish)))
	if spamRecall < minSpamRecall {
		t.Errorf("spam recall %.4f < %.4f", spamRecall, minSpamRecall)
	}
	if phishRecall < minPhishRecall {
		t.Errorf("phish recall %.4f < %.4f", phishRecall, minPhishRecall)
	}
	if hamFP > maxHamFPCount {
		t.Errorf("%d ham false positives > %d", hamFP, maxHamFPCount)
	}
}
