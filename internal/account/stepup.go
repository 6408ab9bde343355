package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// StepUpWindow is how long a step-up authentication lets its account make
// risky changes.
const StepUpWindow = 5 * time.Minute

// ErrStepUpRequired is wrapped by the refusal of a risky change made
// without a fresh step-up authentication of the account (see StepUp).
var ErrStepUpRequired = errors.New("step-up authentication required")

// StepUp is the proof that someone proved, at Time, to hold the password
// (and, with 2-step verification on, a TOTP code or recovery code) of the
// account AccountID. The zero StepUp proves nothing. Only Service.StepUp
// makes one; a web or API session keeps it for StepUpWindow.
type StepUp struct {
	AccountID int64
	Time      time.Time
	// RemoteIP and Client are where the step-up came from, when known:
	// the alerts of the changes it allows name them.
	RemoteIP netip.Addr
	Client   string
}

// StepUp checks the account's main password, and, when 2-step verification
// is on, totpCode: a current TOTP code or one of the recovery codes (used
// up). App passwords are not accepted: step-up is for the owner, not for a
// mail client. Whatever session is in hand, the risky changes (changing
// the password, adding an app password or a recovery address, turning
// 2-step verification off) take a StepUp no older than StepUpWindow.
//
// Every attempt is recorded in the log with Kind "stepup", like a login,
// with the reason for a refusal. A refusal wraps ErrAuthFailed; an unknown
// account costs what a wrong password costs. StepUp is StepUpAttempt
// without a remote address, for callers that have none.
func (s *Service) StepUp(ctx context.Context, address, password, totpCode string) (StepUp, error) {
	return s.StepUpAttempt(ctx, Attempt{Protocol: "web", Username: address, Password: password}, totpCode)
}

// StepUpAttempt is StepUp for an attempt whose remote address and client
// are known (a web or API request): they are logged, kept in the StepUp
// for the alerts of the changes it allows, and, with a Guard, the attempt
// is admitted and recorded by it like a login, so that step-up is no way
// around the brute-force defence.
func (s *Service) StepUpAttempt(ctx context.Context, a Attempt, totpCode string) (StepUp, error) {
	entry := store.LogEntry{Kind: "stepup", Protocol: a.Protocol, RemoteIP: a.RemoteIP, Client: a.Client, Method: "password"}
	guarded := s.Guard != nil && a.RemoteIP.IsValid()
	if guarded {
		if err := s.Guard.Admit(ctx, a.RemoteIP, loginAddress(a.Username)); err != nil {
			if !errors.Is(err, ErrLockedOut) {
				return StepUp{}, fmt.Errorf("step-up: %w", err)
			}
			if acc, err := s.Store.GetAccount(ctx, loginAddress(a.Username)); err == nil {
				entry.AccountID = acc.ID
			}
			s.logAttempt(ctx, entry, a.Username, "locked out", false)
			return StepUp{}, fmt.Errorf("%w: %w", ErrAuthFailed, err)
		}
	}
	acc, err := s.checkStepUp(ctx, a.Username, a.Password, totpCode, &entry)
	var fail *loginFailure
	switch {
	case errors.As(err, &fail):
		entry.AccountID = fail.accountID
		s.logAttempt(ctx, entry, a.Username, fail.reason, false)
	case err != nil:
		return StepUp{}, err
	default:
		entry.AccountID = acc.ID
		s.logAttempt(ctx, entry, a.Username, "step-up", true)
	}
	if guarded {
		s.Guard.Record(ctx, a.RemoteIP, loginAddress(a.Username), err == nil)
	}
	if err != nil {
		return StepUp{}, err
	}
	return StepUp{AccountID: acc.ID, Time: s.now(), RemoteIP: a.RemoteIP, Client: a.Client}, nil
}

// checkStepUp decides a step-up attempt, returning a *loginFailure for a
// refusal.
func (s *Service) checkStepUp(ctx context.Context, address, password, code string, entry *store.LogEntry) (store.Account, error) {
	h := s.hasher()
	a, err := ParseAddress(address)
	if err != nil {
		return store.Account{}, s.failSlowly(ctx, h, password, &loginFailure{reason: "invalid address"})
	}
	acc, err := s.Store.GetAccount(ctx, a.String())
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, s.failSlowly(ctx, h, password, &loginFailure{reason: "no such account"})
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("step-up %s: %w", a, err)
	}
	if err := s.verifyPassword(ctx, h, acc, password); err != nil {
		return store.Account{}, err
	}
	on, err := s.TwoStepEnabled(ctx, acc.ID)
	if err != nil || !on {
		return acc, err
	}
	entry.Method = "password+totp"
	if looksGenerated(code, recoveryCodeLetters) {
		entry.Method = "password+recovery-code"
		err = s.UseRecoveryCode(ctx, acc.ID, code)
	} else {
		err = s.VerifyTOTP(ctx, acc.ID, code)
	}
	if errors.Is(err, ErrAuthFailed) {
		return store.Account{}, &loginFailure{acc.ID, fmt.Sprintf("password right, %v", err)}
	}
	return acc, err
}

// RequireStepUp returns nil when su proves a step-up authentication of the
// account accountID within the last StepUpWindow, and otherwise an error
// wrapping ErrStepUpRequired: for the zero StepUp, one of another account,
// an expired one, or one from the future (a clock gone back).
func (s *Service) RequireStepUp(su StepUp, accountID int64) error {
	now := s.now()
	switch {
	case su.AccountID == 0 || su.Time.IsZero():
		return fmt.Errorf("%w: none given", ErrStepUpRequired)
	case su.AccountID != accountID:
		return fmt.Errorf("%w: it is for another account", ErrStepUpRequired)
	case now.Sub(su.Time) > StepUpWindow:
		return fmt.Errorf("%w: older than %v", ErrStepUpRequired, StepUpWindow)
	case su.Time.After(now.Add(time.Minute)):
		return fmt.Errorf("%w: made in the future", ErrStepUpRequired)
	}
	return nil
}

// steppedUp returns the account at address when su is a fresh step-up of
// it. The changes it allows are made with ctx from withOrigin.
func (s *Service) steppedUp(ctx context.Context, su StepUp, address string) (store.Account, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return store.Account{}, err
	}
	if err := s.RequireStepUp(su, acc.ID); err != nil {
		return store.Account{}, fmt.Errorf("account %s: %w", acc.Address, err)
	}
	return acc, nil
}

// The risky changes an account's owner makes, each taking a fresh StepUp
// as its second argument; the web pages and the API call these. The
// administrator's methods (SetPassword, AddAppPassword, DisableTwoStep)
// take none: the administrator is trusted through the admin socket and the
// command line.

// ChangePassword is the owner's change of the account's password; see
// SetPassword for what follows it.
func (s *Service) ChangePassword(ctx context.Context, su StepUp, address, newPassword string) error {
	a, err := ParseAddress(address)
	if err != nil {
		return err
	}
	if err := CheckPasswordFor(a, newPassword, s.MinPasswordLength); err != nil {
		return err
	}
	acc, err := s.steppedUp(ctx, su, a.String())
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return s.replacePassword(withOrigin(ctx, su), acc, newPassword)
}

// AddAppPasswordStepUp is the owner's AddAppPassword.
func (s *Service) AddAppPasswordStepUp(ctx context.Context, su StepUp, address, name string, scopes []string) (store.AppPassword, string, error) {
	if _, err := s.steppedUp(ctx, su, address); err != nil {
		return store.AppPassword{}, "", fmt.Errorf("add app password: %w", err)
	}
	return s.AddAppPassword(withOrigin(ctx, su), address, name, scopes)
}

// DisableTwoStepStepUp is the owner's DisableTwoStep.
func (s *Service) DisableTwoStepStepUp(ctx context.Context, su StepUp, address string) error {
	if _, err := s.steppedUp(ctx, su, address); err != nil {
		return fmt.Errorf("disable 2-step verification: %w", err)
	}
	return s.DisableTwoStep(withOrigin(ctx, su), address)
}

// originKey is the context key of where a change came from.
type originKey struct{}

// withOrigin returns ctx carrying where su was made, so that the alerts of
// the change name it.
func withOrigin(ctx context.Context, su StepUp) context.Context {
	return context.WithValue(ctx, originKey{}, su)
}

// originOf fills in the remote address and client of an alert raised by
// a change made with withOrigin.
func originOf(ctx context.Context, a *Alert) {
	su, ok := ctx.Value(originKey{}).(StepUp)
	if !ok || a.RemoteIP.IsValid() || a.Client != "" {
		return
	}
	a.RemoteIP, a.Client = su.RemoteIP, su.Client
}
