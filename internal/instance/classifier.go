package instance

import (
	"context"
	"log/slog"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/store"
)

// classifier returns the content classifier over the store's models,
// fitted to the [filter] thresholds, with its global model loaded now
// (so that a missing one is logged at start; a store that fails is
// logged and tried again at the first message).
func classifier(cfg *config.Config, st store.Store, log *slog.Logger) *filter.Classifier {
	c := &filter.Classifier{Models: st, JunkScore: cfg.Filter.JunkScore, RejectScore: cfg.Filter.RejectScore, Logger: log}
	if st == nil {
		return c // a configuration check, no server
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Global(ctx); err != nil && log != nil {
		log.Warn("filter: loading the content classifier's model", "err", err)
	}
	return c
}

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
