package account

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSetRecoveryAddress(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fixedClock(s, t0)
	acc := mustAccount(t, s, "user@example.com")
	su := StepUp{AccountID: acc.ID, Time: t0}
	alerts := &recordedAlerts{}
	s.Alerts = alerts

	steps := []struct {
		set     string
		wantErr error
		want    string   // the recovery address after
		alsoTo  []string // of the alert raised; nil with noAlert
		noAlert bool
	}{
		{set: "not an address", wantErr: ErrInvalid, noAlert: true},
		{set: "User@Example.com", wantErr: ErrInvalid, noAlert: true}, // the account itself
		{set: "Me@Elsewhere.Example", want: "me@elsewhere.example"},
		{set: "me@elsewhere.example", want: "me@elsewhere.example", noAlert: true}, // no change
		{set: "new@elsewhere.example", want: "new@elsewhere.example", alsoTo: []string{"me@elsewhere.example"}},
		{set: "", want: "", alsoTo: []string{"new@elsewhere.example"}},
		{set: "", want: "", noAlert: true},
	}
	for _, st := range steps {
		alerts.sent = nil
		err := s.SetRecoveryAddress(ctx, su, "user@example.com", st.set)
		if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
			t.Fatalf("set %q: %v, want %v", st.set, err, st.wantErr)
		}
		if st.wantErr != nil {
			continue
		}
		if got, err := s.RecoveryAddress(ctx, "user@example.com"); err != nil || got != st.want {
			t.Errorf("after set %q: recovery %q, %v; want %q", st.set, got, err, st.want)
		}
		switch {
		case st.noAlert && len(alerts.sent) != 0:
			t.Errorf("set %q: alerts %+v, want none", st.set, alerts.sent)
		case !st.noAlert && (len(alerts.sent) != 1 || alerts.sent[0].Kind != AlertRecoveryChanged ||
			!slices.Equal(alerts.sent[0].AlsoTo, st.alsoTo) || alerts.sent[0].Detail == ""):
			t.Errorf("set %q: alerts %+v, want one recovery-changed to also %v", st.set, alerts.sent, st.alsoTo)
		}
	}
}

// TestPasswordChangeEndsSessions checks both the owner's and the
// administrator's password changes end the account's sessions.
func TestPasswordChangeEndsSessions(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fixedClock(s, t0)
	acc := mustAccount(t, s, "user@example.com")
	var ended []int64
	s.EndSessions = func(id int64) { ended = append(ended, id) }
	if err := s.SetPassword(ctx, "user@example.com", "the administrator's new one"); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, StepUp{AccountID: acc.ID, Time: t0}, "user@example.com", "the owner's new password"); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, StepUp{}, "user@example.com", "a refused new password"); !errors.Is(err, ErrStepUpRequired) {
		t.Fatalf("change without step-up: %v", err)
	}
	if !slices.Equal(ended, []int64{acc.ID, acc.ID}) {
		t.Errorf("EndSessions called for %v, want twice for %d", ended, acc.ID)
	}
	if _, err := s.Authenticate(ctx, "user@example.com", "the owner's new password"); err != nil {
		t.Errorf("the new password: %v", err)
	}
}
