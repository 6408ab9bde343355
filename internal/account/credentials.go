package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"sealpost.dev/sealpost/internal/store"
)

// The TOTP parameters (RFC 6238): those every authenticator app accepts.
const (
	totpPeriod     = 30 // seconds per time step
	totpSkew       = 1  // steps either side of now that are accepted
	totpSecretSize = 20 // bytes: the HMAC-SHA-1 block of RFC 4226 section 4
	// DefaultTOTPIssuer names the service in authenticator apps when
	// Service.TOTPIssuer is empty.
	DefaultTOTPIssuer = "Sealpost"
)

// RecoveryCodes is how many recovery codes EnableTwoStep makes.
const RecoveryCodes = 10

// credentialAlphabet is what app passwords and recovery codes are made
// of: lower-case letters without i, l and o, which are easily taken for
// one another or for digits. Letters alone are quick to type on a phone.
const credentialAlphabet = "abcdefghjkmnpqrstuvwxyz"

// The shapes of generated credentials, in groups of four letters. An app
// password has 24 letters, log2(23^24) ≈ 108 bits; a recovery code 16,
// ≈ 72 bits. Both are far beyond guessing, online or offline, which is
// why a plain SHA-256 is enough to keep them (see appPasswordHash).
const (
	appPasswordLetters  = 24
	recoveryCodeLetters = 16
	groupLetters        = 4
)

// ErrTwoStepOn and ErrTwoStepOff are returned when 2-step verification is
// already on, or not on, for the account.
var (
	ErrTwoStepOn  = errors.New("2-step verification is already on")
	ErrTwoStepOff = errors.New("2-step verification is off")
)

// TwoStep is what turning 2-step verification on gives the user, once: the
// key for an authenticator app and the recovery codes. Sealpost keeps the
// key but only hashes of the codes.
type TwoStep struct {
	URI           string   // otpauth://totp/... for an authenticator app
	Secret        string   // the key in base32, for typing it in
	RecoveryCodes []string // each usable once instead of a TOTP code
}

// EnableTwoStep turns 2-step verification on for an account. From then on
// its main password no longer works for IMAP, POP3 or SMTP: only app
// passwords do. It fails with an error wrapping ErrTwoStepOn if it is on
// already (turn it off first to enrol a new authenticator).
func (s *Service) EnableTwoStep(ctx context.Context, address string) (TwoStep, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return TwoStep{}, err
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.totpIssuer(), AccountName: acc.Address, Period: totpPeriod,
		SecretSize: totpSecretSize, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TwoStep{}, fmt.Errorf("enable 2-step verification of %s: %w", acc.Address, err)
	}
	secret, err := totpSecretBytes(key.Secret())
	if err != nil {
		return TwoStep{}, fmt.Errorf("enable 2-step verification of %s: %w", acc.Address, err)
	}
	ts := TwoStep{URI: key.URL(), Secret: key.Secret()}
	var hashes [][]byte
	for range RecoveryCodes {
		code := randomCode(recoveryCodeLetters)
		ts.RecoveryCodes = append(ts.RecoveryCodes, code)
		hashes = append(hashes, credentialHash(code))
	}
	err = s.Store.EnableTOTP(ctx, acc.ID, secret, s.now(), hashes)
	if errors.Is(err, store.ErrExists) {
		return TwoStep{}, fmt.Errorf("enable 2-step verification of %s: %w", acc.Address, ErrTwoStepOn)
	}
	if err != nil {
		return TwoStep{}, fmt.Errorf("enable 2-step verification of %s: %w", acc.Address, err)
	}
	s.ForgetLogins(acc.Address)
	return ts, nil
}

// DisableTwoStep turns 2-step verification off, forgetting the key and the
// recovery codes; the account's app passwords stay. It fails with an error
// wrapping ErrTwoStepOff if it was off.
func (s *Service) DisableTwoStep(ctx context.Context, address string) error {
	acc, err := s.account(ctx, address)
	if err != nil {
		return err
	}
	err = s.Store.DisableTOTP(ctx, acc.ID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("disable 2-step verification of %s: %w", acc.Address, ErrTwoStepOff)
	}
	if err != nil {
		return fmt.Errorf("disable 2-step verification of %s: %w", acc.Address, err)
	}
	s.alert(ctx, Alert{AccountID: acc.ID, Kind: AlertTwoStepOff, Detail: "2-step verification was turned off."})
	return nil
}

// TwoStepEnabled reports whether 2-step verification is on for an account.
func (s *Service) TwoStepEnabled(ctx context.Context, accountID int64) (bool, error) {
	_, err := s.Store.GetTOTP(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("2-step verification of account %d: %w", accountID, err)
	}
	return true, nil
}

// VerifyTOTP checks a TOTP code (RFC 6238: HMAC-SHA-1, 6 digits, 30 s
// steps, one step of clock drift either way) for the second step of a
// sign-in. A code is accepted once: one of the step last accepted, or of
// an earlier step, is refused, so a code seen over a shoulder or in a
// log cannot be replayed. A wrong or used code gives an error wrapping
// ErrAuthFailed, and so does an account without 2-step verification.
func (s *Service) VerifyTOTP(ctx context.Context, accountID int64, code string) error {
	t, err := s.Store.GetTOTP(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: 2-step verification is off", ErrAuthFailed)
	}
	if err != nil {
		return fmt.Errorf("verify TOTP of account %d: %w", accountID, err)
	}
	step, ok := matchTOTP(t.Secret, strings.TrimSpace(code), s.now())
	if !ok {
		return fmt.Errorf("%w: wrong TOTP code", ErrAuthFailed)
	}
	if step <= t.LastStep {
		return fmt.Errorf("%w: TOTP code already used", ErrAuthFailed)
	}
	used, err := s.Store.UseTOTPStep(ctx, accountID, step)
	if err != nil {
		return fmt.Errorf("verify TOTP of account %d: %w", accountID, err)
	}
	if !used {
		return fmt.Errorf("%w: TOTP code already used", ErrAuthFailed)
	}
	return nil
}

// matchTOTP returns the time step, within the skew of now, whose code is
// code.
func matchTOTP(secret []byte, code string, now time.Time) (step int64, ok bool) {
	if len(code) != 6 {
		return 0, false
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	cur := now.Unix() / totpPeriod
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(b32, time.Unix((cur+d)*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
		})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return cur + d, true
		}
	}
	return 0, false
}

// UseRecoveryCode accepts one of the account's recovery codes instead of a
// TOTP code, once. A wrong or used code gives an error wrapping
// ErrAuthFailed.
func (s *Service) UseRecoveryCode(ctx context.Context, accountID int64, code string) error {
	ok, err := s.Store.UseRecoveryCode(ctx, accountID, credentialHash(code))
	if err != nil {
		return fmt.Errorf("recovery code of account %d: %w", accountID, err)
	}
	if !ok {
		return fmt.Errorf("%w: wrong or used recovery code", ErrAuthFailed)
	}
	return nil
}

// AddAppPassword makes a new app password for the given scopes (any of
// store.ScopeIMAP, ScopePOP3, ScopeSMTP) and returns it with the password,
// which is shown this once: only its hash is kept. The name tells the
// user's clients apart and is unique per account.
func (s *Service) AddAppPassword(ctx context.Context, address, name string, scopes []string) (store.AppPassword, string, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return store.AppPassword{}, "", err
	}
	name = strings.TrimSpace(name)
	scopes = slices.Clone(scopes)
	for i, sc := range scopes {
		scopes[i] = strings.ToLower(strings.TrimSpace(sc))
	}
	password := randomCode(appPasswordLetters)
	p, err := s.Store.CreateAppPassword(ctx, store.NewAppPassword{
		AccountID: acc.ID, Name: name, Scopes: scopes, Hash: credentialHash(password), Created: s.now(),
	})
	if errors.Is(err, store.ErrInvalid) {
		return store.AppPassword{}, "", invalidf("app password: %v", err)
	}
	if err != nil {
		return store.AppPassword{}, "", fmt.Errorf("add app password %q to %s: %w", name, acc.Address, err)
	}
	s.alert(ctx, Alert{AccountID: acc.ID, Kind: AlertAppPasswordAdded,
		Detail: fmt.Sprintf("An app password named %q was added, for %s.", p.Name, strings.Join(p.Scopes, ", "))})
	return p, password, nil
}

// ListAppPasswords lists an account's app passwords, oldest first.
func (s *Service) ListAppPasswords(ctx context.Context, address string) ([]store.AppPassword, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return nil, err
	}
	ps, err := s.Store.ListAppPasswords(ctx, acc.ID)
	if err != nil {
		return nil, fmt.Errorf("app passwords of %s: %w", acc.Address, err)
	}
	return ps, nil
}

// RevokeAppPassword deletes an app password, named by its ID or its name
// (a name that is all digits is taken as an ID first), and returns it. The
// live sessions that logged in with it are ended through Revoked.
func (s *Service) RevokeAppPassword(ctx context.Context, address, idOrName string) (store.AppPassword, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return store.AppPassword{}, err
	}
	ps, err := s.Store.ListAppPasswords(ctx, acc.ID)
	if err != nil {
		return store.AppPassword{}, fmt.Errorf("revoke app password of %s: %w", acc.Address, err)
	}
	i := slices.IndexFunc(ps, func(p store.AppPassword) bool { return strconv.FormatInt(p.ID, 10) == idOrName })
	if i < 0 {
		i = slices.IndexFunc(ps, func(p store.AppPassword) bool { return p.Name == strings.TrimSpace(idOrName) })
	}
	if i < 0 {
		return store.AppPassword{}, fmt.Errorf("revoke app password %q of %s: %w", idOrName, acc.Address, store.ErrNotFound)
	}
	p := ps[i]
	if err := s.Store.DeleteAppPassword(ctx, acc.ID, p.ID); err != nil {
		return store.AppPassword{}, fmt.Errorf("revoke app password %q of %s: %w", p.Name, acc.Address, err)
	}
	s.ForgetLogins(acc.Address)
	if s.Revoked != nil {
		s.Revoked(acc.ID, p.ID)
	}
	return p, nil
}

// Activity returns an account's login log, newest first: entries since
// since (zero: all kept), at most limit (0: 100). An empty address gives
// the log of every account, with the attempts on no account.
func (s *Service) Activity(ctx context.Context, address string, since time.Time, limit int) ([]store.LogEntry, error) {
	if address == "" {
		es, err := s.Store.QueryLog(ctx, store.LogQuery{Kind: "login", Since: since, Limit: limit})
		if err != nil {
			return nil, fmt.Errorf("activity: %w", err)
		}
		return es, nil
	}
	acc, err := s.account(ctx, address)
	if err != nil {
		return nil, err
	}
	es, err := s.Store.QueryLog(ctx, store.LogQuery{AccountID: acc.ID, Kind: "login", Since: since, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("activity of %s: %w", acc.Address, err)
	}
	return es, nil
}

// account parses an address and returns its account.
func (s *Service) account(ctx context.Context, address string) (store.Account, error) {
	a, err := ParseAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	acc, err := s.Store.GetAccount(ctx, a.String())
	if err != nil {
		return store.Account{}, fmt.Errorf("account %s: %w", a, err)
	}
	return acc, nil
}

func (s *Service) totpIssuer() string {
	if s.TOTPIssuer == "" {
		return DefaultTOTPIssuer
	}
	return s.TOTPIssuer
}

// totpSecretBytes decodes the base32 key of an otp.Key.
func totpSecretBytes(b32 string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(b32, "="))
}

// randomCode returns n letters of credentialAlphabet, uniformly random, in
// groups of four joined by hyphens.
func randomCode(n int) string {
	var b strings.Builder
	buf := make([]byte, 1)
	const limit = 256 - 256%len(credentialAlphabet) // rejection keeps it uniform
	for i := 0; i < n; {
		rand.Read(buf) // never fails (crypto/rand)
		if int(buf[0]) >= limit {
			continue
		}
		if i > 0 && i%groupLetters == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(credentialAlphabet[int(buf[0])%len(credentialAlphabet)])
		i++
	}
	return b.String()
}

// normalizeCode undoes what a user or client may do to a generated code:
// upper case, spaces or no hyphens between the groups.
func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// looksGenerated reports whether a password has the shape of a generated
// credential of n letters, so that only those are looked up.
func looksGenerated(code string, n int) bool {
	c := normalizeCode(code)
	return len(c) == n && strings.Trim(c, credentialAlphabet) == ""
}

// credentialHash is how app passwords and recovery codes are kept: the
// SHA-256 of their normalised form. A slow, salted hash such as argon2id
// guards low-entropy passwords against offline guessing; these are
// generated with 72 to 108 random bits, which no amount of guessing
// reaches, so a fast hash loses nothing, and lets a login find its app
// password by an index lookup instead of trying each in turn.
func credentialHash(code string) []byte {
	h := sha256.Sum256([]byte(normalizeCode(code)))
	return h[:]
}
