package account

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"sealpost.dev/sealpost/internal/store"
)

// fixedClock makes the Service's clock settable.
func fixedClock(s *Service, t time.Time) *time.Time {
	now := t
	s.Now = func() time.Time { return now }
	return &now
}

// codeAt is what an authenticator app shows at t for the secret of ts.
func codeAt(t *testing.T, ts TwoStep, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(ts.Secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnableTwoStep(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	acc := mustAccount(t, s, "user@example.com")
	ts, err := s.EnableTwoStep(ctx, "User@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(ts.URI)
	if err != nil {
		t.Fatal(err)
	}
	if key.Type() != "totp" || key.Issuer() != "Sealpost" || key.AccountName() != "user@example.com" ||
		key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 || key.Secret() != ts.Secret {
		t.Errorf("otpauth URI %s: type %s issuer %s account %s period %d digits %d", ts.URI, key.Type(), key.Issuer(), key.AccountName(), key.Period(), key.Digits())
	}
	if b, _ := totpSecretBytes(ts.Secret); len(b) != 20 {
		t.Errorf("secret of %d bytes, want 20", len(b))
	}
	shape := regexp.MustCompile(`^[a-hjkmnp-z]{4}(-[a-hjkmnp-z]{4}){3}$`)
	if len(ts.RecoveryCodes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(ts.RecoveryCodes)))) != 10 {
		t.Errorf("recovery codes %v: want 10 different", ts.RecoveryCodes)
	}
	for _, c := range ts.RecoveryCodes {
		if !shape.MatchString(c) {
			t.Errorf("recovery code %q has not the shape xxxx-xxxx-xxxx-xxxx", c)
		}
	}
	if n, _ := s.Store.CountRecoveryCodes(ctx, acc.ID); n != 10 {
		t.Errorf("%d recovery codes stored, want 10", n)
	}
	if _, err := s.EnableTwoStep(ctx, "user@example.com"); !errors.Is(err, ErrTwoStepOn) {
		t.Errorf("enable twice: %v, want ErrTwoStepOn", err)
	}
	if on, err := s.TwoStepEnabled(ctx, acc.ID); !on || err != nil {
		t.Errorf("TwoStepEnabled = %v, %v", on, err)
	}
	if _, err := s.EnableTwoStep(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("enable for nobody: %v, want ErrNotFound", err)
	}

	if err := s.DisableTwoStep(ctx, "user@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.DisableTwoStep(ctx, "user@example.com"); !errors.Is(err, ErrTwoStepOff) {
		t.Errorf("disable twice: %v, want ErrTwoStepOff", err)
	}
	if on, err := s.TwoStepEnabled(ctx, acc.ID); on || err != nil {
		t.Errorf("TwoStepEnabled after disabling = %v, %v", on, err)
	}
	if err := s.UseRecoveryCode(ctx, acc.ID, ts.RecoveryCodes[0]); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("recovery code after disabling: %v, want ErrAuthFailed", err)
	}
}

// TestVerifyTOTP checks the codes of RFC 6238 with a step either side, and
// that each step's code is accepted once and never after a later one.
func TestVerifyTOTP(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	acc := mustAccount(t, s, "user@example.com")
	t0 := time.Date(2026, 11, 22, 12, 0, 10, 0, time.UTC) // 10 s into a step
	now := fixedClock(s, t0)
	ts, err := s.EnableTwoStep(ctx, acc.Address)
	if err != nil {
		t.Fatal(err)
	}
	step := 30 * time.Second
	for _, tc := range []struct {
		name  string
		clock time.Time
		code  string
		ok    bool
	}{
		{"current step", t0, codeAt(t, ts, t0), true},
		{"same code again", t0, codeAt(t, ts, t0), false},
		{"same code, clock a step on", t0.Add(step), codeAt(t, ts, t0), false},
		{"previous step after the current", t0.Add(step), codeAt(t, ts, t0.Add(-step)), false},
		{"next step (phone ahead)", t0.Add(step), codeAt(t, ts, t0.Add(2*step)), true},
		{"two steps ahead", t0.Add(step), codeAt(t, ts, t0.Add(4*step)), false},
		{"two steps behind", t0.Add(10 * step), codeAt(t, ts, t0.Add(8*step)), false},
		{"one step behind", t0.Add(10 * step), " " + codeAt(t, ts, t0.Add(9*step)) + " ", true},
		{"wrong code", t0.Add(20 * step), "000000", false},
		{"too short", t0.Add(20 * step), "12345", false},
		{"letters", t0.Add(20 * step), "abcdef", false},
		{"empty", t0.Add(20 * step), "", false},
	} {
		*now = tc.clock
		err := s.VerifyTOTP(ctx, acc.ID, tc.code)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: VerifyTOTP(%q) = %v, want ok %v", tc.name, tc.code, err, tc.ok)
		}
	}
	// A code that happens to be right for a step not yet used still works
	// after a refusal.
	*now = t0.Add(30 * step)
	if err := s.VerifyTOTP(ctx, acc.ID, codeAt(t, ts, *now)); err != nil {
		t.Errorf("fresh code after refusals: %v", err)
	}
	other := mustAccount(t, s, "other@example.com")
	if err := s.VerifyTOTP(ctx, other.ID, codeAt(t, ts, *now)); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("account without 2-step verification: %v, want ErrAuthFailed", err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	acc := mustAccount(t, s, "user@example.com")
	ts, err := s.EnableTwoStep(ctx, acc.Address)
	if err != nil {
		t.Fatal(err)
	}
	typed := strings.ToUpper(strings.ReplaceAll(ts.RecoveryCodes[1], "-", " "))
	for _, tc := range []struct {
		code string
		ok   bool
	}{
		{ts.RecoveryCodes[0], true},
		{ts.RecoveryCodes[0], false}, // once only
		{typed, true},                // as a user may type it
		{ts.RecoveryCodes[1], false},
		{"abcd-efgh-jkmn-pqrs", false},
		{"", false},
	} {
		err := s.UseRecoveryCode(ctx, acc.ID, tc.code)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrAuthFailed) {
			t.Errorf("UseRecoveryCode(%q) = %v, want ok %v", tc.code, err, tc.ok)
		}
	}
	if n, _ := s.Store.CountRecoveryCodes(ctx, acc.ID); n != 8 {
		t.Errorf("%d recovery codes left, want 8", n)
	}
}

func TestAppPasswords(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	acc := mustAccount(t, s, "user@example.com")
	var revoked [][2]int64
	s.Revoked = func(a, p int64) { revoked = append(revoked, [2]int64{a, p}) }

	if bits := float64(appPasswordLetters) * math.Log2(float64(len(credentialAlphabet))); bits < 96 {
		t.Errorf("app passwords have %.1f bits, want at least 96", bits)
	}
	p, pw, err := s.AddAppPassword(ctx, "user@example.com", " phone ", []string{"IMAP", "smtp"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-hjkmnp-z]{4}(-[a-hjkmnp-z]{4}){5}$`).MatchString(pw) {
		t.Errorf("app password %q has not the shape of six groups of four letters", pw)
	}
	if p.Name != "phone" || !slices.Equal(p.Scopes, []string{"imap", "smtp"}) || p.AccountID != acc.ID {
		t.Errorf("AddAppPassword = %+v", p)
	}
	if strings.Contains(string(p.Hash), pw) || len(p.Hash) != 32 {
		t.Errorf("stored hash %x", p.Hash)
	}
	_, pw2, err := s.AddAppPassword(ctx, "user@example.com", "laptop", []string{"pop3"})
	if err != nil {
		t.Fatal(err)
	}
	if pw2 == pw {
		t.Error("two app passwords alike")
	}
	for _, tc := range []struct {
		name   string
		scopes []string
		want   error
	}{
		{"phone", []string{"imap"}, store.ErrExists},
		{"web", []string{"web"}, ErrInvalid},
		{"none", nil, ErrInvalid},
		{"", []string{"imap"}, ErrInvalid},
		{"twice", []string{"imap", "IMAP"}, ErrInvalid},
	} {
		if _, _, err := s.AddAppPassword(ctx, "user@example.com", tc.name, tc.scopes); !errors.Is(err, tc.want) {
			t.Errorf("AddAppPassword(%q, %v) = %v, want %v", tc.name, tc.scopes, err, tc.want)
		}
	}
	if _, _, err := s.AddAppPassword(ctx, "nobody@example.com", "x", []string{"imap"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("for nobody: %v", err)
	}
	list, err := s.ListAppPasswords(ctx, "user@example.com")
	if err != nil || len(list) != 2 || list[0].Name != "phone" || list[1].Name != "laptop" {
		t.Fatalf("ListAppPasswords = %+v, %v", list, err)
	}

	if _, err := s.RevokeAppPassword(ctx, "user@example.com", "tablet"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	got, err := s.RevokeAppPassword(ctx, "user@example.com", "laptop")
	if err != nil || got.Name != "laptop" {
		t.Fatalf("revoke by name = %+v, %v", got, err)
	}
	got, err = s.RevokeAppPassword(ctx, "user@example.com", strconv.FormatInt(p.ID, 10))
	if err != nil || got.ID != p.ID {
		t.Fatalf("revoke by ID = %+v, %v", got, err)
	}
	if want := [][2]int64{{acc.ID, list[1].ID}, {acc.ID, p.ID}}; !slices.Equal(revoked, want) {
		t.Errorf("Revoked calls %v, want %v", revoked, want)
	}
	if list, _ := s.ListAppPasswords(ctx, "user@example.com"); len(list) != 0 {
		t.Errorf("left after revoking: %+v", list)
	}
}
