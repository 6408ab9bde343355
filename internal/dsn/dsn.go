// Package dsn builds and parses delivery status notifications: the
// reports an MTA sends back to a message's envelope sender when delivery
// failed, is delayed, or (when asked for) succeeded.
//
// Implemented:
//
//   - RFC 3464, the message/delivery-status format: per-message fields
//     (Reporting-MTA, Original-Envelope-Id, Received-From-MTA,
//     Arrival-Date) and per-recipient fields (Original-Recipient,
//     Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
//     Last-Attempt-Date, Will-Retry-Until);
//   - RFC 6522 (formerly RFC 3462), multipart/report with a
//     human-readable part, the status part and the returned message;
//   - RFC 3463 enhanced status codes, checked against the Action and
//     explained in plain words in the human-readable part;
//   - RFC 3461, the ESMTP side as far as the report is concerned: ENVID
//     becomes Original-Envelope-Id, ORCPT becomes Original-Recipient, and
//     RET=HDRS or RET=FULL chooses what is returned;
//   - RFC 6533, message/global-delivery-status with utf-8 address types,
//     message/global and message/global-headers, used when an address or
//     the returned header is not ASCII;
//   - RFC 3834, Auto-Submitted: auto-replied on every report.
//
// Build writes a report; Parse (and Parser.Parse, with other limits)
// reads one, bounded in the bytes it reads and the recipients it keeps so
// hostile input cannot exhaust memory. Parsing uses the standard library
// (net/mail, mime, mime/multipart, net/textproto) rather than
// github.com/emersion/go-message: the report's structure is fixed and
// shallow, its machine-readable part is ASCII or UTF-8 by definition so no
// charset conversion is needed, and the standard reader lets every read go
// through one explicit byte limit.
//
// Left out: the X.400 and other non-Internet address and MTA name types
// are carried through as text but not interpreted; the legacy
// Final-Log-ID and X-* extension fields are kept in Fields only; MDNs
// (RFC 8098, report-type=disposition-notification) are not reports this
// package reads.
package dsn

import (
	"errors"
	"time"
)

// Action is what the reporting MTA did for one recipient (RFC 3464
// section 2.3.3).
type Action string

// The actions of RFC 3464 section 2.3.3.
const (
	ActionFailed    Action = "failed"
	ActionDelayed   Action = "delayed"
	ActionDelivered Action = "delivered"
	ActionRelayed   Action = "relayed"
	ActionExpanded  Action = "expanded"
)

// statusClass returns the class digit a status code must have for a, per
// RFC 3464 section 2.3.4: 5 for failed, 4 for delayed, 2 otherwise.
func (a Action) statusClass() byte {
	switch a {
	case ActionFailed:
		return '5'
	case ActionDelayed:
		return '4'
	case ActionDelivered, ActionRelayed, ActionExpanded:
		return '2'
	}
	return 0
}

// Return says how much of the original message a report carries
// (RFC 3461 section 4.3, the RET parameter).
type Return int

const (
	// ReturnFull returns the whole message when it fits in
	// Message.MaxOriginal, and its header otherwise. It is what RET=FULL
	// asks for and what Sealpost does when RET was not given.
	ReturnFull Return = iota
	// ReturnHeaders returns the header only (RET=HDRS).
	ReturnHeaders
)

// DefaultMaxOriginal is the most of the original message a report
// carries when Message.MaxOriginal is zero. Larger messages are returned
// as their header only, like Postfix's bounce_size_limit.
const DefaultMaxOriginal = 64 << 10

// Message describes a report to build.
type Message struct {
	// Hostname is this MTA's host name: it names the Reporting-MTA and is
	// the right-hand side of the Message-ID. Required.
	Hostname string
	// From is the report's author address; empty means
	// "postmaster@"+Hostname. The display name is "Mail Delivery System".
	From string
	// To is the original message's envelope sender (the MAIL FROM
	// reverse-path), to which the report goes. It must not be empty:
	// a message with a null reverse-path never gets a report.
	To string
	// Date is the report's date; zero means now.
	Date time.Time
	// MessageID is the report's Message-ID without angle brackets; empty
	// means a random one at Hostname.
	MessageID string
	// EnvelopeID is the ENVID given with MAIL FROM, xtext-decoded; empty
	// when none was given.
	EnvelopeID string
	// ReceivedFromMTA is the host name of the client that sent the
	// original message, if known.
	ReceivedFromMTA string
	// ArrivalDate is when the original message was received; zero leaves
	// the field out.
	ArrivalDate time.Time
	// Recipients holds one entry per recipient reported on, at least one.
	Recipients []Recipient
	// Original is the original message (header and body); nil returns
	// nothing of it.
	Original []byte
	// Return chooses how much of Original is returned.
	Return Return
	// MaxOriginal caps the returned message, in octets: zero means
	// DefaultMaxOriginal, negative returns the header only.
	MaxOriginal int
}

// Recipient is what a report says about one recipient.
type Recipient struct {
	// FinalRecipient is the address delivery was attempted to. Required.
	FinalRecipient string
	// OriginalRecipient is the ORCPT parameter, xtext-decoded: either
	// "type;address" as given, or a bare address. Empty when none was
	// given.
	OriginalRecipient string
	// Action is what happened. Required.
	Action Action
	// Status is the RFC 3463 enhanced status code, such as "5.1.1"; its
	// class must agree with Action.
	Status string
	// RemoteMTA is the host name of the server that gave the reply in
	// DiagnosticCode, if any.
	RemoteMTA string
	// DiagnosticCode is the remote server's SMTP reply, such as
	// "550 5.1.1 <bob@example.com>: user unknown". Multi-line replies may
	// be given with their line breaks; they are joined.
	DiagnosticCode string
	// Detail explains, for the human-readable part, a failure that has no
	// remote reply (no MX record, TLS policy not met, expired in queue).
	Detail string
	// LastAttemptDate is when delivery was last tried; zero leaves it out.
	LastAttemptDate time.Time
	// WillRetryUntil is when a delayed message will be given up; zero
	// leaves it out. Only written for ActionDelayed.
	WillRetryUntil time.Time
}

// Errors callers decide on.
var (
	// ErrNotDSN reports a message that is not a multipart/report carrying
	// a delivery status.
	ErrNotDSN = errors.New("dsn: not a delivery status notification")
	// ErrTooLarge reports input over a Parser's byte limits.
	ErrTooLarge = errors.New("dsn: report too large")
	// ErrTooManyRecipients reports more recipients than a Parser keeps.
	ErrTooManyRecipients = errors.New("dsn: too many recipients")
)
