package instance

import (
	"log/slog"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/store"
)

// Reputation returns the spam filter's sender reputation over the store,
// with the default policy.
func Reputation(st store.Store) *reputation.Reputation {
	return reputation.New(st, reputation.Policy{}, nil)
}

// Trainer returns the training from people's moves and reports: it tells
// reputation, and learner when there is one (nil: the content classifier
// is not taught, reputation still is). It serves as the IMAP listeners'
// Trainer and the API's.
func Trainer(cfg *config.Config, st store.Store, learner training.Learner, log *slog.Logger) *training.Trainer {
	id := cfg.Auth.AuthservID
	if id == "" {
		id = cfg.Hostname
	}
	return &training.Trainer{Store: st, Learner: learner, Reputation: Reputation(st),
		AuthservID: id, Hostname: cfg.Hostname, Logger: log, Shared: cfg.Storage.Shared()}
}
