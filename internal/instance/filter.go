package instance

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/store"
)

// Filter returns the spam and phishing filter of the [filter] section,
// with the checks Sealpost has built in and the content classifier; when filter.enabled is off it
// runs no check and only removes forged X-Sealpost- fields. Checks of
// other packages are appended to its Checks and AccountChecks by the
// caller.
func Filter(cfg *config.Config, st store.Store, log *slog.Logger) (*filter.Filter, error) {
	c := cfg.Filter
	f := &filter.Filter{Accounts: st, Logger: log}
	if !c.Enabled {
		return f, nil
	}
	f.Checks = filter.Builtin()
	f.AccountChecks = append(f.AccountChecks, classifier(cfg, st, log))
	f.RejectScore, f.JunkScore, f.WarnScore = c.RejectScore, c.JunkScore, c.WarnScore
	f.ExemptRecipients, f.ExemptSenders = c.ExemptRecipients, c.ExemptSenders
	f.Timeout = time.Duration(c.Timeout)
	if c.Banner {
		text := c.BannerText
		if text == "" {
			text = filter.DefaultBanner
		}
		b, err := filter.ParseBanner(text)
		if err != nil {
			return nil, fmt.Errorf("filter.banner_text: %w", err)
		}
		f.Banner = b
	}
	if len(c.Weights) > 0 {
		f.Weights = map[string]float64{}
		for _, w := range c.Weights {
			name, num, _ := strings.Cut(w, "=")
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil {
				return nil, fmt.Errorf("filter.weights: %q: %w", w, err)
			}
			f.Weights[strings.TrimSpace(name)] = v
		}
	}
	if len(c.Tempfail) > 0 {
		f.OnError = map[string]filter.OnError{}
		for _, n := range c.Tempfail {
			f.OnError[n] = filter.Tempfail
		}
	}
	return f, nil
}
