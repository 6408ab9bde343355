package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"sealpost.dev/sealpost/internal/authguard"
	"sealpost.dev/sealpost/internal/store"
)

// Attempt is one login on a protocol, as Login takes it.
type Attempt struct {
	Protocol string // "imap", "pop3", "smtp", "web"
	Username string
	Password string
	RemoteIP netip.Addr
	Client   string // IMAP ID name/version, EHLO name, User-Agent
	Method   string // "LOGIN", "PLAIN", "USER/PASS", ...
}

// Login is a successful login.
type Login struct {
	Account     store.Account
	AppPassword int64 // the app password's ID; 0 when the main password was used
}

// Guard is consulted by Login before any password is checked, and told
// the outcome of every check it admitted.
type Guard interface {
	// Admit waits out any delay owed (returning early with ctx's error) and
	// returns an error wrapping ErrLockedOut when attempts for this address
	// from this IP are refused.
	Admit(ctx context.Context, ip netip.Addr, address string) error
	Record(ctx context.Context, ip netip.Addr, address string, ok bool)
}

// ErrLockedOut is wrapped by a Guard's refusal; Login's error then wraps
// both it and ErrAuthFailed. It is authguard's own error, so that either
// name matches.
var ErrLockedOut = authguard.ErrLockedOut

// reasonTwoStep is the log's reason for refusing the main password.
const reasonTwoStep = "2-step verification is on: use an app password"

// maxLoggedUser bounds the user name a failed login records.
const maxLoggedUser = 254

// Login is the one way in for every protocol. It checks the password
// against the account's main password and its app passwords, and records
// the attempt, whatever its outcome, in the account's login log (Kind
// "login"; AccountID 0 when no account has that name), with the reason
// for a refusal in Detail; it never records a password.
//
// The rules:
//   - with 2-step verification on, the main password is refused for IMAP,
//     POP3 and SMTP: those take app passwords only; for "web" it is
//     accepted, and the caller then asks for a TOTP code (VerifyTOTP,
//     UseRecoveryCode);
//   - an app password works only for the protocols of its scopes, never
//     for "web", whether or not 2-step verification is on; its last use
//     (time and IP) is recorded;
//   - a disabled account is refused;
//   - an account with an allow-list of networks for the protocol (see
//     AllowNetworks) is refused from outside them, before any password
//     is checked.
//
// An unknown user costs what a wrong password costs (see Authenticate),
// so neither the reply nor its timing tells whether the account exists;
// a generated app password is recognised by its shape, not by the user.
// The main password goes through Authenticate's login cache.
//
// With a Guard, Login asks Guard.Admit first, and refuses without checking
// anything when it refuses; every attempt it admits ends with
// Guard.Record. Failures wrap ErrAuthFailed; other errors (the store
// failing, ctx ending) are returned as they are and not recorded.
func (s *Service) Login(ctx context.Context, a Attempt) (Login, error) {
	entry := store.LogEntry{Kind: "login", Protocol: a.Protocol, RemoteIP: a.RemoteIP, Client: a.Client, Method: a.Method}
	address := loginAddress(a.Username)
	if s.Guard != nil {
		if err := s.Guard.Admit(ctx, a.RemoteIP, address); err != nil {
			if !errors.Is(err, ErrLockedOut) {
				return Login{}, fmt.Errorf("login: %w", err)
			}
			if acc, err := s.Store.GetAccount(ctx, address); err == nil {
				entry.AccountID = acc.ID
			}
			s.logAttempt(ctx, entry, a.Username, "locked out", false)
			return Login{}, fmt.Errorf("%w: %w", ErrAuthFailed, err)
		}
	}
	l, detail, err := s.checkLogin(ctx, a)
	var fail *loginFailure
	switch {
	case errors.As(err, &fail):
		entry.AccountID = fail.accountID
		s.logAttempt(ctx, entry, a.Username, fail.reason, false)
	case err != nil:
		return Login{}, err
	default:
		entry.AccountID = l.Account.ID
		s.logAttempt(ctx, entry, a.Username, detail, true)
		s.noteSignIn(ctx, a, l.Account)
	}
	if s.Guard != nil {
		s.Guard.Record(ctx, a.RemoteIP, address, err == nil)
	}
	return l, err
}

// loginFailure is a refused login: it wraps ErrAuthFailed and says why,
// for the log.
type loginFailure struct {
	accountID int64 // 0 when no account has the name
	reason    string
}

func (f *loginFailure) Error() string { return ErrAuthFailed.Error() + ": " + f.reason }
func (f *loginFailure) Unwrap() error { return ErrAuthFailed }

// checkLogin decides an attempt. It returns the Detail of a success for
// the log, or a *loginFailure.
func (s *Service) checkLogin(ctx context.Context, a Attempt) (Login, string, error) {
	h := s.hasher()
	addr, err := ParseAddress(a.Username)
	if err != nil {
		return Login{}, "", s.failSlowly(ctx, h, a.Password, &loginFailure{reason: "invalid address"})
	}
	acc, err := s.Store.GetAccount(ctx, addr.String())
	if errors.Is(err, store.ErrNotFound) {
		// The lookups an existing account would get, for the same time.
		if _, err := s.networkAllowed(ctx, 0, a.Protocol, a.RemoteIP); err != nil {
			return Login{}, "", err
		}
		if _, err := s.appPassword(ctx, 0, a.Password); err != nil {
			return Login{}, "", err
		}
		return Login{}, "", s.failSlowly(ctx, h, a.Password, &loginFailure{reason: "no such account"})
	}
	if err != nil {
		return Login{}, "", fmt.Errorf("login %s: %w", addr, err)
	}
	// The allow-list before any password: a refusal costs a hash all
	// the same, so it tells nothing about the account or the password.
	if ok, err := s.networkAllowed(ctx, acc.ID, a.Protocol, a.RemoteIP); err != nil || !ok {
		if err != nil {
			return Login{}, "", err
		}
		return Login{}, "", s.failSlowly(ctx, h, a.Password, &loginFailure{acc.ID, reasonNetwork})
	}
	app, err := s.appPassword(ctx, acc.ID, a.Password)
	if err != nil {
		return Login{}, "", err
	}
	if app.ID != 0 {
		return s.appPasswordLogin(ctx, a, acc, app)
	}
	return s.mainPasswordLogin(ctx, a, acc)
}

// appPassword returns the account's app password that password is, or the
// zero AppPassword. Only passwords of the generated shape are looked up.
func (s *Service) appPassword(ctx context.Context, accountID int64, password string) (store.AppPassword, error) {
	if !looksGenerated(password, appPasswordLetters) {
		return store.AppPassword{}, nil
	}
	p, err := s.Store.FindAppPassword(ctx, accountID, credentialHash(password))
	if errors.Is(err, store.ErrNotFound) {
		return store.AppPassword{}, nil
	}
	if err != nil {
		return store.AppPassword{}, fmt.Errorf("login: %w", err)
	}
	return p, nil
}

func (s *Service) appPasswordLogin(ctx context.Context, a Attempt, acc store.Account, app store.AppPassword) (Login, string, error) {
	name := fmt.Sprintf("app password %q", app.Name)
	switch {
	case acc.Disabled:
		return Login{}, "", &loginFailure{acc.ID, "account is disabled"}
	case a.Protocol == "web":
		return Login{}, "", &loginFailure{acc.ID, name + " is not for the web: use the account's password"}
	case !slices.Contains(app.Scopes, a.Protocol):
		return Login{}, "", &loginFailure{acc.ID, fmt.Sprintf("%s is not for %s (only %s)", name, a.Protocol, strings.Join(app.Scopes, ", "))}
	}
	if err := s.Store.TouchAppPassword(ctx, app.ID, s.now(), a.RemoteIP); err != nil {
		// The login stands; only its last-used record is lost.
		s.logger().Warn("recording the use of an app password", "account", acc.Address, "err", err)
	}
	return Login{Account: acc, AppPassword: app.ID}, name, nil
}

func (s *Service) mainPasswordLogin(ctx context.Context, a Attempt, acc store.Account) (Login, string, error) {
	if err := s.verifyPassword(ctx, s.hasher(), acc, a.Password); err != nil {
		return Login{}, "", err
	}
	if a.Protocol != "web" {
		on, err := s.TwoStepEnabled(ctx, acc.ID)
		if err != nil {
			return Login{}, "", fmt.Errorf("login %s: %w", acc.Address, err)
		}
		if on {
			return Login{}, "", &loginFailure{acc.ID, reasonTwoStep}
		}
	}
	return Login{Account: acc}, "password", nil
}

// logAttempt appends an attempt to the login log. For an attempt on no
// account the user name it gave goes into Detail, so the administrator
// sees what was tried.
func (s *Service) logAttempt(ctx context.Context, e store.LogEntry, username, detail string, ok bool) {
	e.Outcome, e.Detail = "fail", detail
	if ok {
		e.Outcome = "ok"
	}
	if e.AccountID == 0 {
		e.Detail = fmt.Sprintf("user %q: %s", truncate(username, maxLoggedUser), detail)
	}
	e.ReverseDNS = s.reverseDNS(ctx, e.RemoteIP)
	if _, err := s.Store.AppendLog(context.WithoutCancel(ctx), e); err != nil {
		s.logger().Warn("recording a login", "protocol", e.Protocol, "err", err)
	}
}

// loginAddress is the name the Guard counts attempts under: the normalised
// address, or what was typed, bounded, when it is not one.
func loginAddress(username string) string {
	if a, err := ParseAddress(username); err == nil {
		return a.String()
	}
	return strings.ToLower(truncate(username, maxLoggedUser))
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
