package account

import (
	"context"
	"net/netip"
	"time"
)

// AlertKind names a security alert.
type AlertKind string

// The alerts an account's owner is sent. Each marks a step a thief with a
// stolen password takes, so that the owner hears of it at once.
const (
	AlertNewSignIn         AlertKind = "new-sign-in"        // from a network or client not seen before
	AlertAppPasswordAdded  AlertKind = "app-password-added" // a new app password
	AlertTwoStepOff        AlertKind = "two-step-off"       // 2-step verification turned off
	AlertPasswordChanged   AlertKind = "password-changed"   // the main password changed
	AlertForwardingChanged AlertKind = "forwarding-changed" // a forwarding rule added, changed or confirmed
	AlertForwardingActive  AlertKind = "forwarding-active"  // the reminder of an active outside forward
	AlertRecoveryChanged   AlertKind = "recovery-changed"   // the recovery address added or changed
	AlertOutboundHeld      AlertKind = "outbound-held"      // outgoing mail held by the abuse limits
)

// Alert is one security alert about an account.
type Alert struct {
	AccountID int64
	Kind      AlertKind
	Time      time.Time
	// RemoteIP and Client say where the change came from, when known.
	RemoteIP netip.Addr
	Client   string
	// Detail is a short plain-text account of what happened, for the
	// owner; never a secret.
	Detail string
	// AlsoTo are addresses to tell besides the INBOX and the current
	// recovery address: the recovery address a change replaced.
	AlsoTo []string
}

// Alerter delivers security alerts: to the account's INBOX and, when it
// has one, to its recovery address. Send must not fail the change that
// raised the alert: an Alerter logs what it cannot deliver.
type Alerter interface {
	Send(ctx context.Context, a Alert)
}

// alert sends a through s.Alerts when it is set.
func (s *Service) alert(ctx context.Context, a Alert) {
	if s.Alerts == nil {
		return
	}
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	originOf(ctx, &a)
	s.Alerts.Send(ctx, a)
}
