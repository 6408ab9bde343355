package pop3

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sasl"
	"sealpost.dev/sealpost/internal/store"
)

// maxAuthLine bounds one line of a SASL exchange: the base64 of
// sasl.MaxResponseLen, with CRLF.
const maxAuthLine = (sasl.MaxResponseLen+2)/3*4 + 2

// needTLS refuses a login command on a connection without TLS and reports
// whether it did.
func (ss *session) needTLS() bool {
	if ss.tls {
		return false
	}
	ss.fail("[AUTH] TLS is required first: use STLS")
	return true
}

// userCmd answers USER (RFC 1939 section 7). The name is checked with the
// password, so that USER does not tell which accounts exist.
func (ss *session) userCmd(arg string) bool {
	if ss.needTLS() {
		return true
	}
	if arg == "" {
		ss.fail("USER needs a name")
		return true
	}
	ss.user = arg
	ss.ok("send PASS")
	return true
}

// pass answers PASS. The password is the whole rest of the line: it may
// hold spaces.
func (ss *session) pass(arg string) bool {
	if ss.needTLS() {
		return true
	}
	if ss.user == "" {
		ss.fail("send USER first")
		return true
	}
	user := ss.user
	ss.user = ""
	ctx, cancel := ss.ctx()
	defer cancel()
	l, err := ss.srv.accounts.Login(ctx, ss.attempt(user, arg, "USER/PASS"))
	if errors.Is(err, account.ErrAuthFailed) {
		err = fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
	}
	if err != nil {
		return ss.authFailed(err)
	}
	return ss.loggedIn(ctx, l)
}

// auth runs an AUTH exchange (RFC 5034). AUTH with no mechanism lists the
// mechanisms, as clients from before RFC 5034 expect.
func (ss *session) auth(arg string) bool {
	if ss.needTLS() {
		return true
	}
	if arg == "" {
		ss.ok("")
		ss.line(sasl.Plain)
		ss.line(".")
		return true
	}
	name, initial, hasInitial := strings.Cut(arg, " ")
	ss.user = ""
	ctx, cancel := ss.ctx()
	defer cancel()
	var login account.Login
	var mech sasl.Mechanism
	if strings.EqualFold(name, sasl.Plain) {
		mech = sasl.NewPlain(func(ctx context.Context, username, password string) error {
			l, err := ss.srv.accounts.Login(ctx, ss.attempt(username, password, sasl.Plain))
			if errors.Is(err, account.ErrAuthFailed) {
				return fmt.Errorf("%w: %w", sasl.ErrAuthFailed, err)
			}
			login = l
			return err
		})
	} else {
		ss.fail("unsupported authentication mechanism")
		return true
	}
	var response []byte
	if hasInitial {
		var err error
		if response, err = sasl.DecodeInitialResponse(initial); err != nil {
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
		ss.line("+ " + sasl.EncodeChallenge(challenge))
		if err := ss.w.Flush(); err != nil {
			return false
		}
		line, err := readLine(ss.r, maxAuthLine)
		if errors.Is(err, errLineTooLong) {
			return ss.authFailed(sasl.ErrTooLong)
		}
		if err != nil {
			return false
		}
		if response, err = sasl.DecodeResponse(string(line)); err != nil {
			return ss.authFailed(err)
		}
	}
	return ss.loggedIn(ctx, login)
}

// authFailed answers a failed login and reports whether the session goes
// on: after MaxAuthFailures refused credentials it does not.
func (ss *session) authFailed(err error) bool {
	switch {
	case errors.Is(err, sasl.ErrCanceled):
		ss.fail("authentication cancelled")
	case errors.Is(err, sasl.ErrMalformed):
		ss.fail("malformed authentication response")
	case errors.Is(err, sasl.ErrAuthFailed):
		ss.authFail++
		if ss.authFail >= ss.srv.cfg.Limits.MaxAuthFailures {
			ss.err("[AUTH] authentication failed; too many failures, closing connection")
			return false
		}
		ss.fail("[AUTH] authentication failed")
	default:
		ss.srv.log.Error("authentication", "session", ss.id, "err", err)
		ss.err("[SYS/TEMP] temporary authentication failure, try again")
	}
	return true
}

// loggedIn opens the maildrop after a successful authentication and enters
// the TRANSACTION state. If the maildrop cannot be opened the session stays
// in AUTHORIZATION (RFC 1939 section 7, PASS).
func (ss *session) loggedIn(ctx context.Context, l account.Login) bool {
	acct := l.Account
	drop, err := openMaildrop(ctx, ss.srv.store, acct)
	if err != nil {
		ss.srv.log.Error("opening the maildrop", "session", ss.id, "account", acct.Address, "err", err)
		if errors.Is(err, store.ErrNotFound) {
			ss.err("[SYS/PERM] the account has no INBOX")
		} else {
			ss.err("[SYS/TEMP] cannot open the maildrop, try again")
		}
		return true
	}
	ss.account, ss.appPassword, ss.drop, ss.state = acct, l.AppPassword, drop, transaction
	ss.register(l.AppPassword)
	ss.ok(fmt.Sprintf("maildrop has %d messages (%d octets)", drop.count(), drop.size()))
	return true
}

// attempt describes a login for account.Service.Login, which logs it.
// POP3 has no way for a client to name itself.
func (ss *session) attempt(username, password, method string) account.Attempt {
	return account.Attempt{Protocol: "pop3", Username: username, Password: password,
		RemoteIP: ss.remote, Method: method}
}
