package instance

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/authguard"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// TestGuardLimits keeps the defaults of [login_guard] and of authguard in
// step, and checks that each key reaches its limit.
func TestGuardLimits(t *testing.T) {
	if got, want := GuardLimits(config.Default()), authguard.DefaultLimits(); got != want {
		t.Errorf("default [login_guard] gives %+v, authguard defaults are %+v", got, want)
	}
	cfg := config.Default()
	cfg.LoginGuard.IPv6Prefix = 56
	cfg.LoginGuard.IPFailures = 3
	cfg.LoginGuard.TrustPeriod = config.Duration(30 * 24 * time.Hour)
	l := GuardLimits(cfg)
	if l.IPv6Prefix != 56 || l.IPFailures != 3 || l.TrustPeriod != 30*24*time.Hour {
		t.Errorf("GuardLimits = %+v", l)
	}
}

func TestNewGuard(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Default()
	cfg.LoginGuard.IPFailures = 2
	cfg.LoginGuard.BaseDelay, cfg.LoginGuard.MaxDelay = 0, 0
	g, err := NewGuard(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := netip.MustParseAddr("127.0.0.2")
	g.Record(ctx, from, "a@example.com", false)
	g.Record(ctx, from, "a@example.com", false)
	if err := g.Admit(ctx, from, "a@example.com"); err == nil {
		t.Error("admitted after ip_failures = 2 failures")
	}
	cfg.LoginGuard.MaxTracked = 1
	if _, err := NewGuard(cfg, st, nil); err == nil {
		t.Error("NewGuard accepted max_tracked = 1")
	}
}

func TestAccountsMaxConcurrentChecks(t *testing.T) {
	cfg := config.Default()
	cfg.Passwords.MaxConcurrentChecks = 3
	if got := Accounts(cfg, nil).MaxConcurrentChecks; got != 3 {
		t.Errorf("MaxConcurrentChecks = %d, want 3", got)
	}
}
