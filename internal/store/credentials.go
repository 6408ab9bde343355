package store

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// TOTP is an account's 2-step verification (TOTP, RFC 6238) state.
type TOTP struct {
	Secret  []byte // the shared key; never logged
	Enabled time.Time
	// LastStep is the last time step (Unix time / period) a code was
	// accepted for, 0 if none: codes of that step or earlier are refused.
	LastStep int64
}

// The protocols an app password may be scoped to.
const (
	ScopeIMAP = "imap"
	ScopePOP3 = "pop3"
	ScopeSMTP = "smtp" // submission
)

// AppPassword is a password for one client of an account, valid only for
// its scopes. The store keeps its SHA-256, never the password.
type AppPassword struct {
	ID        int64
	AccountID int64
	Name      string
	Scopes    []string // sorted, each of ScopeIMAP, ScopePOP3, ScopeSMTP
	Hash      []byte   // SHA-256 of the password
	Created   time.Time
	LastUsed  time.Time  // zero until first used
	LastIP    netip.Addr // without zone; zero until first used
}

// NewAppPassword is what CreateAppPassword needs.
type NewAppPassword struct {
	AccountID int64
	Name      string
	Scopes    []string
	Hash      []byte
	Created   time.Time // zero means now
}

// MaxAppPasswordName bounds an app password's name, in bytes.
const MaxAppPasswordName = 100

// Credentials keeps the second credentials of accounts: the TOTP secret of
// 2-step verification with its recovery codes, and app passwords. They go
// with their account. Hashes are opaque bytes to the store, compared
// exactly.
type Credentials interface {
	// EnableTOTP turns 2-step verification on for an account with secret,
	// and gives it the recovery codes whose hashes are given, in one
	// transaction. It fails with ErrNotFound for an unknown account,
	// ErrExists when 2-step verification is already on, and ErrInvalid
	// for an empty secret or hash.
	EnableTOTP(ctx context.Context, accountID int64, secret []byte, enabled time.Time, recoveryHashes [][]byte) error
	// GetTOTP returns the account's TOTP state, or ErrNotFound when
	// 2-step verification is off (or the account unknown).
	GetTOTP(ctx context.Context, accountID int64) (TOTP, error)
	// DisableTOTP turns 2-step verification off, removing the secret and
	// the recovery codes. It fails with ErrNotFound when it is off.
	DisableTOTP(ctx context.Context, accountID int64) error
	// UseTOTPStep records that a code of time step step was accepted, if
	// step is after LastStep, and reports whether it was: false means the
	// step (or a later one) was used already, and the code must be
	// refused. Two callers racing for one step cannot both get true. It
	// fails with ErrNotFound when 2-step verification is off.
	UseTOTPStep(ctx context.Context, accountID, step int64) (bool, error)
	// UseRecoveryCode deletes the account's recovery code with this hash
	// and reports whether there was one: each code works once.
	UseRecoveryCode(ctx context.Context, accountID int64, hash []byte) (bool, error)
	// CountRecoveryCodes returns how many unused recovery codes the
	// account has.
	CountRecoveryCodes(ctx context.Context, accountID int64) (int, error)

	// CreateAppPassword stores an app password. It fails with ErrNotFound
	// for an unknown account, ErrExists if the account has one of that
	// name, and ErrInvalid as CheckNewAppPassword says.
	CreateAppPassword(ctx context.Context, p NewAppPassword) (AppPassword, error)
	// ListAppPasswords returns the account's app passwords by ID.
	ListAppPasswords(ctx context.Context, accountID int64) ([]AppPassword, error)
	// FindAppPassword returns the account's app password with this hash,
	// or ErrNotFound.
	FindAppPassword(ctx context.Context, accountID int64, hash []byte) (AppPassword, error)
	// TouchAppPassword records that an app password was used at when
	// from ip. It fails with ErrNotFound for an unknown ID.
	TouchAppPassword(ctx context.Context, id int64, when time.Time, ip netip.Addr) error
	// DeleteAppPassword removes one of the account's app passwords; it
	// fails with ErrNotFound if the account has no such ID.
	DeleteAppPassword(ctx context.Context, accountID, id int64) error
}

// CheckNewAppPassword checks what both backends require of a new app
// password: a name of 1 to MaxAppPasswordName bytes of valid UTF-8
// without control characters, at least one scope, each known and given
// once, and a non-empty hash. It returns the scopes sorted.
func CheckNewAppPassword(p NewAppPassword) ([]string, error) {
	if p.Name == "" || len(p.Name) > MaxAppPasswordName || !printable(p.Name) {
		return nil, fmt.Errorf("app password name %q: %w", p.Name, ErrInvalid)
	}
	if len(p.Hash) == 0 {
		return nil, fmt.Errorf("app password %q: no hash: %w", p.Name, ErrInvalid)
	}
	scopes := slices.Sorted(slices.Values(p.Scopes))
	if len(scopes) == 0 {
		return nil, fmt.Errorf("app password %q: no scope: %w", p.Name, ErrInvalid)
	}
	for i, s := range scopes {
		if s != ScopeIMAP && s != ScopePOP3 && s != ScopeSMTP {
			return nil, fmt.Errorf("app password %q: unknown scope %q: %w", p.Name, s, ErrInvalid)
		}
		if i > 0 && scopes[i-1] == s {
			return nil, fmt.Errorf("app password %q: scope %q twice: %w", p.Name, s, ErrInvalid)
		}
	}
	return scopes, nil
}

// JoinScopes and SplitScopes are how both backends keep scopes in a
// column.
func JoinScopes(scopes []string) string { return strings.Join(scopes, ",") }

// SplitScopes is the inverse of JoinScopes.
func SplitScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) {
			return false
		}
	}
	return true
}
