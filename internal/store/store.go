// Package store defines Sealpost's storage interface: domains, accounts,
// aliases, mailboxes, messages with their flags, UIDs and MODSEQs, the
// outbound queue and the login/event log.
//
// Two implementations live beside it: store/sqlite (the embedded default,
// SQLite metadata plus message bodies as files) and store/postgres (the
// scale-out backend, everything in PostgreSQL). The shared test suite in
// store/storetest runs against both, so they cannot drift apart.
//
// The data model is laid out for IMAP CONDSTORE and QRESYNC (RFC 7162) from
// the start:
//   - every mailbox has a UIDVALIDITY that never changes for the life of the
//     mailbox, a UIDNEXT, and a HIGHESTMODSEQ;
//   - every change to a message (append, flag change, expunge) takes the
//     mailbox's next MODSEQ, strictly increasing per mailbox;
//   - expunged messages leave a tombstone (UID, MODSEQ) so that QRESYNC can
//     report VANISHED UIDs since a given MODSEQ;
//   - every message row has a global, never-reused ID (OBJECTID EMAILID,
//     RFC 8474) and shares its body blob with the other copies delivered in
//     the same transaction.
//
// Message bodies are written durably before the metadata that points to them
// is committed, so a successful Deliver means the message survives a crash.
//
// Names are stored and compared exactly as given. Domains, addresses and
// mailbox names reach the store already normalised (package account
// lower-cases addresses and turns domains into A-labels); the store neither
// lower-cases nor trims them, so "A.test" and "a.test" are two names. Lists
// ordered by name are in bytewise order, whatever the database's locale.
//
// KV keeps small expiring values by namespace and key, for caches that must
// outlive a restart: MTA-STS policies (RFC 8461 section 5.1), and which
// DMARC and TLS reports were sent.
//
// Reports counts the rows of the DMARC aggregate reports (RFC 7489 section
// 7.2) and TLS reports (RFC 8460) Sealpost sends, per UTC day, and keeps
// the reports it receives about its domains.
//
// Outbound keeps what outbound abuse control needs: the messages each
// account submitted recently, its correspondents, and which accounts have
// their outgoing mail held.
//
// Reputation counts ham, spam and phishing per sender domain, network
// and link domain, decaying with time, for the spam filter.
//
// Credentials keeps what 2-step verification needs (the TOTP secret of
// RFC 6238, the last time step used, hashed recovery codes) and app
// passwords (hashed, scoped, with their last use); they go with their
// account.
//
// Recovery keeps each account's recovery address, where its security
// alerts go too; it goes with its account.
//
// Forwarding keeps each account's forwarding rules (target, keep-a-copy,
// pending/active/disabled, the hash of the confirmation token, the
// reminders sent); they go with their account.
//
// Queued messages keep their delivery parameters: REQUIRETLS (RFC 8689),
// SMTPUTF8 (RFC 6531), BODY (RFC 6152, RFC 3030) and the DSN parameters
// ENVID, RET, NOTIFY and ORCPT (RFC 3461). The store checks that keywords
// are in their sets; it neither parses addresses nor decodes xtext.
//
// The helpers in flags.go (NormFlags, ApplyFlags, SortQueue, DomainOf,
// CheckQueueItem, UpdateRecipients, CheckValue) hold the logic both backends share, so
// that they compute it one way.
package store

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"time"
)

// Sentinel errors. Callers decide on these with errors.Is.
var (
	// ErrNotFound is returned when the named object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists is returned when creating an object whose unique name is taken.
	ErrExists = errors.New("already exists")
	// ErrNotEmpty is returned when deleting an object that still has dependants
	// (a domain with accounts, a mailbox with children).
	ErrNotEmpty = errors.New("not empty")
	// ErrQuota is returned when a delivery would exceed an account's quota.
	ErrQuota = errors.New("quota exceeded")
	// ErrInvalid is returned for an argument no store could accept: a
	// negative quota, an unknown FlagOp, an address without a domain, a
	// mailbox renamed below itself.
	ErrInvalid = errors.New("invalid argument")
)

// Store is the whole storage interface. Implementations are safe for
// concurrent use by many goroutines, and (for PostgreSQL) by many processes.
type Store interface {
	Domains
	DKIMKeys
	Accounts
	Aliases
	Mailboxes
	Messages
	TextIndex
	Queue
	Log
	KV
	Reports
	Credentials
	Recovery
	Outbound
	NetworkAllowLists
	Forwarding
	Reputation
	FilterModels

	// Ping checks the backend is reachable, for /healthz.
	Ping(ctx context.Context) error
	// Close releases all resources. Committed data is durable before Close
	// returns.
	Close() error
}

// ChangeFeed is implemented by stores that several processes write, such as
// PostgreSQL shared by several nodes: it reports the mailbox changes any of
// them commits, so that IMAP sessions on every node learn of them.
type ChangeFeed interface {
	// WatchChanges calls fn for every committed change to a mailbox or its
	// messages, from whichever process, until ctx ends; it then returns
	// ctx's error. fn must not block. The feed may repeat a change; after
	// its connection to the backend is lost and restored, it calls fn with
	// the zero MailboxChange, meaning that anything may have changed.
	WatchChanges(ctx context.Context, fn func(MailboxChange)) error
}

// MailboxChange names a mailbox whose messages, name or subscription
// changed, or which was created or deleted.
type MailboxChange struct {
	MailboxID int64
	AccountID int64
}

// Domain is a mail domain Sealpost hosts. Name is the ASCII (A-label) form,
// lower case, as the caller gave it: the store does not normalise it.
type Domain struct {
	ID      int64
	Name    string
	Created time.Time
}

// DKIMKey is one of a domain's DKIM signing keys (RFC 6376), published
// at Selector._domainkey.<domain>.
type DKIMKey struct {
	Selector  string
	Algorithm string // "ed25519" or "rsa"
	// PrivateKey is the key in PKCS #8 DER form.
	PrivateKey []byte
	State      DKIMKeyState
	Created    time.Time
	// RetireAt, for a retiring key, is when it stops being published.
	RetireAt time.Time
	// PublishedSince is when DNS was first seen publishing the key's
	// record while it was pending, zero if it was not (or not since it
	// last disappeared). Kept after activation.
	PublishedSince time.Time
}

// DKIMKeyState is where a key is in its rotation: a new key is published
// before it signs, and an old one stays published a while after it stops,
// so that mail signed with it in transit still verifies.
type DKIMKeyState string

// The states of a DKIM key.
const (
	DKIMPending  DKIMKeyState = "pending"  // to be published; signs nothing yet
	DKIMActive   DKIMKeyState = "active"   // signs outgoing mail
	DKIMRetiring DKIMKeyState = "retiring" // published until RetireAt; signs nothing
)

// DKIMKeys keeps the domains' DKIM keys. Keys leave with their domain.
type DKIMKeys interface {
	// AddDKIMKeys adds keys to a domain in one transaction. It fails with
	// ErrNotFound for an unknown domain, ErrExists if a selector is taken
	// and ErrInvalid for a key without selector, algorithm or key, or in
	// another state than pending or active.
	AddDKIMKeys(ctx context.Context, domain string, keys []DKIMKey) error
	// ListDKIMKeys returns a domain's keys by creation, then selector.
	ListDKIMKeys(ctx context.Context, domain string) ([]DKIMKey, error)
	// ActivateDKIMKeys makes the domain's pending keys active and its
	// active keys retiring until retireAt, in one transaction. It fails
	// with ErrNotFound when the domain has no pending key.
	ActivateDKIMKeys(ctx context.Context, domain string, retireAt time.Time) error
	// DeleteDKIMKeys removes the domain's retiring keys whose RetireAt is
	// before now, and returns how many.
	DeleteDKIMKeys(ctx context.Context, domain string, now time.Time) (int, error)
	// MarkDKIMKeyPublished sets the PublishedSince of the domain's pending
	// key selector; the zero time clears it. It fails with ErrNotFound
	// when the domain has no such pending key.
	MarkDKIMKeyPublished(ctx context.Context, domain, selector string, since time.Time) error
	// ActivatePublishedDKIMKeys is ActivateDKIMKeys for keys seen
	// published long enough: in the same transaction it checks that every
	// pending key has a PublishedSince at or before publishedBy, and fails
	// with ErrNotFound, changing nothing, when one has not or none is
	// pending. So a rotation started after the caller looked is never
	// activated unseen.
	ActivatePublishedDKIMKeys(ctx context.Context, domain string, publishedBy, retireAt time.Time) error
}

// Domains manages hosted domains.
type Domains interface {
	CreateDomain(ctx context.Context, name string) (Domain, error)
	GetDomain(ctx context.Context, name string) (Domain, error)
	ListDomains(ctx context.Context) ([]Domain, error)
	// DeleteDomain fails with ErrNotEmpty while accounts or aliases remain.
	DeleteDomain(ctx context.Context, name string) error
}

// Account is a mailbox owner. Address is the normalised address
// (lower-case local part, A-label domain), as the caller gave it: the store
// does not normalise it.
type Account struct {
	ID           int64
	DomainID     int64
	Address      string
	PasswordHash string // PHC string, argon2id; never logged
	QuotaBytes   int64  // 0 means unlimited
	UsedBytes    int64  // sum of the sizes of the account's messages
	Disabled     bool
	Created      time.Time
}

// NewAccount is what CreateAccount needs.
type NewAccount struct {
	Address      string
	PasswordHash string
	QuotaBytes   int64 // 0 means unlimited; negative is ErrInvalid
	// Mailboxes are created with the account in the same transaction
	// (INBOX and the special-use folders).
	Mailboxes []NewMailbox
}

// Accounts manages accounts.
type Accounts interface {
	// CreateAccount fails with ErrNotFound if the domain is not hosted,
	// ErrExists if the address is taken by an account or an alias, and
	// ErrInvalid if the address has no domain or the quota is negative.
	CreateAccount(ctx context.Context, a NewAccount) (Account, error)
	GetAccount(ctx context.Context, address string) (Account, error)
	GetAccountByID(ctx context.Context, id int64) (Account, error)
	// ListAccounts lists the accounts of one domain, or all if domain is "".
	ListAccounts(ctx context.Context, domain string) ([]Account, error)
	SetPasswordHash(ctx context.Context, address, hash string) error
	// SetQuota sets the quota; 0 means unlimited, negative is ErrInvalid.
	// Lowering it below the usage removes nothing: further deliveries fail.
	SetQuota(ctx context.Context, address string, quotaBytes int64) error
	SetDisabled(ctx context.Context, address string, disabled bool) error
	// DeleteAccount removes the account with its mailboxes and messages.
	DeleteAccount(ctx context.Context, address string) error
}

// Alias maps an address to one or more targets. A catch-all alias has the
// address "@domain". Targets may be local or outside addresses.
type Alias struct {
	ID      int64
	Address string
	Targets []string
	Created time.Time
}

// Aliases manages aliases.
type Aliases interface {
	// CreateAlias fails with ErrNotFound if the domain is not hosted,
	// ErrExists if the address is taken by an account or an alias, and
	// ErrInvalid if the address has no domain.
	CreateAlias(ctx context.Context, address string, targets []string) (Alias, error)
	GetAlias(ctx context.Context, address string) (Alias, error)
	ListAliases(ctx context.Context, domain string) ([]Alias, error)
	DeleteAlias(ctx context.Context, address string) error
}

// Mailbox is an IMAP mailbox (folder) of an account.
type Mailbox struct {
	ID            int64
	AccountID     int64
	Name          string // full hierarchical name, "/" separated, UTF-8
	SpecialUse    string // "" or one of \Sent \Drafts \Junk \Trash \Archive ...
	Subscribed    bool
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Messages      int   // number of messages (not expunged)
	Size          int64 // sum of the message sizes, for STATUS=SIZE
	Created       time.Time
}

// NewMailbox describes a mailbox to create.
type NewMailbox struct {
	Name       string
	SpecialUse string
	Subscribed bool
}

// Mailboxes manages mailboxes.
type Mailboxes interface {
	CreateMailbox(ctx context.Context, accountID int64, m NewMailbox) (Mailbox, error)
	GetMailbox(ctx context.Context, accountID int64, name string) (Mailbox, error)
	GetMailboxByID(ctx context.Context, id int64) (Mailbox, error)
	ListMailboxes(ctx context.Context, accountID int64) ([]Mailbox, error)
	// RenameMailbox renames the mailbox and the mailboxes below it, keeping
	// their UIDVALIDITY: the messages are the same. It fails with ErrExists
	// if newName is taken and ErrInvalid if newName is below the mailbox
	// itself ("A" to "A/B").
	RenameMailbox(ctx context.Context, id int64, newName string) error
	SetSubscribed(ctx context.Context, id int64, subscribed bool) error
	// DeleteMailbox removes the mailbox and its messages. A mailbox created
	// later with the same name gets a new, greater UIDVALIDITY. A
	// subscribed mailbox leaves its name subscribed (RFC 9051 §6.3.9),
	// and a mailbox created later under that name is subscribed.
	DeleteMailbox(ctx context.Context, id int64) error
	// ClaimRecent raises the mailbox's recent mark to upTo if it is lower
	// and returns the mark it had. Messages with greater UIDs, up to upTo,
	// are \Recent (RFC 3501 §2.3.2) to the one caller that claimed them;
	// upTo 0 only reads the mark.
	ClaimRecent(ctx context.Context, id int64, upTo uint32) (uint32, error)
	// SubscribedNames returns, sorted, the names an account is subscribed
	// to that are not mailboxes.
	SubscribedNames(ctx context.Context, accountID int64) ([]string, error)
	// SetNameSubscribed subscribes or unsubscribes a name that is not a
	// mailbox; a mailbox created under it later takes the subscription.
	SetNameSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error
}

// Message is one message in one mailbox.
type Message struct {
	ID           int64 // global, never reused (OBJECTID EMAILID)
	MailboxID    int64
	UID          uint32
	ModSeq       uint64
	Flags        []string // sorted; system flags with their backslash
	InternalDate time.Time
	SaveDate     time.Time // when it was put in this mailbox (RFC 8514)
	Size         int64
	BlobID       string // shared by copies of the same body
}

// Summarized is a message with its body's stored summary (package
// mimeinfo's encoding, opaque to the store), nil when it has none.
type Summarized struct {
	Message
	Summary []byte
}

// Target is one mailbox a delivery puts a message into.
type Target struct {
	MailboxID    int64
	Flags        []string
	InternalDate time.Time // zero means now
}

// FlagOp says how UpdateFlags combines the given flags with the current ones.
// UpdateFlags fails with ErrInvalid for any other value.
type FlagOp int

// The flag operations of IMAP STORE (RFC 9051 section 6.4.6).
const (
	FlagsAdd     FlagOp = iota // +FLAGS
	FlagsRemove                // -FLAGS
	FlagsReplace               // FLAGS
)

// FlagUpdate changes the flags of the messages with the given UIDs.
type FlagUpdate struct {
	MailboxID int64
	UIDs      []uint32
	Op        FlagOp
	Flags     []string
	// UnchangedSince, if non-zero, skips messages whose MODSEQ is greater
	// (CONDSTORE STORE UNCHANGEDSINCE, RFC 7162 section 3.1.3); their UIDs
	// are returned as Modified.
	UnchangedSince uint64
}

// FlagResult is the outcome of UpdateFlags.
type FlagResult struct {
	Updated  []Message // messages whose flags changed, with their new MODSEQ
	Modified []uint32  // UIDs skipped because of UnchangedSince
}

// Expunged is the tombstone an expunge leaves, for QRESYNC VANISHED.
type Expunged struct {
	UID    uint32
	ModSeq uint64
}

// UIDRange is the UIDs First to Last, both included.
type UIDRange struct{ First, Last uint32 }

// FlagCounts is what CountFlags finds.
type FlagCounts struct {
	Unseen      int    // messages without \Seen
	FirstUnseen uint32 // UID of the first of them; 0 if none
	Deleted     int    // messages with \Deleted
}

// Messages stores and retrieves messages.
type Messages interface {
	// Deliver stores body once and puts it into every target mailbox in one
	// transaction: either every target has the message or none has. When it
	// returns nil, the message is durable. The returned messages are in the
	// order of targets. Quota is checked per account; ErrQuota fails the
	// whole delivery. The body's summary (package mimeinfo) is computed as
	// it is read and stored with it.
	Deliver(ctx context.Context, body io.Reader, targets []Target) ([]Message, error)
	// ListSummarized is ListMessages with each message's body summary,
	// read in the same query: FETCH reads a mailbox in batches with it.
	ListSummarized(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]Summarized, error)
	// Summaries returns the stored summaries of bodies by blob ID, in
	// package mimeinfo's encoding, as opaque bytes; bodies without one, or
	// unknown, are left out. It reads them all in one query, so FETCH
	// calls it once per batch of messages.
	Summaries(ctx context.Context, blobIDs []string) (map[string][]byte, error)
	// PutSummaries stores summaries of bodies by blob ID, replacing those
	// they had: for bodies stored before summaries existed, or summarised
	// by an older encoding. Unknown blobs (a body removed meanwhile) are
	// skipped. All go in one transaction.
	PutSummaries(ctx context.Context, summaries map[string][]byte) error
	// OpenBody returns the body of a message by blob ID.
	OpenBody(ctx context.Context, blobID string) (io.ReadCloser, error)
	GetMessage(ctx context.Context, mailboxID int64, uid uint32) (Message, error)
	// ListMessages returns the messages of a mailbox with UID >= fromUID, in
	// UID order, at most limit (0: no limit).
	ListMessages(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]Message, error)
	// UIDRanges returns the UIDs of a mailbox's messages, ascending, as
	// runs of consecutive UIDs: what SELECT needs to number the messages,
	// without reading them. An empty mailbox has none.
	UIDRanges(ctx context.Context, mailboxID int64) ([]UIDRange, error)
	// CountFlags counts a mailbox's messages without \Seen and with
	// \Deleted, and finds the first without \Seen (SELECT, STATUS).
	CountFlags(ctx context.Context, mailboxID int64) (FlagCounts, error)
	// ChangedSince returns the messages whose MODSEQ is greater than modseq
	// (CONDSTORE FETCH CHANGEDSINCE).
	ChangedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]Message, error)
	UpdateFlags(ctx context.Context, u FlagUpdate) (FlagResult, error)
	// Copy copies messages to another mailbox, sharing the bodies. It returns
	// the new messages in the order of uids (UIDPLUS COPYUID).
	Copy(ctx context.Context, fromMailbox int64, uids []uint32, toMailbox int64) ([]Message, error)
	// Move is Copy and Expunge in one transaction (RFC 6851). A move within
	// one account never fails on quota, even if the account is over it; a
	// move to another account's mailbox is charged to that account and
	// fails with ErrQuota like Copy.
	Move(ctx context.Context, fromMailbox int64, uids []uint32, toMailbox int64) ([]Message, error)
	// Expunge removes messages, leaves tombstones and returns them.
	Expunge(ctx context.Context, mailboxID int64, uids []uint32) ([]Expunged, error)
	// ExpungedSince returns tombstones with MODSEQ greater than modseq.
	ExpungedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]Expunged, error)
}

// TextDoc is the searchable text of one body, as package mailtext
// extracts it, folded by the caller (mailtext.Fold): the store matches
// bytes and folds nothing. The text is kept by body, so the copies of a
// message share it and a COPY or MOVE costs the index nothing; it goes
// when the last message using the body goes.
type TextDoc struct {
	BlobID                           string
	Header                           string // every header field, "name: value" lines
	Subject, From, To, Cc, Bcc, Body string
}

// TextField says where SearchText looks for its string.
type TextField int

// The places SearchText looks in, for the IMAP search keys (RFC 9051
// §6.4.4): TEXT, BODY, HEADER and the named fields.
const (
	TextAll     TextField = iota // header and body
	TextBody                     // the body alone
	TextHeader                   // any header field
	TextSubject                  // the first Subject field
	TextFrom
	TextTo
	TextCc
	TextBcc
)

// TextHits is what SearchText found.
type TextHits struct {
	// UIDs are the messages whose indexed text holds the string, in UID
	// order.
	UIDs []uint32
	// Unindexed are the mailbox's messages whose body has no text in the
	// index yet, in UID order: the caller looks at them itself.
	Unindexed []Message
}

// TextIndex keeps the decoded text of message bodies for SEARCH. An
// indexer outside the store fills it: it takes the backlog after its
// cursor, extracts the text and stores it with IndexText; SearchText
// answers from the index and names the messages it could not answer for.
type TextIndex interface {
	// TextBacklog returns up to limit messages with ID greater than after,
	// in ID order, whose bodies have no text indexed; one message per
	// body.
	TextBacklog(ctx context.Context, after int64, limit int) ([]Message, error)
	// IndexText stores the text of bodies, skipping those already indexed
	// and those no message uses any more (expunged meanwhile), and moves
	// the indexer's cursor forward to cursor (never back); 0 leaves it.
	// By moving it the caller vouches that the body of every message with
	// an ID up to cursor has its text stored or is gone: a store may take
	// only messages after the cursor for unindexed.
	IndexText(ctx context.Context, docs []TextDoc, cursor int64) error
	// TextCursor returns the cursor IndexText keeps; 0 at first.
	TextCursor(ctx context.Context) (int64, error)
	// SearchText returns the messages of a mailbox whose indexed text holds
	// needle (bytewise; the empty string is in every text) in field, and
	// those whose text is not indexed. The two lists come from one
	// snapshot. It fails with ErrInvalid for an unknown field.
	SearchText(ctx context.Context, mailboxID int64, field TextField, needle string) (TextHits, error)
	// CompactText does one bounded step of tidying the index after
	// deletions have left enough dead entries in it to slow searches down,
	// and reports whether another step is due. A store whose index tidies
	// itself returns false.
	CompactText(ctx context.Context) (more bool, err error)
}

// QueueState is the state of a queued message.
type QueueState string

const (
	QueueReady    QueueState = "ready"    // waiting for its next attempt
	QueueHeld     QueueState = "held"     // kept until released by an administrator
	QueueDelivery QueueState = "delivery" // claimed by a delivery worker
)

// QueueRecipient is one envelope recipient of a queued message and how its
// delivery stands.
type QueueRecipient struct {
	Address   string
	Done      bool   // delivered or failed for good
	Failed    bool   // with Done: failed permanently
	LastError string // the last reply or error, for the log and DSNs
	// Notify and ORCPT are the recipient's DSN parameters, fixed at
	// Enqueue: FinishAttempt keeps them whatever its update says.
	Notify string // NOTIFY (RFC 3461 section 4.1), as in NewQueueRecipient
	ORCPT  string // ORCPT (RFC 3461 section 4.2), as in NewQueueRecipient
}

// NewQueueItem is what Enqueue needs.
type NewQueueItem struct {
	From       string // envelope sender; "" for bounces (a DSN is never sent about them)
	Recipients []NewQueueRecipient
	RequireTLS bool   // REQUIRETLS (RFC 8689)
	SMTPUTF8   bool   // the message needs SMTPUTF8 (RFC 6531) from the next hop
	BodyType   string // "", "7BIT", "8BITMIME" or "BINARYMIME" (RFC 6152, RFC 3030)
	EnvID      string // ENVID (RFC 3461 section 4.4), decoded from xtext
	Ret        string // "", "FULL" or "HDRS" (RFC 3461 section 4.3)
	Submitter  int64  // account that submitted it; 0 for mail we generate or relay
	// Held stores the item held (QueueHeld) rather than ready, so that no
	// worker can claim it before an administrator releases it.
	Held bool
}

// NewQueueRecipient is one recipient of a NewQueueItem. Keywords are upper
// case, as the constants below spell them; the store does not fold case.
type NewQueueRecipient struct {
	Address string
	// Notify is NOTIFY (RFC 3461 section 4.1): "" (not given: the
	// default), "NEVER", or a comma-separated list of SUCCESS, FAILURE
	// and DELAY, each at most once.
	Notify string
	// ORCPT is ORCPT (RFC 3461 section 4.2) as "type;address" with the
	// address decoded from xtext, or "" if not given.
	ORCPT string
}

// The keywords NewQueueItem and NewQueueRecipient accept.
const (
	BodyType7Bit       = "7BIT"       // RFC 6152
	BodyType8BitMIME   = "8BITMIME"   // RFC 6152
	BodyTypeBinaryMIME = "BINARYMIME" // RFC 3030
	RetFull            = "FULL"       // RFC 3461 section 4.3
	RetHeaders         = "HDRS"       // RFC 3461 section 4.3
	NotifyNever        = "NEVER"      // RFC 3461 section 4.1
	NotifySuccess      = "SUCCESS"
	NotifyFailure      = "FAILURE"
	NotifyDelay        = "DELAY"
)

// QueueItem is a message in the outbound queue.
type QueueItem struct {
	ID          int64
	From        string // envelope sender; "" for bounces
	Recipients  []QueueRecipient
	BlobID      string
	Size        int64
	State       QueueState
	Attempts    int
	NextAttempt time.Time
	LastAttempt time.Time
	Created     time.Time
	ClaimedBy   string    // worker that holds it while State is QueueDelivery
	ClaimUntil  time.Time // claim expiry; an expired claim is up for grabs
	// ClaimToken identifies the claim, set by ClaimDue and new at every
	// claim: FinishAttempt and ExtendClaim must present it, so a worker
	// whose item was claimed again (by another worker or under the same
	// name) can no longer touch it.
	ClaimToken string

	// The delivery parameters given to Enqueue; see NewQueueItem.
	RequireTLS bool
	SMTPUTF8   bool
	BodyType   string
	EnvID      string
	Ret        string
	Submitter  int64

	// DelayWarned is set once the sender has been sent a delay warning
	// (RFC 3464 "delayed"); it never goes back to false.
	DelayWarned bool
}

// QueueUpdate records the outcome of an attempt on a claimed item.
type QueueUpdate struct {
	ID         int64
	ClaimToken string // QueueItem.ClaimToken of the claim the attempt ran under
	// Recipients is the new status of every recipient; empty keeps them as
	// they were. Otherwise it must name each of the item's recipients once
	// (matched by address, in any order) and no other, or FinishAttempt
	// fails with ErrInvalid; Notify and ORCPT are not taken from it.
	Recipients  []QueueRecipient
	NextAttempt time.Time // when to try again if any is not Done
	// DelayWarned records that a delay warning was sent. False leaves the
	// item's DelayWarned as it was.
	DelayWarned bool
}

// Queue is the durable outbound queue. An item is removed only when every
// recipient is Done. Claims keep two workers (or two nodes) from delivering
// the same item at once; a claim that outlives its deadline (a crashed
// worker) becomes claimable again, which is why delivery must record its
// outcome per recipient. A worker whose attempt may outlast its lease
// extends the claim with ExtendClaim before it runs out.
type Queue interface {
	// Enqueue stores the body and the item durably, due now. It fails with
	// ErrInvalid, storing nothing, if item has no recipients, a recipient
	// has an empty address, or a keyword is outside its set (see
	// CheckQueueItem).
	Enqueue(ctx context.Context, body io.Reader, item NewQueueItem) (QueueItem, error)
	GetQueueItem(ctx context.Context, id int64) (QueueItem, error)
	ListQueue(ctx context.Context) ([]QueueItem, error)
	// ClaimDue claims up to limit ready items due at now, and items whose
	// claim expired by now, for worker until now+lease, oldest due first.
	// Each claim counts as an attempt and gets a new ClaimToken.
	ClaimDue(ctx context.Context, worker string, now time.Time, lease time.Duration, limit int) ([]QueueItem, error)
	// ExtendClaim moves the expiry of a claim to until. It fails with
	// ErrNotFound if the item is not held under token any more (claimed
	// again, finished, dropped). A claim that expired but was not taken
	// again is still held.
	ExtendClaim(ctx context.Context, id int64, token string, until time.Time) error
	// FinishAttempt records an attempt made under u.ClaimToken, failing
	// with ErrNotFound if the item is not held under that token any more.
	// When every recipient is Done the item is removed; otherwise it goes
	// back to ready at NextAttempt. It fails with ErrInvalid if
	// u.Recipients does not match the item's recipients.
	FinishAttempt(ctx context.Context, u QueueUpdate) error
	// SetQueueState holds, releases (ready, due now) an item.
	SetQueueState(ctx context.Context, id int64, state QueueState) error
	// RetryNow makes an item due now.
	RetryNow(ctx context.Context, id int64) error
	DropQueueItem(ctx context.Context, id int64) error
}

// LogEntry is one event in the log: authentication attempts on every
// protocol, administrative changes, and the like.
type LogEntry struct {
	ID        int64
	Time      time.Time
	AccountID int64  // 0 when unknown (e.g. a failed login for no account)
	Kind      string // "login", "admin", ...
	Protocol  string // "imap", "smtp", "pop3", "web", "cli"
	// RemoteIP is kept without its IPv6 zone ("fe80::1%eth0" is stored,
	// and returned by AppendLog, as "fe80::1"); the zero Addr means none.
	RemoteIP netip.Addr
	// ReverseDNS is RemoteIP's name in the reverse DNS when the entry was
	// made, "" when it had none (see account.Service.Resolver).
	ReverseDNS string
	Client     string // client identity: IMAP ID, EHLO name, User-Agent
	Method     string // how a login was attempted: "LOGIN", "PLAIN", "USER/PASS", ...
	Outcome    string // "ok", "fail", ...
	Detail     string // reason or description; never a secret
}

// LogQuery selects log entries. Zero fields match everything.
type LogQuery struct {
	AccountID int64
	Kind      string
	Since     time.Time
	Limit     int // newest first; 0 means 100
}

// Log is the event log.
type Log interface {
	AppendLog(ctx context.Context, e LogEntry) (LogEntry, error)
	QueryLog(ctx context.Context, q LogQuery) ([]LogEntry, error)
	// PruneLog deletes entries older than before and returns how many.
	PruneLog(ctx context.Context, before time.Time) (int64, error)
}

// The bounds on what KV stores; anything larger is ErrInvalid.
const (
	MaxNamespaceLen = 64       // bytes
	MaxKeyLen       = 512      // bytes
	MaxValueLen     = 64 << 10 // bytes
)

// KV is a small store of expiring values, by namespace and key, for
// caches that must survive a restart. Namespaces keep the users apart
// ("mta-sts", ...); each names its own keys. A value is live while the
// current time is before its expiry; an expired value is never returned
// and stays until PruneValues removes it. Expiry is judged by the clock of
// the process calling, not the database's.
//
// Namespace and key must be valid UTF-8 without NUL, non-empty and within
// MaxNamespaceLen and MaxKeyLen bytes, and values at most MaxValueLen
// bytes, or the call fails with ErrInvalid (see CheckValue). Namespaces and
// keys compare bytewise.
type KV interface {
	// PutValue stores value under namespace and key until expires,
	// replacing any value there, expired or not. A zero expires is
	// ErrInvalid; one already past is stored, and reads as absent.
	PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error
	// GetValue returns the live value under namespace and key, or
	// ErrNotFound if there is none or it has expired. An empty value is
	// returned as a non-nil empty slice.
	GetValue(ctx context.Context, namespace, key string) ([]byte, error)
	// AddValue stores value under namespace and key until expires, as
	// PutValue does, only when no live value is there, and reports
	// whether it stored it: of callers adding one key at once, on any
	// node, one gets true. A claim with an expiry (a lease): what one
	// node of several should do alone, or do first.
	AddValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) (bool, error)
	// DeleteValue removes the value under namespace and key. Removing one
	// that is absent is not an error.
	DeleteValue(ctx context.Context, namespace, key string) error
	// PruneValues removes the values of every namespace that have expired
	// by now (expiry at or before now) and returns how many.
	PruneValues(ctx context.Context, now time.Time) (int64, error)
}
