package store

import (
	"context"
	"time"
)

// ForwardState is the state of a forwarding rule.
type ForwardState string

// The states of a forwarding rule. A pending rule forwards nothing: it
// waits for its target to confirm. A disabled rule is kept but forwards
// nothing.
const (
	ForwardPending  ForwardState = "pending"
	ForwardActive   ForwardState = "active"
	ForwardDisabled ForwardState = "disabled"
)

// MaxForwardRules bounds the forwarding rules of one account.
const MaxForwardRules = 20

// ForwardRule is one forwarding rule of an account: mail to the account
// goes to Target too (or only, without KeepCopy) while it is active.
type ForwardRule struct {
	ID        int64
	AccountID int64
	Target    string
	KeepCopy  bool
	State     ForwardState
	// TokenHash is the SHA-256 of the one-time confirmation token of a
	// pending rule, nil once confirmed; the token itself is never kept.
	TokenHash    []byte
	TokenExpires time.Time
	Created      time.Time
	Confirmed    time.Time // when it became active; zero while pending
	// Reminders counts the reminders of the active rule sent to the owner;
	// LastReminder is when the last one was sent.
	Reminders    int
	LastReminder time.Time
}

// Forwarding keeps each account's forwarding rules. They go with their
// account; a target is at most once per account. The store does not parse
// the target (package account does); it only refuses one longer than
// MaxRecoveryAddress or not printable, and a state it does not know. The
// audit trail of the changes is in the event log (Kind "forwarding").
type Forwarding interface {
	// AddForwardRule stores a new rule (ID, Reminders and LastReminder are
	// ignored) and returns it with its ID. It fails with ErrNotFound for an
	// unknown account, ErrExists when the account has a rule for the
	// target, ErrInvalid for a rule it cannot keep and ErrQuota when the
	// account has MaxForwardRules already.
	AddForwardRule(ctx context.Context, r ForwardRule) (ForwardRule, error)
	// ListForwardRules returns the account's rules, oldest first.
	ListForwardRules(ctx context.Context, accountID int64) ([]ForwardRule, error)
	// ActiveForwardRules returns the active rules of every account, for
	// the reminders.
	ActiveForwardRules(ctx context.Context) ([]ForwardRule, error)
	// ConfirmForwardRule makes the pending rule whose TokenHash is
	// tokenHash active as of now, clearing its token, and returns it. It
	// fails with ErrNotFound when no pending rule has that hash or its
	// token expired at or before now: a token works once.
	ConfirmForwardRule(ctx context.Context, tokenHash []byte, now time.Time) (ForwardRule, error)
	// DeleteForwardRule removes the account's rule id and returns it, or
	// fails with ErrNotFound.
	DeleteForwardRule(ctx context.Context, accountID, id int64) (ForwardRule, error)
	// MarkForwardReminded records reminder number n (1, 2, ...) of the
	// active rule id as sent at at. It fails with ErrNotFound unless the
	// rule is active and has had exactly n-1 reminders, so that each is
	// sent at most once even by two processes at a time.
	MarkForwardReminded(ctx context.Context, id int64, n int, at time.Time) error
}

// CheckForwardRule checks what both backends require of a new rule.
func CheckForwardRule(r ForwardRule) error {
	if r.Target == "" || len(r.Target) > MaxRecoveryAddress || !printable(r.Target) {
		return ErrInvalid
	}
	switch r.State {
	case ForwardPending, ForwardActive, ForwardDisabled:
	default:
		return ErrInvalid
	}
	if r.State == ForwardPending && len(r.TokenHash) == 0 {
		return ErrInvalid
	}
	return nil
}
