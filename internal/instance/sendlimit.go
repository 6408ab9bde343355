package instance

import (
	"log/slog"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/sendlimit"
	"sealpost.dev/sealpost/internal/store"
)

// OutboundLimits returns the limits of the [outbound] section.
func OutboundLimits(cfg *config.Config) sendlimit.Limits {
	o := cfg.Outbound
	return sendlimit.Limits{
		MessagesPerMinute: o.MessagesPerMinute, MessagesPerHour: o.MessagesPerHour, MessagesPerDay: o.MessagesPerDay,
		RecipientsPerMinute: o.RecipientsPerMinute, RecipientsPerHour: o.RecipientsPerHour, RecipientsPerDay: o.RecipientsPerDay,
		NewRecipientsPerHour: o.NewRecipientsPerHour, NewRecipientsPerDay: o.NewRecipientsPerDay,
		BurstFactor: float64(o.BurstFactor), BurstMinimum: o.BurstMinimum,
		Correspondents: o.Correspondents,
	}
}

// SendLimiter returns the outbound abuse control of the configuration,
// also when outbound.enabled is off (releasing held mail still works
// then): callers check cfg.Outbound.Enabled before counting.
func SendLimiter(cfg *config.Config, st store.Store, accounts *account.Service, log *slog.Logger) *sendlimit.Limiter {
	return &sendlimit.Limiter{Store: st, Accounts: accounts, Limits: OutboundLimits(cfg), Logger: log}
}
