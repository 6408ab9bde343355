package sasl

import (
	"bytes"
	"context"
	"fmt"
	"unicode/utf8"
)

// NewPlain returns the server side of PLAIN (RFC 4616). The single
// response is authzid NUL authcid NUL passwd. The authorization identity
// must be empty or equal to the authentication identity; the
// authentication identity and the password must be non-empty UTF-8 without
// NUL.
func NewPlain(auth Authenticator) Mechanism {
	return &plain{auth: auth}
}

type plain struct {
	auth     Authenticator
	started  bool
	finished bool
}

func (p *plain) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	if p.finished {
		return nil, true, errFinished
	}
	if !p.started && response == nil {
		// No initial response: RFC 4616 section 2 has the server send an
		// empty challenge.
		p.started = true
		return []byte{}, false, nil
	}
	p.started, p.finished = true, true
	authzid, authcid, passwd, err := splitPlain(response)
	if err != nil {
		return nil, true, err
	}
	if authzid != "" && authzid != authcid {
		return nil, true, fmt.Errorf("%w: PLAIN: authorization identity %q differs from %q",
			ErrAuthFailed, authzid, authcid)
	}
	return nil, true, check(ctx, p.auth, "PLAIN", authcid, passwd)
}

// splitPlain splits a PLAIN message (RFC 4616 section 2). Exactly two NULs
// separate the fields: a third one would be an embedded NUL in the
// password, which the grammar (1*SAFE) forbids.
func splitPlain(msg []byte) (authzid, authcid, passwd string, err error) {
	if err := checkLen(msg); err != nil {
		return "", "", "", err
	}
	fields := bytes.Split(msg, []byte{0})
	if len(fields) != 3 {
		return "", "", "", fmt.Errorf("%w: PLAIN: %d NUL separators, want 2", ErrMalformed, len(fields)-1)
	}
	for i, name := range []string{"authorization identity", "authentication identity", "password"} {
		if !utf8.Valid(fields[i]) {
			return "", "", "", fmt.Errorf("%w: PLAIN: %s is not UTF-8", ErrMalformed, name)
		}
		if i > 0 && len(fields[i]) == 0 {
			return "", "", "", fmt.Errorf("%w: PLAIN: empty %s", ErrMalformed, name)
		}
	}
	return string(fields[0]), string(fields[1]), string(fields[2]), nil
}

// Challenges sent by LOGIN. The draft fixes neither, but these are what
// clients have always received and some compare them.
const (
	loginUsername = "Username:"
	loginPassword = "Password:"
)

// NewLogin returns the server side of LOGIN (draft-murchison-sasl-login):
// the server asks "Username:" and "Password:" and the client answers each.
// An initial response is taken as the user name. Both must be non-empty
// UTF-8 without NUL.
func NewLogin(auth Authenticator) Mechanism {
	return &login{auth: auth}
}

type login struct {
	auth     Authenticator
	step     int // 0: nothing yet, 1: asked for the user name, 2: asked for the password
	username string
	finished bool
}

func (l *login) Next(ctx context.Context, response []byte) ([]byte, bool, error) {
	if l.finished {
		return nil, true, errFinished
	}
	switch l.step {
	case 0:
		if response == nil {
			l.step = 1
			return []byte(loginUsername), false, nil
		}
		fallthrough
	case 1:
		u, err := loginField("user name", response)
		if err != nil {
			l.finished = true
			return nil, true, err
		}
		l.username, l.step = u, 2
		return []byte(loginPassword), false, nil
	default:
		l.finished = true
		p, err := loginField("password", response)
		if err != nil {
			return nil, true, err
		}
		return nil, true, check(ctx, l.auth, "LOGIN", l.username, p)
	}
}

func loginField(name string, b []byte) (string, error) {
	switch {
	case len(b) > MaxResponseLen:
		return "", fmt.Errorf("%w: LOGIN %s of %d octets", ErrTooLong, name, len(b))
	case len(b) == 0:
		return "", fmt.Errorf("%w: LOGIN: empty %s", ErrMalformed, name)
	case bytes.IndexByte(b, 0) >= 0:
		return "", fmt.Errorf("%w: LOGIN: NUL in %s", ErrMalformed, name)
	case !utf8.Valid(b):
		return "", fmt.Errorf("%w: LOGIN: %s is not UTF-8", ErrMalformed, name)
	}
	return string(b), nil
}

// check runs the authenticator, naming the mechanism in its error.
func check(ctx context.Context, auth Authenticator, mech, username, password string) error {
	if err := auth(ctx, username, password); err != nil {
		return fmt.Errorf("sasl: %s for %q: %w", mech, username, err)
	}
	return nil
}
