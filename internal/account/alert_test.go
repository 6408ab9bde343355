package account

import (
	"context"
	"sync"
	"testing"
)

// recordedAlerts is an Alerter that keeps what it is sent.
type recordedAlerts struct {
	mu   sync.Mutex
	sent []Alert
}

func (r *recordedAlerts) Send(_ context.Context, a Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, a)
}

func (r *recordedAlerts) kinds() []AlertKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []AlertKind
	for _, a := range r.sent {
		out = append(out, a.Kind)
	}
	return out
}

func TestAlerts(t *testing.T) {
	tests := []struct {
		name   string
		change func(ctx context.Context, s *Service) error
		want   AlertKind
	}{
		{"app password", func(ctx context.Context, s *Service) error {
			_, _, err := s.AddAppPassword(ctx, "user@example.com", "phone", []string{"imap"})
			return err
		}, AlertAppPasswordAdded},
		{"2-step off", func(ctx context.Context, s *Service) error {
			if _, err := s.EnableTwoStep(ctx, "user@example.com"); err != nil {
				return err
			}
			return s.DisableTwoStep(ctx, "user@example.com")
		}, AlertTwoStepOff},
		{"password", func(ctx context.Context, s *Service) error {
			return s.SetPassword(ctx, "user@example.com", "a new and long passphrase")
		}, AlertPasswordChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(t)
			acc := mustAccount(t, s, "user@example.com")
			alerts := &recordedAlerts{}
			s.Alerts = alerts
			if err := tt.change(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			got := alerts.kinds()
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("alerts %v, want [%s]", got, tt.want)
			}
			if a := alerts.sent[0]; a.AccountID != acc.ID || a.Time.IsZero() || a.Detail == "" {
				t.Errorf("alert %+v lacks its account, time or detail", a)
			}
		})
	}
}
