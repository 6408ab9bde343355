package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/queue"
	"sealpost.dev/sealpost/internal/reports"
	"sealpost.dev/sealpost/internal/store"
)

// reportInterval is how often the server looks for daily reports to
// send; each goes once, whenever the look comes.
const reportInterval = time.Hour

// reportDomain is the domain that signs our reports: the first hosted
// domain of the config, or the host name.
func (s *Server) reportDomain() string {
	if len(s.cfg.Domains) > 0 {
		return s.cfg.Domains[0]
	}
	return s.cfg.Hostname
}

// sendReports sends the DMARC aggregate and TLS reports of past days, at
// most once each, until ctx is done.
func (s *Server) sendReports(ctx context.Context) {
	domain := s.reportDomain()
	sched := &reports.Scheduler{Store: s.store, Resolver: s.resolver, OrgName: domain,
		Address: "postmaster@" + domain, Hostname: s.cfg.Hostname, Logger: s.log, RootCAs: s.testRoots,
		AllowPrivate: s.cfg.Testing.Enabled,
		Sign: func(ctx context.Context, msg []byte) (string, error) {
			return s.accounts.SignDKIM(ctx, domain, bytes.NewReader(msg))
		}}
	for {
		sent, err := sched.SendDue(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sending daily reports", "err", err)
		}
		if len(sent) > 0 {
			s.pokeQueue()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(reportInterval):
		}
	}
}

// dsnNotifier makes the delivery reports of the outbound queue: from the
// postmaster of the reporting domain, DKIM-signed with that domain's
// active keys like the daily reports, so that they pass DMARC at the
// sender's server.
func (s *Server) dsnNotifier() *queue.DSNNotifier {
	return &queue.DSNNotifier{Store: s.store, Hostname: s.cfg.Hostname, From: "postmaster@" + s.reportDomain(),
		Sign: s.signReport, Logger: s.log, Queued: s.pokeQueue}
}

// signReport signs a message Sealpost writes (a delivery report) for the
// domain of from.
func (s *Server) signReport(ctx context.Context, from string, msg []byte) ([]byte, error) {
	_, domain, _ := strings.Cut(from, "@")
	sig, err := s.accounts.SignDKIM(ctx, domain, bytes.NewReader(msg))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("%w: %s is not a hosted domain", queue.ErrNoSigningKey, domain)
	case err != nil:
		return nil, err
	case sig == "":
		return nil, fmt.Errorf("%w: %s has no active DKIM key", queue.ErrNoSigningKey, domain)
	}
	return append([]byte(sig), msg...), nil
}

// reportIngest is a delivery hook that reads the DMARC aggregate and TLS
// reports other receivers send to the postmaster of our domains, the
// address `sealpost dns` publishes as rua, and stores them for `sealpost
// report`. The message is delivered as any other.
type reportIngest struct{ s *Server }

func (h reportIngest) Check(ctx context.Context, env *delivery.Envelope, msg delivery.Message) (delivery.Verdict, error) {
	if env.Account != 0 || !env.RemoteIP.IsValid() || !toPostmaster(env) {
		return delivery.Verdict{}, nil
	}
	body, err := msg.Open()
	if err != nil {
		return delivery.Verdict{}, err
	}
	defer body.Close()
	got, err := reports.Ingest(ctx, h.s.store, body)
	switch {
	case errors.Is(err, reports.ErrNoReport):
	case err != nil:
		h.s.log.Info("a message to postmaster is not a report Sealpost can read", "id", env.ID, "err", err)
	default:
		h.s.log.Info("report received", "id", env.ID, "report", got)
	}
	return delivery.Verdict{}, nil
}

func toPostmaster(env *delivery.Envelope) bool {
	for _, r := range env.Recipients {
		local, _, _ := strings.Cut(r.Address, "@")
		if strings.EqualFold(local, "postmaster") {
			return true
		}
	}
	return false
}

// recordTLS counts an outbound TLS outcome for the TLS report of its
// domain (RFC 8460). The queue calls it from its deliveries; a failure is
// logged, never the delivery's.
func (s *Server) recordTLS(r queue.TLSResult) {
	res := reports.TLSResult{Time: time.Now(), PolicyDomain: r.Domain, PolicyStrings: r.PolicyStrings, MXHosts: r.PolicyMX,
		Success: r.Success, ResultType: r.FailureReason, ReceivingMX: r.MXHost, FailureCode: r.Detail}
	switch r.Policy {
	case queue.TLSPolicySTS:
		res.PolicyType = reports.PolicySTS
	case queue.TLSPolicyDANE:
		res.PolicyType = reports.PolicyTLSA
	default:
		res.PolicyType = reports.PolicyNotFound
	}
	if r.Addr.IsValid() {
		res.ReceivingIP = r.Addr.Addr().String()
	}
	if r.LocalAddr.IsValid() {
		res.SendingIP = r.LocalAddr.String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := (&reports.TLSRecorder{Store: s.store}).Record(ctx, res); err != nil {
		s.log.Warn("counting a TLS outcome for reports", "domain", r.Domain, "err", err)
	}
}
