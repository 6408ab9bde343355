package imapserver

import (
	"context"
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/sasl"
	"sealpost.dev/sealpost/internal/store"
)

// login answers LOGIN, refused before TLS (RFC 9051 §6.2.3, LOGINDISABLED).
func (ss *session) login(cmd *imap.Command) bool {
	if !ss.tls {
		return ss.no(cmd.Tag, imap.CodePrivacyRequired, "use STARTTLS first")
	}
	args := cmd.Args.(*imap.LoginArgs)
	ctx, cancel := ss.ctx()
	defer cancel()
	acct, err := ss.srv.accounts.Authenticate(ctx, args.Username, args.Password)
	if errors.Is(err, account.ErrAuthFailed) {
		err = fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
	}
	if err != nil {
		return ss.authFailed(ctx, cmd.Tag, args.Username, err)
	}
	return ss.loggedIn(ctx, cmd.Tag, acct, "LOGIN")
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
	var user string
	var acct store.Account
	mech := sasl.NewPlain(func(ctx context.Context, username, password string) error {
		user = username
		a, err := ss.srv.accounts.Authenticate(ctx, username, password)
		if errors.Is(err, account.ErrAuthFailed) {
			return fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
		}
		acct = a
		return err
	})
	response := args.InitialResponse
	for range 4 {
		challenge, done, err := mech.Next(ctx, response)
		if err != nil {
			return ss.authFailed(ctx, cmd.Tag, user, err)
		}
		if done {
			return ss.loggedIn(ctx, cmd.Tag, acct, sasl.Plain)
		}
		// Not Continue: an empty challenge must go as "+ " (RFC 9051
		// §7.6), with no text.
		ss.w.Atom("+ " + sasl.EncodeChallenge(challenge)).End()
		if err := ss.w.Flush(); err != nil {
			return false
		}
		response, err = ss.r.ReadAuthResponse()
		if errors.Is(err, imap.ErrAuthCanceled) {
			return ss.authFailed(ctx, cmd.Tag, user, sasl.ErrCanceled)
		}
		var se *imap.SyntaxError
		if errors.As(err, &se) {
			return ss.authFailed(ctx, cmd.Tag, user, sasl.ErrMalformed)
		}
		if err != nil {
			return false
		}
	}
	return ss.authFailed(ctx, cmd.Tag, user, sasl.ErrMalformed)
}

// authFailed answers a failed login and reports whether the session goes
// on: after MaxAuthFailures refused credentials it does not.
func (ss *session) authFailed(ctx context.Context, tag, user string, err error) bool {
	switch {
	case errors.Is(err, sasl.ErrCanceled):
		return ss.bad(tag, "authentication cancelled")
	case errors.Is(err, sasl.ErrMalformed):
		return ss.bad(tag, "malformed authentication response")
	case errors.Is(err, sasl.ErrAuthFailed):
		ss.authFail++
		ss.logLogin(ctx, 0, "fail", fmt.Sprintf("user %q: %v", user, err))
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

func (ss *session) loggedIn(ctx context.Context, tag string, acct store.Account, mech string) bool {
	ss.account, ss.state = acct, authenticated
	ss.register(0) // the app password's ID comes with account.Login
	ss.logLogin(ctx, acct.ID, "ok", mech)
	ss.w.Status(tag, "OK", imap.CodeCapability(ss.capabilities()), "logged in")
	return true
}

func (ss *session) logLogin(ctx context.Context, accountID int64, outcome, detail string) {
	_, err := ss.srv.store.AppendLog(ctx, store.LogEntry{
		AccountID: accountID, Kind: "login", Protocol: "imap",
		RemoteIP: ss.remote, Outcome: outcome, Detail: detail,
	})
	if err != nil {
		ss.srv.log.Warn("recording a login", "err", err)
	}
}
