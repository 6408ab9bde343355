package smtpclient

import (
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/smtp"
)

// ErrNoSTARTTLS is returned by StartTLS when the server did not offer
// STARTTLS in its EHLO reply. TLS reporting calls this
// "starttls-not-supported" (RFC 8460 section 4.3.2.1).
var ErrNoSTARTTLS = errors.New("smtpclient: server does not offer STARTTLS")

// Error is a failed step of an SMTP session. Exactly one of these holds:
//
//   - the server answered with a reply that was not the expected one:
//     Reply is that reply, Local is false and Err is nil;
//   - Sealpost refused the step before sending it, because the server does
//     not offer what the message needs (Local is true, Reply is the reply
//     a server would have sent, for logs and delivery status
//     notifications);
//   - the connection, the TLS handshake or the protocol failed, or the
//     context ended: Err says how and Reply.Code is 0 (or, for a local
//     refusal of message content, Local is set too).
type Error struct {
	// Op is the step: "connect", "greeting", "EHLO", "HELO", "STARTTLS",
	// "MAIL", "RCPT", "DATA", "RSET" or "QUIT".
	Op    string
	Reply smtp.Reply
	Local bool
	Err   error
}

func (e *Error) Error() string {
	switch {
	case e.Local && e.Err != nil:
		return fmt.Sprintf("smtpclient: %s refused locally: %s: %v", e.Op, e.Reply.Error(), e.Err)
	case e.Local:
		return fmt.Sprintf("smtpclient: %s refused locally: %s", e.Op, e.Reply.Error())
	case e.Err != nil:
		return fmt.Sprintf("smtpclient: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("smtpclient: %s: server replied %s", e.Op, e.Reply.Error())
}

// Unwrap returns the underlying error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later, or elsewhere, may succeed:
// true for 4xx replies and for failures without a reply (RFC 5321 section
// 4.2.1: only a 5xx reply is a permanent negative completion).
func (e *Error) Temporary() bool { return e.Reply.Code/100 != 5 }

// IsPermanent reports whether err is an *Error carrying a 5xx reply, from
// the server or a local refusal.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && !e.Temporary()
}

// local returns a local refusal of op.
func local(op string, code int, enhanced, text string) *Error {
	return &Error{Op: op, Local: true, Reply: smtp.Reply{Code: code, Enhanced: enhanced, Text: text}}
}
