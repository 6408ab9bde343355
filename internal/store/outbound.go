package store

import (
	"context"
	"time"
)

// SendWindow counts what an account submitted for outside delivery over
// a span of time.
type SendWindow struct {
	Messages   int
	Recipients int
	// New counts the recipients that were not among the account's
	// correspondents when the message was recorded.
	New int
}

// SendCounts is what RecordSend returns: the account's hold, and when it
// is not held, its sending over windows ending at the time given,
// the message just recorded included. Windows start no earlier than the
// account's last release, so released mail does not trip the limits again.
type SendCounts struct {
	Hold   OutboundHold // Since is zero when the account is not held
	Minute SendWindow   // the last 60 seconds
	Hour   SendWindow   // the last hour
	Day    SendWindow   // the last 24 hours
	Week   SendWindow   // the last 7 days (SendHistory)
	// New is how many recipients of this message were not correspondents.
	New int
}

// OutboundHold says that an account's outgoing mail is held, since when
// and why.
type OutboundHold struct {
	AccountID int64
	Since     time.Time // zero: not held
	Reason    string
}

// SendHistory is how long RecordSend keeps each record: the longest
// window it counts.
const SendHistory = 7 * 24 * time.Hour

// Outbound keeps what outbound abuse control needs: a record of the
// messages each account submitted for outside delivery (kept for
// SendHistory), a bounded set of each account's correspondents (addresses
// it wrote to or received from, and when it last wrote to each), and
// which accounts are held. All of it
// goes with its account. Addresses are compared exactly: callers
// lower-case them.
type Outbound interface {
	// RecordSend records that the account submitted a message to
	// recipients at now, adds the recipients to its correspondents
	// (keeping the keep most recent), and returns its counts. When the
	// account is held it records nothing and returns only the hold. Calls
	// for one account are serialised (on PostgreSQL, across nodes), so
	// each sees the counts of those before it. It fails with ErrNotFound
	// for an unknown account.
	RecordSend(ctx context.Context, accountID int64, now time.Time, recipients []string, keep int) (SendCounts, error)
	// AddCorrespondent notes that the account received mail from address
	// at now, keeping the keep most recent correspondents.
	AddCorrespondent(ctx context.Context, accountID int64, address string, now time.Time, keep int) error
	// HoldOutbound holds the account's outgoing mail: it flags the
	// account and holds its queued items that are ready, in one
	// transaction, and reports whether the account was not held before
	// (a held account keeps its first Since and Reason).
	HoldOutbound(ctx context.Context, accountID int64, reason string, since time.Time) (bool, error)
	// ReleaseOutbound clears the account's flag, makes every held item it
	// submitted ready and due at now, and restarts its counts at now, in
	// one transaction; it returns how many items were released. It fails
	// with ErrNotFound when the account is not held.
	ReleaseOutbound(ctx context.Context, accountID int64, now time.Time) (int, error)
	// ListOutboundHolds returns the held accounts by account ID.
	ListOutboundHolds(ctx context.Context) ([]OutboundHold, error)
	// Correspondents returns those of addresses that are among the
	// account's correspondents, in one query, in no particular order; an
	// unknown account has none. At most MaxRepBatch addresses, or
	// ErrInvalid.
	Correspondents(ctx context.Context, accountID int64, addresses []string) ([]Correspondent, error)
}

// Correspondent is an address among an account's correspondents.
type Correspondent struct {
	Address  string
	LastSeen time.Time // the last mail either way
	// LastWrote is when the account last wrote to the address
	// (RecordSend); zero when it only received mail from it, or wrote
	// before Sealpost kept this. The filter trusts those written to.
	LastWrote time.Time
}
