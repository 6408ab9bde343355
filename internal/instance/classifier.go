package instance

import (
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/filter/training"
)

// Learner returns the content classifier of f, which learns from
// people's moves and reports, or nil when f has none (the filter is off).
func Learner(f *filter.Filter) training.Learner {
	for _, c := range f.AccountChecks {
		if cl, ok := c.(*filter.Classifier); ok {
			return cl
		}
	}
	return nil
}
