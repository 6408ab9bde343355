package server

import (
	"context"
	"errors"
	"os"
	"time"

	"sealpost.dev/sealpost/internal/filter/usercorpus"
)

// How soon after start the content classifier's global model is first
// made again from the users' mail ([filter] retrain says how often after
// that). Not at once: a restart is not the moment for a minute of work.
const retrainFirstRun = 10 * time.Minute

// retrainFilter makes the content classifier's global model from the
// users' own mail every [filter] retrain, until ctx is done (package
// usercorpus). A model an administrator trained from corpora is kept.
func (s *Server) retrainFilter(ctx context.Context) {
	every := time.Duration(s.cfg.Filter.Retrain)
	if !s.cfg.Filter.Enabled || every <= 0 || s.classifier == nil {
		return
	}
	timer := time.NewTimer(s.retrainFirst)
	defer timer.Stop()
	r := &usercorpus.Retrainer{Store: s.store}
	if s.cfg.Storage.Shared() {
		// Nodes sharing the database take turns: the one that claims
		// the retraining does it, and none retrains again for half the
		// interval.
		r.Lease = every / 2
		r.Holder, _ = os.Hostname()
	}
	toldKept := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		res, err := r.Retrain(ctx)
		counts := []any{"ham", res.Counts[0], "spam", res.Counts[1], "phish", res.Counts[2]}
		switch {
		case errors.Is(err, usercorpus.ErrCorpusModel):
			if !toldKept {
				s.log.Info("filter: the content classifier's model was trained from corpora, or before its source was recorded; not retraining it from the users' mail (sealpost filter train --mailboxes adds it)")
				toldKept = true
			}
		case errors.Is(err, usercorpus.ErrLeased):
			s.log.Debug("filter: another node retrains the content classifier")
		case errors.Is(err, usercorpus.ErrReplaced):
			s.log.Info("filter: the content classifier's model was replaced while retraining; kept")
		case err != nil && ctx.Err() == nil:
			s.log.Warn("filter: retraining the content classifier from the users' mail", "err", err)
		case res.Trained:
			s.log.Info("filter: content classifier model made from the users' mail", append(counts,
				"model_bytes", res.ModelBytes, "took", res.Took.Round(time.Millisecond).String())...)
			s.classifier.Reload()
		case err == nil:
			s.log.Info("filter: too little reported mail to make a content classifier model yet", append(counts, "needs", res.Skipped)...)
		}
		timer.Reset(every)
	}
}
