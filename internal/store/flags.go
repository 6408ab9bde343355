package store

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
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

// CheckQueueItem fails with ErrInvalid for an item Enqueue must refuse: no
// recipients, a recipient with an empty address, a BodyType, Ret or Notify
// outside its set, an ORCPT not of the form "type;address", or a negative
// Submitter.
func CheckQueueItem(item NewQueueItem) error {
	if len(item.Recipients) == 0 {
		return fmt.Errorf("queue item without recipients: %w", ErrInvalid)
	}
	switch item.BodyType {
	case "", BodyType7Bit, BodyType8BitMIME, BodyTypeBinaryMIME:
	default:
		return fmt.Errorf("body type %q: %w", item.BodyType, ErrInvalid)
	}
	switch item.Ret {
	case "", RetFull, RetHeaders:
	default:
		return fmt.Errorf("RET %q: %w", item.Ret, ErrInvalid)
	}
	if item.Submitter < 0 {
		return fmt.Errorf("submitter %d: %w", item.Submitter, ErrInvalid)
	}
	for _, r := range item.Recipients {
		if r.Address == "" {
			return fmt.Errorf("queue recipient without address: %w", ErrInvalid)
		}
		if err := checkNotify(r.Notify); err != nil {
			return fmt.Errorf("recipient %q: %w", r.Address, err)
		}
		if err := checkORCPT(r.ORCPT); err != nil {
			return fmt.Errorf("recipient %q: %w", r.Address, err)
		}
	}
	return nil
}

// checkNotify accepts "", NEVER alone, or SUCCESS, FAILURE and DELAY each
// at most once (RFC 3461 section 4.1).
func checkNotify(notify string) error {
	if notify == "" || notify == NotifyNever {
		return nil
	}
	var seen []string
	for kw := range strings.SplitSeq(notify, ",") {
		switch kw {
		case NotifySuccess, NotifyFailure, NotifyDelay:
			if !slices.Contains(seen, kw) {
				seen = append(seen, kw)
				continue
			}
		}
		return fmt.Errorf("NOTIFY %q: %w", notify, ErrInvalid)
	}
	return nil
}

// checkORCPT accepts "" or "type;address" with both parts present (RFC
// 3461 section 4.2).
func checkORCPT(orcpt string) error {
	if orcpt == "" {
		return nil
	}
	typ, addr, ok := strings.Cut(orcpt, ";")
	if !ok || typ == "" || addr == "" {
		return fmt.Errorf("ORCPT %q: %w", orcpt, ErrInvalid)
	}
	return nil
}

// QueueRecipients turns the recipients of a new item into their queued
// form, none of them done yet.
func QueueRecipients(item NewQueueItem) []QueueRecipient {
	out := make([]QueueRecipient, len(item.Recipients))
	for i, r := range item.Recipients {
		out[i] = QueueRecipient{Address: r.Address, Notify: r.Notify, ORCPT: r.ORCPT}
	}
	return out
}

// UpdateRecipients applies an attempt's outcome, update, to the recipients
// stored for an item and returns the new list, in the stored order. Empty
// update keeps stored as it is. Otherwise update must name every stored
// recipient once, matched by address in any order, and no other, or it
// fails with ErrInvalid: a worker that lost a recipient must not have it
// silently dropped. Done, Failed and LastError come from update; Notify
// and ORCPT stay as stored, since they were fixed at Enqueue.
func UpdateRecipients(stored, update []QueueRecipient) ([]QueueRecipient, error) {
	if len(update) == 0 {
		return stored, nil
	}
	if len(update) != len(stored) {
		return nil, fmt.Errorf("%d recipients in update, %d queued: %w", len(update), len(stored), ErrInvalid)
	}
	used := make([]bool, len(update))
	out := make([]QueueRecipient, len(stored))
	for i, s := range stored {
		j := unusedMatch(update, used, s.Address)
		if j < 0 {
			return nil, fmt.Errorf("queued recipient %q missing from update: %w", s.Address, ErrInvalid)
		}
		used[j] = true
		out[i] = s
		out[i].Done, out[i].Failed, out[i].LastError = update[j].Done, update[j].Failed, update[j].LastError
	}
	return out, nil
}

// unusedMatch returns the index of the first recipient in rs with address
// that is not yet used, or -1.
func unusedMatch(rs []QueueRecipient, used []bool, address string) int {
	for i, r := range rs {
		if !used[i] && r.Address == address {
			return i
		}
	}
	return -1
}

// CheckValue checks the arguments of a KV method (value nil for those that
// take none): namespace and key non-empty valid UTF-8 without NUL and
// within MaxNamespaceLen and MaxKeyLen bytes, value within MaxValueLen. It
// returns an error wrapping ErrInvalid, or nil. Both backends check with it,
// so that SQLite, which would store anything, refuses what PostgreSQL's
// text columns cannot hold.
func CheckValue(namespace, key string, value []byte) error {
	for _, f := range []struct {
		what, s string
		max     int
	}{{"namespace", namespace, MaxNamespaceLen}, {"key", key, MaxKeyLen}} {
		switch {
		case f.s == "":
			return fmt.Errorf("%w: empty %s", ErrInvalid, f.what)
		case len(f.s) > f.max:
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, f.what, f.max)
		case !utf8.ValidString(f.s) || strings.ContainsRune(f.s, 0):
			return fmt.Errorf("%w: %s is not UTF-8 text without NUL", ErrInvalid, f.what)
		}
	}
	if len(value) > MaxValueLen {
		return fmt.Errorf("%w: value of %d bytes, more than %d", ErrInvalid, len(value), MaxValueLen)
	}
	return nil
}
