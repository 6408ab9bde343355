package smtpserver

import (
	"context"
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sasl"
	"sealpost.dev/sealpost/internal/smtp"
)

// maxAuthLine bounds one line of a SASL exchange: the base64 of
// sasl.MaxResponseLen, with CRLF.
const maxAuthLine = (sasl.MaxResponseLen+2)/3*4 + 2

// auth runs an AUTH exchange (RFC 4954) and reports whether the session
// goes on.
func (ss *session) auth(cmd smtp.Command) bool {
	switch {
	case ss.srv.cfg.Mode == MX:
		ss.fail(502, "5.5.1", "AUTH is not offered on this port; use submission")
		return true
	case ss.tls == nil:
		ss.fail(530, "5.7.0", "must issue a STARTTLS command first")
		return true
	case ss.helo == "":
		ss.fail(503, "5.5.1", "send EHLO first")
		return true
	case ss.authed:
		ss.fail(503, "5.5.1", "already authenticated")
		return true
	case ss.tx != nil:
		ss.fail(503, "5.5.1", "AUTH is not allowed during a transaction")
		return true
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	var login account.Login
	mech, err := sasl.New(cmd.Mechanism, func(ctx context.Context, username, password string) error {
		l, err := ss.srv.accounts.Login(ctx, account.Attempt{Protocol: "smtp", Username: username, Password: password,
			RemoteIP: ss.remote, Client: ss.helo, Method: cmd.Mechanism})
		if errors.Is(err, account.ErrAuthFailed) {
			return fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
		}
		login = l
		return err
	})
	if err != nil {
		ss.fail(504, "5.5.4", "unsupported authentication mechanism")
		return true
	}
	var response []byte
	if cmd.HasInitialResponse {
		if response, err = sasl.DecodeInitialResponse(cmd.InitialResponse); err != nil {
			return ss.authFailed(err)
		}
	}
	for {
		challenge, done, err := mech.Next(ctx, response)
		if err != nil {
			return ss.authFailed(err)
		}
		if done {
			break
		}
		ss.reply(334, "", sasl.EncodeChallenge(challenge))
		ss.w.Flush()
		line, err := smtp.ReadLine(ss.r, maxAuthLine)
		if err != nil {
			if _, ok := smtp.ReplyOf(err); ok {
				return ss.authFailed(sasl.ErrTooLong)
			}
			return false
		}
		if response, err = sasl.DecodeResponse(string(line)); err != nil {
			return ss.authFailed(err)
		}
	}
	ss.account, ss.appPassword, ss.authed = login.Account, login.AppPassword, true
	ss.register(login.AppPassword)
	ss.reply(235, "2.7.0", "authentication succeeded")
	return true
}

// authFailed answers a failed exchange and reports whether the session
// goes on.
func (ss *session) authFailed(err error) bool {
	switch {
	case errors.Is(err, sasl.ErrCanceled):
		ss.fail(501, "5.0.0", "authentication cancelled")
	case errors.Is(err, sasl.ErrTooLong):
		ss.fail(500, "5.5.6", "authentication exchange line too long")
	case errors.Is(err, sasl.ErrMalformed):
		ss.fail(501, "5.5.2", "malformed authentication response")
	case errors.Is(err, sasl.ErrAuthFailed):
		ss.authFail++
		ss.fail(535, "5.7.8", "authentication credentials invalid")
		if ss.authFail >= ss.srv.cfg.Limits.MaxAuthFailures {
			ss.reply(421, "4.7.0", "too many authentication failures, closing connection")
			return false
		}
	default:
		ss.srv.log.Error("authentication", "session", ss.id, "err", err)
		ss.reply(454, "4.7.0", "temporary authentication failure, try again")
	}
	return true
}
