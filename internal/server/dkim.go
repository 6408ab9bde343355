package server

import (
	"context"
	"time"

	"sealpost.dev/sealpost/internal/account"
)

// How often the server moves DKIM key rotations on, and how soon after
// start it first does: a rotation whose hold ended while the server was
// down completes at once.
const (
	dkimInterval = time.Hour
	dkimFirstRun = time.Minute
	// dkimRoundTimeout bounds one round's DNS lookups and store writes.
	dkimRoundTimeout = 5 * time.Minute
)

// rotateDKIM completes the DKIM key rotations of every hosted domain
// ([account.Service.AdvanceDKIM]) until ctx is done: pending keys sign once
// the server's resolver has shown their records long enough, and retired
// keys are deleted.
func (s *Server) rotateDKIM(ctx context.Context) {
	timer := time.NewTimer(s.dkimFirst)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		s.advanceDKIM(ctx)
		timer.Reset(s.dkimEvery)
	}
}

func (s *Server) advanceDKIM(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, dkimRoundTimeout)
	defer cancel()
	c := s.cfg.DKIM
	events, err := s.accounts.AdvanceDKIM(ctx, s.resolver, account.DKIMRotation{
		AutoActivate: c.AutoActivate, PublishHold: time.Duration(c.PublishHold), Overlap: time.Duration(c.Overlap)})
	for _, e := range events {
		if e.Kind == account.DKIMLookupFailed && ctx.Err() != nil {
			continue // shutting down, or the round ran out of time: not DNS's fault
		}
		s.logDKIMEvent(e)
	}
	if ctx.Err() == context.DeadlineExceeded {
		s.log.Warn("DKIM key rotation round took longer than its budget", "budget", dkimRoundTimeout.String())
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("DKIM key rotation", "err", err)
	}
}

func (s *Server) logDKIMEvent(e account.DKIMEvent) {
	attrs := []any{"domain", e.Domain, "selectors", e.Selectors}
	switch e.Kind {
	case account.DKIMActivated:
		s.log.Info("new DKIM keys sign from now on", append(attrs, "replaced", e.Replaced, "replaced_until", e.RetireAt.UTC().Format(time.RFC3339))...)
	case account.DKIMDeleted:
		s.log.Info("retired DKIM keys deleted: remove their DNS records", attrs...)
	case account.DKIMSeenPublished:
		s.log.Info("a pending DKIM key's record is published in DNS", append(attrs,
			"auto_activate", s.cfg.DKIM.AutoActivate, "hold", time.Duration(s.cfg.DKIM.PublishHold).String())...)
	case account.DKIMUnpublished:
		s.log.Warn("a pending DKIM key's record is gone from DNS: its hold starts again when it is back", append(attrs, "detail", e.Detail)...)
	case account.DKIMRecordDiffers:
		s.log.Warn("DNS publishes something else than a pending DKIM key: not activating it; publish the record sealpost dns shows",
			append(attrs, "detail", e.Detail)...)
	case account.DKIMLookupFailed:
		s.log.Warn("looking up a pending DKIM key's record failed; trying again next round", append(attrs, "detail", e.Detail)...)
	default:
		s.log.Info("DKIM rotation", append(attrs, "event", string(e.Kind), "detail", e.Detail)...)
	}
}
