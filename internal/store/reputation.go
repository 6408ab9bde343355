package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// RepKind is what a reputation key names.
type RepKind string

// The kinds of reputation keys. Names are given normalised by the
// caller: domains lower-case A-labels, networks masked prefixes in
// netip.Prefix's text form.
const (
	RepSender RepKind = "sender" // the DMARC-aligned sender domain ("example.org")
	RepNet    RepKind = "net"    // the sending network: IPv4 /24, IPv6 /64 ("192.0.2.0/24")
	RepLink   RepKind = "link"   // a domain that links in messages point to
)

// RepKinds lists the kinds a key may have.
var RepKinds = []RepKind{RepSender, RepNet, RepLink}

// RepKey names one thing that has a reputation.
type RepKey struct {
	Kind RepKind
	Name string
}

// RepCounts are a key's counts of ham, spam and phishing, kept apart by
// where they came from: the filter's own verdicts, and people's reports
// (moving a message into or out of Junk, reporting phishing). The counts
// decay (see ReputationHalfLife), so they are fractional.
type RepCounts struct {
	Ham, Spam, Phish             float64 // from verdicts
	UserHam, UserSpam, UserPhish float64 // from users
}

// Add returns c plus d, field by field.
func (c RepCounts) Add(d RepCounts) RepCounts {
	return RepCounts{c.Ham + d.Ham, c.Spam + d.Spam, c.Phish + d.Phish,
		c.UserHam + d.UserHam, c.UserSpam + d.UserSpam, c.UserPhish + d.UserPhish}
}

// Scale returns c with every count multiplied by f.
func (c RepCounts) Scale(f float64) RepCounts {
	return RepCounts{c.Ham * f, c.Spam * f, c.Phish * f, c.UserHam * f, c.UserSpam * f, c.UserPhish * f}
}

func (c RepCounts) fields() []float64 {
	return []float64{c.Ham, c.Spam, c.Phish, c.UserHam, c.UserSpam, c.UserPhish}
}

// RepDelta is a change to one key's counts. Negative counts take back an
// earlier lesson; no count goes below zero.
type RepDelta struct {
	Key RepKey
	RepCounts
}

// RepEntry is what the store knows of a key: its counts decayed to the
// time asked, and when it was first and last counted.
type RepEntry struct {
	Key RepKey
	RepCounts
	FirstSeen, LastSeen time.Time
}

// ReputationHalfLife is how fast reputation is forgotten: every count
// halves over this span without news, so a domain that reformed, or an
// address block that changed hands, recovers; PruneReputation removes
// keys not seen for longer still.
const ReputationHalfLife = 30 * 24 * time.Hour

// Bounds on the arguments of Reputation's methods; beyond them, ErrInvalid.
const (
	MaxRepNameLen = 255  // bytes of a key's name
	MaxRepBatch   = 1000 // keys in one call
)

// Reputation keeps counts of ham, spam and phishing per sender domain,
// network and link domain, shared by all accounts, with when each key
// was first and last seen (a link domain seen for the first time an hour
// ago is a phishing sign). Counts decay exponentially with
// ReputationHalfLife: a write first decays the stored counts to its time,
// then adds; a read decays them to the time asked. The decay is computed
// from the key's LastSeen, so writes given out of time order (several
// nodes) neither decay nor rejuvenate the counts.
type Reputation interface {
	// AddReputation applies the deltas at now in one transaction, each
	// an atomic upsert: a new key starts at zero with FirstSeen now.
	// LastSeen becomes the later of LastSeen and now. It fails with
	// ErrInvalid, changing nothing, when CheckRepDeltas does.
	AddReputation(ctx context.Context, now time.Time, deltas []RepDelta) error
	// Reputations returns the entries of the keys known, decayed to now,
	// in one query; unknown keys are left out of the map. ErrInvalid when
	// CheckRepKeys fails.
	Reputations(ctx context.Context, now time.Time, keys []RepKey) (map[RepKey]RepEntry, error)
	// PruneReputation removes the keys last seen before before, and
	// returns how many.
	PruneReputation(ctx context.Context, before time.Time) (int64, error)
}

// CheckRepKeys checks keys for Reputations and AddReputation: a known
// kind, a name of 1 to MaxRepNameLen bytes of UTF-8 without NUL, at most
// MaxRepBatch keys.
func CheckRepKeys(keys []RepKey) error {
	if len(keys) > MaxRepBatch {
		return fmt.Errorf("reputation: %d keys, more than %d: %w", len(keys), MaxRepBatch, ErrInvalid)
	}
	for _, k := range keys {
		switch k.Kind {
		case RepSender, RepNet, RepLink:
		default:
			return fmt.Errorf("reputation: unknown kind %q: %w", k.Kind, ErrInvalid)
		}
		if k.Name == "" || len(k.Name) > MaxRepNameLen || !utf8.ValidString(k.Name) || strings.ContainsRune(k.Name, 0) {
			return fmt.Errorf("reputation: bad name %q: %w", k.Name, ErrInvalid)
		}
	}
	return nil
}

// CheckRepDeltas checks the deltas of AddReputation: their keys as
// CheckRepKeys does, and finite counts.
func CheckRepDeltas(deltas []RepDelta) error {
	keys := make([]RepKey, len(deltas))
	for i, d := range deltas {
		keys[i] = d.Key
		for _, f := range d.fields() {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("reputation: count %v for %v: %w", f, d.Key, ErrInvalid)
			}
		}
	}
	return CheckRepKeys(keys)
}

// RepDecay is the factor counts last changed at last are multiplied by
// at now: 1 when now is not after last.
func RepDecay(last, now time.Time) float64 {
	d := now.Sub(last)
	if d <= 0 {
		return 1
	}
	return math.Exp2(-float64(d) / float64(ReputationHalfLife))
}

// ReputationHalfLifeMicros is ReputationHalfLife in microseconds, for the
// backends' SQL.
const ReputationHalfLifeMicros = float64(ReputationHalfLife / time.Microsecond)
