// Package sasl implements the server side of the SASL mechanisms Sealpost
// offers, shared by SMTP AUTH (RFC 4954), IMAP AUTHENTICATE (RFC 9051
// section 6.2.2) and POP3 AUTH (RFC 5034):
//
//   - PLAIN (RFC 4616), with or without an initial response;
//   - LOGIN (draft-murchison-sasl-login-00), with or without an initial
//     response (SASL-IR, RFC 4959).
//
// The boundary with the protocol layer is the base64 encoding: a
// Mechanism consumes decoded client responses and produces decoded
// challenges. The protocol layer turns its lines into bytes with
// DecodeResponse and DecodeInitialResponse (which also recognise the "*"
// cancellation of RFC 4954 section 4 and the "=" empty initial response)
// and writes challenges with EncodeChallenge.
//
// Errors say what the protocol answers:
//
//   - ErrMalformed: the client broke the mechanism's syntax
//     (SMTP 501 5.5.2, IMAP BAD, POP3 -ERR);
//   - ErrTooLong: a response exceeded MaxResponseLen
//     (SMTP 500 5.5.6, IMAP BAD); it also matches ErrMalformed;
//   - ErrCanceled: the client sent "*" (SMTP 501 5.0.0, IMAP BAD);
//   - ErrAuthFailed: the credentials were refused
//     (SMTP 535 5.7.8, IMAP NO [AUTHENTICATIONFAILED], POP3 -ERR [AUTH]);
//   - any other error came from the Authenticator and is a temporary
//     failure (SMTP 454 4.7.0, IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]).
//
// Left out: SCRAM-SHA-256 (RFC 7677) needs the salted SCRAM keys
// (StoredKey, ServerKey) kept per account, while Sealpost stores only
// argon2id password hashes, from which they cannot be derived; offering it
// would mean storing a second, weaker password verifier. Proxy
// authorization (an authorization identity different from the
// authentication identity) is refused. SASLprep (RFC 4013) is not
// applied: identities are compared after the account package's own
// normalisation, and passwords are passed through unchanged.
package sasl

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Mechanism names, as advertised and as accepted by New.
const (
	Plain = "PLAIN"
	Login = "LOGIN"
)

// MaxResponseLen is the longest decoded client response a Mechanism or
// the decoding helpers accept, in octets. RFC 4616 section 2 requires
// accepting identities and passwords of 255 octets each; this leaves room
// beyond that while bounding what a client can make the server hold.
const MaxResponseLen = 4096

var (
	// ErrMalformed reports a response that breaks the mechanism's syntax,
	// or a call after the exchange ended.
	ErrMalformed = errors.New("sasl: malformed response")
	// ErrTooLong reports a response longer than MaxResponseLen. Errors
	// wrapping it also match ErrMalformed.
	ErrTooLong error = tooLongError{}
	// ErrCanceled reports that the client cancelled the exchange with "*".
	ErrCanceled = errors.New("sasl: authentication canceled by client")
	// ErrAuthFailed reports refused credentials. Authenticators wrap it
	// for a wrong user name or password.
	ErrAuthFailed = errors.New("sasl: authentication failed")
	// ErrUnsupported reports a mechanism name New does not know
	// (SMTP 504 5.5.4, IMAP NO).
	ErrUnsupported = errors.New("sasl: unsupported mechanism")
)

// tooLongError is ErrTooLong: a distinct reply (SMTP 500 5.5.6) that is
// still a kind of malformed input for callers that do not tell them apart.
type tooLongError struct{}

func (tooLongError) Error() string        { return "sasl: response too long" }
func (tooLongError) Is(target error) bool { return target == ErrMalformed }

// Authenticator checks a user name and password. It returns nil to accept
// them, an error wrapping ErrAuthFailed to refuse them, and any other error
// when it could not decide (the store is unreachable, ctx ended), which the
// protocol answers as a temporary failure. An adapter over
// account.Service.Authenticate maps account.ErrAuthFailed to ErrAuthFailed.
type Authenticator func(ctx context.Context, username, password string) error

// Mechanism is the server side of one SASL exchange. It is used by one
// goroutine and for one exchange only.
type Mechanism interface {
	// Next takes the client's next decoded response and returns the next
	// challenge to send, or done when the exchange is over. On the first
	// call, response is the initial response: nil when the client sent
	// none, a non-nil empty slice when it sent an empty one ("=").
	// When done is true and err is nil, the client is authenticated;
	// when err is not nil, the exchange has failed and is over.
	Next(ctx context.Context, response []byte) (challenge []byte, done bool, err error)
}

// New returns the mechanism called name (case-insensitive), or an error
// wrapping ErrUnsupported.
func New(name string, auth Authenticator) (Mechanism, error) {
	switch strings.ToUpper(name) {
	case Plain:
		return NewPlain(auth), nil
	case Login:
		return NewLogin(auth), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupported, name)
}

// Mechanisms lists the names New accepts, in order of preference, for the
// EHLO AUTH keyword and the IMAP and POP3 capabilities.
func Mechanisms() []string { return []string{Plain, Login} }

// DecodeResponse decodes one client response line of an exchange (the
// line without its CRLF). "*" gives ErrCanceled (RFC 4954 section 4);
// anything that is not base64 gives an error wrapping ErrMalformed; a
// response decoding to more than MaxResponseLen octets gives an error
// wrapping ErrTooLong, detected before decoding.
func DecodeResponse(line string) ([]byte, error) {
	if line == "*" {
		return nil, ErrCanceled
	}
	if len(line) > base64.StdEncoding.EncodedLen(MaxResponseLen) {
		return nil, fmt.Errorf("%w: %d base64 octets", ErrTooLong, len(line))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(line)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid base64: %w", ErrMalformed, err)
	}
	if len(b) > MaxResponseLen {
		return nil, fmt.Errorf("%w: %d octets", ErrTooLong, len(b))
	}
	return b, nil
}

// DecodeInitialResponse decodes the initial response argument of SMTP
// AUTH, IMAP AUTHENTICATE (SASL-IR) or POP3 AUTH. "=" stands for an empty
// initial response and gives a non-nil empty slice (RFC 4954 section 4);
// otherwise it behaves as DecodeResponse. A command without the argument
// must pass nil to Next instead of calling this.
func DecodeInitialResponse(arg string) ([]byte, error) {
	if arg == "=" {
		return []byte{}, nil
	}
	return DecodeResponse(arg)
}

// EncodeChallenge encodes a challenge for the protocol line: SMTP's
// "334 " and IMAP's and POP3's "+ " are followed by it. An empty challenge
// encodes as the empty string.
func EncodeChallenge(challenge []byte) string {
	return base64.StdEncoding.EncodeToString(challenge)
}

// checkLen refuses a response longer than MaxResponseLen, for callers that
// decode base64 themselves.
func checkLen(response []byte) error {
	if len(response) > MaxResponseLen {
		return fmt.Errorf("%w: %d octets", ErrTooLong, len(response))
	}
	return nil
}

// errFinished is returned by Next after the exchange ended.
var errFinished = fmt.Errorf("%w: exchange already finished", ErrMalformed)
