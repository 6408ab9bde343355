package store

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// NormFlags returns flags sorted, without duplicates and empty strings;
// no flags is nil. Flags compare bytewise, so keywords differing in case are
// kept apart, as the backends store them.
func NormFlags(flags []string) []string {
	out := slices.DeleteFunc(slices.Clone(flags), func(f string) bool { return f == "" })
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Valid reports whether op is one of FlagsAdd, FlagsRemove, FlagsReplace.
func (op FlagOp) Valid() bool {
	return op == FlagsAdd || op == FlagsRemove || op == FlagsReplace
}

// ApplyFlags returns the flag set that op with flags leaves on a message
// whose flags are cur, normalised as by NormFlags. It fails with ErrInvalid
// for an unknown op.
func ApplyFlags(cur []string, op FlagOp, flags []string) ([]string, error) {
	switch op {
	case FlagsAdd:
		return NormFlags(append(slices.Clone(cur), flags...)), nil
	case FlagsRemove:
		return NormFlags(slices.DeleteFunc(slices.Clone(cur), func(f string) bool { return slices.Contains(flags, f) })), nil
	case FlagsReplace:
		return NormFlags(flags), nil
	}
	return nil, fmt.Errorf("flag operation %d: %w", op, ErrInvalid)
}

// SortQueue orders items by NextAttempt, then ID: the order ClaimDue
// chooses them in.
func SortQueue(items []QueueItem) {
	slices.SortFunc(items, func(a, b QueueItem) int {
		if c := a.NextAttempt.Compare(b.NextAttempt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// DomainOf returns the domain part of an address, or of "@domain" (a
// catch-all alias). It fails with ErrInvalid if there is no '@' or nothing
// after it.
func DomainOf(address string) (string, error) {
	i := strings.LastIndexByte(address, '@')
	if i < 0 || i == len(address)-1 {
		return "", fmt.Errorf("address %q has no domain: %w", address, ErrInvalid)
	}
	return address[i+1:], nil
}

// CheckQuota fails with ErrInvalid for a negative quota.
func CheckQuota(quotaBytes int64) error {
	if quotaBytes < 0 {
		return fmt.Errorf("quota %d: %w", quotaBytes, ErrInvalid)
	}
	return nil
}
