package instance

import (
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/greylist"
	"sealpost.dev/sealpost/internal/store"
)

// Greylist returns the greylist of the [greylist] section over the store's
// KV, or nil when greylist.enabled is off.
func Greylist(cfg *config.Config, st store.KV) *greylist.Greylist {
	g := cfg.Greylist
	if !g.Enabled {
		return nil
	}
	return greylist.New(st, greylist.Options{
		Delay:        time.Duration(g.Delay),
		Window:       time.Duration(g.Window),
		Whitelist:    time.Duration(g.Whitelist),
		SpareAligned: g.SpareAligned,
	})
}
