package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

const testPassword = "a long enough password" // mustAccount's

func TestStepUp(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		twoStep bool
		user    string
		pass    string
		code    func(t *testing.T, ts TwoStep) string
		wantErr bool
		reason  string // in the log's Detail for a refusal
		method  string
	}{
		{name: "password", user: "user@example.com", pass: testPassword, method: "password"},
		{name: "password, case of address", user: "User@Example.COM", pass: testPassword, method: "password"},
		{name: "wrong password", user: "user@example.com", pass: "not the password", wantErr: true, reason: "wrong password"},
		{name: "unknown account", user: "nobody@example.com", pass: testPassword, wantErr: true, reason: "no such account"},
		{name: "not an address", user: "nobody", pass: testPassword, wantErr: true, reason: "invalid address"},
		{name: "2-step, TOTP code", twoStep: true, user: "user@example.com", pass: testPassword,
			code: func(t *testing.T, ts TwoStep) string { return codeAt(t, ts, t0) }, method: "password+totp"},
		{name: "2-step, recovery code", twoStep: true, user: "user@example.com", pass: testPassword,
			code: func(_ *testing.T, ts TwoStep) string { return ts.RecoveryCodes[3] }, method: "password+recovery-code"},
		{name: "2-step, no code", twoStep: true, user: "user@example.com", pass: testPassword,
			code: func(*testing.T, TwoStep) string { return "" }, wantErr: true, reason: "wrong TOTP code"},
		{name: "2-step, wrong code", twoStep: true, user: "user@example.com", pass: testPassword,
			code: func(*testing.T, TwoStep) string { return "000000" }, wantErr: true, reason: "wrong TOTP code"},
		{name: "2-step, wrong recovery code", twoStep: true, user: "user@example.com", pass: testPassword,
			code: func(*testing.T, TwoStep) string { return "aaaa-aaaa-aaaa-aaaa" }, wantErr: true, reason: "wrong or used recovery code"},
		{name: "2-step, wrong password, right code", twoStep: true, user: "user@example.com", pass: "not the password",
			wantErr: true, reason: "wrong password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(t)
			ctx := t.Context()
			fixedClock(s, t0)
			acc := mustAccount(t, s, "user@example.com")
			code := ""
			if tt.twoStep {
				ts, err := s.EnableTwoStep(ctx, "user@example.com")
				if err != nil {
					t.Fatal(err)
				}
				code = codeAt(t, ts, t0)
				if tt.code != nil {
					code = tt.code(t, ts)
				}
			}
			su, err := s.StepUp(ctx, tt.user, tt.pass, code)
			if tt.wantErr {
				if !errors.Is(err, ErrAuthFailed) || su != (StepUp{}) {
					t.Fatalf("StepUp = %+v, %v; want a refusal", su, err)
				}
			} else if err != nil || su.AccountID != acc.ID || !su.Time.Equal(t0) {
				t.Fatalf("StepUp = %+v, %v; want account %d at %v", su, err, acc.ID, t0)
			}
			es, err := s.Store.QueryLog(ctx, store.LogQuery{Kind: "stepup"})
			if err != nil || len(es) != 1 {
				t.Fatalf("step-up log %+v, %v: want one entry", es, err)
			}
			e := es[0]
			switch {
			case tt.wantErr && (e.Outcome != "fail" || !strings.Contains(e.Detail, tt.reason)):
				t.Errorf("log entry %+v: want a failure for %q", e, tt.reason)
			case !tt.wantErr && (e.Outcome != "ok" || e.AccountID != acc.ID || e.Method != tt.method):
				t.Errorf("log entry %+v: want a success of account %d by %s", e, acc.ID, tt.method)
			}
		})
	}
}

// TestStepUpCodesOnce checks a TOTP code and a recovery code each step up
// once.
func TestStepUpCodesOnce(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fixedClock(s, t0)
	mustAccount(t, s, "user@example.com")
	ts, err := s.EnableTwoStep(ctx, "user@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{codeAt(t, ts, t0), ts.RecoveryCodes[0]} {
		if _, err := s.StepUp(ctx, "user@example.com", testPassword, code); err != nil {
			t.Fatalf("first use of %s: %v", code, err)
		}
		if _, err := s.StepUp(ctx, "user@example.com", testPassword, code); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("second use of %s: %v, want a refusal", code, err)
		}
	}
}

func TestRequireStepUp(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		su   StepUp
		ok   bool
	}{
		{"fresh", StepUp{AccountID: 7, Time: t0}, true},
		{"4m59s old", StepUp{AccountID: 7, Time: t0.Add(-StepUpWindow + time.Second)}, true},
		{"exactly the window", StepUp{AccountID: 7, Time: t0.Add(-StepUpWindow)}, true},
		{"a second too old", StepUp{AccountID: 7, Time: t0.Add(-StepUpWindow - time.Second)}, false},
		{"zero", StepUp{}, false},
		{"no time", StepUp{AccountID: 7}, false},
		{"another account", StepUp{AccountID: 8, Time: t0}, false},
		{"from the future", StepUp{AccountID: 7, Time: t0.Add(time.Hour)}, false},
	}
	s := &Service{Now: func() time.Time { return t0 }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.RequireStepUp(tt.su, 7)
			if tt.ok && err != nil {
				t.Errorf("RequireStepUp = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrStepUpRequired) {
				t.Errorf("RequireStepUp = %v, want ErrStepUpRequired", err)
			}
		})
	}
}

// TestRiskyChangesTakeStepUp checks each of the owner's risky changes
// refuses a missing, stale or foreign step-up, changing nothing, and
// works with a fresh one.
func TestRiskyChangesTakeStepUp(t *testing.T) {
	changes := []struct {
		name   string
		change func(ctx context.Context, s *Service, su StepUp) error
		alert  AlertKind
	}{
		{"change password", func(ctx context.Context, s *Service, su StepUp) error {
			return s.ChangePassword(ctx, su, "user@example.com", "another long passphrase")
		}, AlertPasswordChanged},
		{"add app password", func(ctx context.Context, s *Service, su StepUp) error {
			_, _, err := s.AddAppPasswordStepUp(ctx, su, "user@example.com", "phone", []string{"imap"})
			return err
		}, AlertAppPasswordAdded},
		{"turn 2-step off", func(ctx context.Context, s *Service, su StepUp) error {
			return s.DisableTwoStepStepUp(ctx, su, "user@example.com")
		}, AlertTwoStepOff},
		{"set recovery address", func(ctx context.Context, s *Service, su StepUp) error {
			return s.SetRecoveryAddress(ctx, su, "user@example.com", "me@elsewhere.example")
		}, AlertRecoveryChanged},
	}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		su   func(own, other StepUp) StepUp
		ok   bool
	}{
		{"none", func(StepUp, StepUp) StepUp { return StepUp{} }, false},
		{"another account's", func(_, other StepUp) StepUp { return other }, false},
		{"stale", func(own, _ StepUp) StepUp { own.Time = own.Time.Add(-StepUpWindow - time.Second); return own }, false},
		{"fresh", func(own, _ StepUp) StepUp { return own }, true},
	}
	for _, c := range changes {
		for _, st := range steps {
			t.Run(c.name+"/"+st.name, func(t *testing.T) {
				s := newService(t)
				ctx := t.Context()
				fixedClock(s, t0)
				mustAccount(t, s, "user@example.com")
				mustAccount(t, s, "other@example.com")
				if _, err := s.EnableTwoStep(ctx, "user@example.com"); err != nil {
					t.Fatal(err)
				}
				own := StepUp{AccountID: must(s.Store.GetAccount(ctx, "user@example.com")).ID, Time: t0,
					RemoteIP: netip.MustParseAddr("198.51.100.4"), Client: "Firefox"}
				other := StepUp{AccountID: must(s.Store.GetAccount(ctx, "other@example.com")).ID, Time: t0}
				alerts := &recordedAlerts{}
				s.Alerts = alerts
				before := credSnapshot(t, s)
				err := c.change(ctx, s, st.su(own, other))
				if !st.ok {
					if !errors.Is(err, ErrStepUpRequired) {
						t.Fatalf("got %v, want ErrStepUpRequired", err)
					}
					if after := credSnapshot(t, s); after != before || len(alerts.kinds()) != 0 {
						t.Errorf("a refused change changed something or raised %v", alerts.kinds())
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := alerts.kinds(); len(got) != 1 || got[0] != c.alert {
					t.Fatalf("alerts %v, want [%s]", got, c.alert)
				}
				if a := alerts.sent[0]; a.RemoteIP != own.RemoteIP || a.Client != own.Client {
					t.Errorf("alert from %v %q, want where the step-up came from", a.RemoteIP, a.Client)
				}
			})
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// credSnapshot is snapshot with the credentials and recovery addresses of
// the accounts.
func credSnapshot(t *testing.T, s *Service) string {
	t.Helper()
	ctx := t.Context()
	out := snapshot(t, s)
	as, err := s.Store.ListAccounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		on, err := s.TwoStepEnabled(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := s.Store.ListAppPasswords(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.RecoveryAddress(ctx, a.Address)
		if err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf("%s: 2-step %v, %d app passwords, recovery %q\n", a.Address, on, len(ps), r)
	}
	return out
}

// TestStepUpAttemptGuarded checks step-up goes through the Guard like a
// login when the remote address is known, and is logged with it.
func TestStepUpAttemptGuarded(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	acc := mustAccount(t, s, "user@example.com")
	g := &fakeGuard{}
	s.Guard = g
	ip := netip.MustParseAddr("192.0.2.9")
	attempt := func(pw string) error {
		_, err := s.StepUpAttempt(ctx, Attempt{Protocol: "web", Username: "User@example.com", Password: pw,
			RemoteIP: ip, Client: "Firefox"}, "")
		return err
	}
	if err := attempt("wrong password"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	su, err := s.StepUpAttempt(ctx, Attempt{Protocol: "web", Username: "user@example.com", Password: testPassword,
		RemoteIP: ip, Client: "Firefox"}, "")
	if err != nil || su.RemoteIP != ip || su.Client != "Firefox" || su.AccountID != acc.ID {
		t.Fatalf("StepUpAttempt = %+v, %v", su, err)
	}
	g.admitErr = fmt.Errorf("too many: %w", ErrLockedOut)
	if err := attempt(testPassword); !errors.Is(err, ErrAuthFailed) || !errors.Is(err, ErrLockedOut) {
		t.Fatalf("locked out: %v", err)
	}
	want := []string{"192.0.2.9 user@example.com fail", "192.0.2.9 user@example.com ok"}
	if strings.Join(g.recorded, "|") != strings.Join(want, "|") || len(g.admitted) != 3 {
		t.Errorf("guard admitted %v, recorded %v; want 3 admissions and %v", g.admitted, g.recorded, want)
	}
	es, err := s.Store.QueryLog(ctx, store.LogQuery{Kind: "stepup"})
	if err != nil || len(es) != 3 {
		t.Fatalf("log %+v, %v", es, err)
	}
	if e := es[0]; e.Detail != "locked out" || e.RemoteIP != ip || e.Client != "Firefox" || e.AccountID != acc.ID {
		t.Errorf("newest entry %+v", e)
	}

	// Without a remote address the Guard is not asked.
	g.admitted = nil
	if _, err := s.StepUp(ctx, "user@example.com", testPassword, ""); err != nil || len(g.admitted) != 0 {
		t.Errorf("StepUp without an address: %v, guard asked %v", err, g.admitted)
	}
}
