package instance

import (
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/filter"
)

// TestFilterClassifier: the filter carries the content classifier,
// fitted to the [filter] thresholds, and it is training's Learner; a
// filter turned off has none.
func TestFilterClassifier(t *testing.T) {
	cfg := config.Default()
	cfg.Filter.JunkScore, cfg.Filter.RejectScore = 7, 18
	f, err := Filter(cfg, nil, FilterDeps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := Learner(f)
	c, ok := l.(*filter.Classifier)
	if !ok || c.JunkScore != 7 || c.RejectScore != 18 {
		t.Fatalf("learner %#v", l)
	}
	if !slices.Contains(f.AccountChecks, filter.AccountCheck(c)) {
		t.Errorf("account checks %v lack the classifier", f.AccountChecks)
	}
	cfg.Filter.Enabled = false
	f, _ = Filter(cfg, nil, FilterDeps{}, nil)
	if l := Learner(f); l != nil {
		t.Errorf("filter off: learner %#v", l)
	}
}
