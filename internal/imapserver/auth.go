package imapserver

import (
	"context"
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/sasl"
)

// login answers LOGIN, refused before TLS (RFC 9051 §6.2.3, LOGINDISABLED).
func (ss *session) login(cmd *imap.Command) bool {
	if !ss.tls {
		return ss.no(cmd.Tag, imap.CodePrivacyRequired, "use STARTTLS first")
	}
	args := cmd.Args.(*imap.LoginArgs)
	ctx, cancel := ss.ctx()
	defer cancel()
	l, err := ss.srv.accounts.Login(ctx, ss.attempt(args.Username, args.Password, "LOGIN"))
	if errors.Is(err, account.ErrAuthFailed) {
		err = fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
	}
	if err != nil {
		return ss.authFailed(cmd.Tag, err)
	}
	return ss.loggedIn(cmd.Tag, l)
}

// authenticate runs AUTHENTICATE PLAIN (RFC 9051 §6.2.2, RFC 4959
// SASL-IR).
func (ss *session) authenticate(cmd *imap.Command) bool {
	if !ss.tls {
		return ss.no(cmd.Tag, imap.CodePrivacyRequired, "use STARTTLS first")
	}
	args := cmd.Args.(*imap.AuthenticateArgs)
	if args.Mechanism != sasl.Plain {
		return ss.no(cmd.Tag, imap.CodeCannot, "unsupported authentication mechanism")
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	var login account.Login
	mech := sasl.NewPlain(func(ctx context.Context, username, password string) error {
		l, err := ss.srv.accounts.Login(ctx, ss.attempt(username, password, sasl.Plain))
		if errors.Is(err, account.ErrAuthFailed) {
			return fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
		}
		login = l
		return err
	})
	response := args.InitialResponse
	for range 4 {
		challenge, done, err := mech.Next(ctx, response)
		if err != nil {
			return ss.authFailed(cmd.Tag, err)
		}
		if done {
			return ss.loggedIn(cmd.Tag, login)
		}
		// Not Continue: an empty challenge must go as "+ " (RFC 9051
		// §7.6), with no text.
		ss.w.Atom("+ " + sasl.EncodeChallenge(challenge)).End()
		if err := ss.w.Flush(); err != nil {
			return false
		}
		response, err = ss.r.ReadAuthResponse()
		if errors.Is(err, imap.ErrAuthCanceled) {
			return ss.authFailed(cmd.Tag, sasl.ErrCanceled)
		}
		var se *imap.SyntaxError
		if errors.As(err, &se) {
			return ss.authFailed(cmd.Tag, sasl.ErrMalformed)
		}
		if err != nil {
			return false
		}
	}
	return ss.authFailed(cmd.Tag, sasl.ErrMalformed)
}

// authFailed answers a failed login and reports whether the session goes
// on: after MaxAuthFailures refused credentials it does not.
func (ss *session) authFailed(tag string, err error) bool {
	switch {
	case errors.Is(err, sasl.ErrCanceled):
		return ss.bad(tag, "authentication cancelled")
	case errors.Is(err, sasl.ErrMalformed):
		return ss.bad(tag, "malformed authentication response")
	case errors.Is(err, sasl.ErrAuthFailed):
		ss.authFail++
		ss.no(tag, imap.CodeAuthenticationFail, "authentication failed")
		if ss.authFail >= ss.srv.cfg.Limits.MaxAuthFailures {
			ss.w.Status("*", "BYE", "", "too many authentication failures")
			return false
		}
		return true
	}
	ss.srv.log.Error("authentication", "session", ss.id, "err", err)
	return ss.no(tag, imap.CodeUnavailable, "temporary authentication failure, try again")
}

// attempt describes a login for account.Service.Login, which logs it.
func (ss *session) attempt(username, password, method string) account.Attempt {
	return account.Attempt{Protocol: "imap", Username: username, Password: password,
		RemoteIP: ss.remote, Client: ss.client, Method: method}
}

func (ss *session) loggedIn(tag string, l account.Login) bool {
	ss.account, ss.appPassword, ss.state = l.Account, l.AppPassword, authenticated
	ss.register(l.AppPassword)
	ss.w.Status(tag, "OK", imap.CodeCapability(ss.capabilities()), "logged in")
	return true
}
