// Package instance finds a Sealpost instance on disk and opens what the
// server and the administrative commands share: its config, its store and
// the account service over that store.
//
// An instance is named either by its config file (-config FILE) or by its
// data directory (--data DIR). A data directory made by `sealpost dev`
// holds its generated config as DIR/sealpost.toml; a bare directory is
// opened as embedded storage with default settings.
package instance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/authguard"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/mtasts"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/postgres"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// ConfigName is the name of the config file inside a data directory.
const ConfigName = "sealpost.toml"

// LoadConfig reads the config named by configPath or, if that is empty, the
// one inside dataDir. With neither, it fails.
func LoadConfig(configPath, dataDir string) (*config.Config, error) {
	switch {
	case configPath != "" && dataDir != "":
		return nil, errors.New("give either -config FILE or --data DIR, not both")
	case configPath != "":
		return config.Load(configPath)
	case dataDir != "":
		path := filepath.Join(dataDir, ConfigName)
		if _, err := os.Stat(path); err == nil {
			return config.Load(path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if _, err := os.Stat(dataDir); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		cfg := config.Default()
		abs, err := filepath.Abs(dataDir)
		if err != nil {
			return nil, err
		}
		cfg.DataDir = abs
		return cfg, nil
	default:
		return nil, errors.New("no instance named: give -config FILE or --data DIR")
	}
}

// OpenStore opens the store the config names.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	switch cfg.Storage.Backend {
	case "postgres":
		st, err := postgres.Open(ctx, string(cfg.Storage.PostgresDSN), postgres.Options{})
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		return st, nil
	default:
		st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "store"), sqlite.Options{})
		if err != nil {
			return nil, fmt.Errorf("open sqlite store: %w", err)
		}
		return st, nil
	}
}

// Accounts returns the account service with the config's password policy.
func Accounts(cfg *config.Config, st store.Store) *account.Service {
	p := cfg.Passwords
	return &account.Service{
		Store: st,
		Hasher: account.Hasher{
			Time:      uint32(p.Argon2Time),
			MemoryKiB: p.Argon2MemoryKiB(),
			Threads:   uint8(p.Argon2Threads),
		},
		MinPasswordLength:   p.MinLength,
		LoginCacheTTL:       loginCacheTTL(p.LoginCacheTTL),
		LoginCacheSize:      p.LoginCacheSize,
		MaxConcurrentChecks: p.MaxConcurrentChecks,
		DKIMKeyGen:          account.GenerateDKIMKeys,
		Postmaster:          cfg.Postmaster,
		WebHostname:         cfg.Hostname, // forwarding confirmation links
	}
}

// NewGuard returns the brute-force defence of logins the [login_guard]
// section asks for, keeping trusted networks in st. The server makes one
// and gives it to its account.Service, which consults it on every login.
func NewGuard(cfg *config.Config, st store.KV, log *slog.Logger) (*authguard.Guard, error) {
	return authguard.New(authguard.Options{Limits: GuardLimits(cfg), Store: st, Logger: log})
}

// GuardLimits returns the [login_guard] section as authguard.Limits.
func GuardLimits(cfg *config.Config) authguard.Limits {
	g := cfg.LoginGuard
	return authguard.Limits{
		IPv4Prefix:      g.IPv4Prefix,
		IPv6Prefix:      g.IPv6Prefix,
		BaseDelay:       time.Duration(g.BaseDelay),
		MaxDelay:        time.Duration(g.MaxDelay),
		IPFailures:      g.IPFailures,
		NetworkFailures: g.NetworkFailures,
		Window:          time.Duration(g.Window),
		AccountFailures: g.AccountFailures,
		AccountWindow:   time.Duration(g.AccountWindow),
		LockDuration:    time.Duration(g.LockDuration),
		MaxLockDuration: time.Duration(g.MaxLockDuration),
		TrustPeriod:     time.Duration(g.TrustPeriod),
		MaxTracked:      g.MaxTracked,
	}
}

// loginCacheTTL maps the config's 0s (remember nothing) to the Service's
// negative value, its zero meaning the default.
func loginCacheTTL(d config.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return time.Duration(d)
}

// Logger builds the structured logger the [log] section asks for.
func Logger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// MTASTSPolicy is the MTA-STS policy (RFC 8461) served for the hosted
// domains at https://mta-sts.DOMAIN/.well-known/mta-sts.txt: this host as
// the only MX, cached a week, enforced unless the certificate is
// self-signed (senders could not validate it, so testing: they report
// and deliver).
func MTASTSPolicy(cfg *config.Config) mtasts.Policy {
	mode := mtasts.ModeEnforce
	if cfg.TLS.Mode == config.TLSModeSelfSigned {
		mode = mtasts.ModeTesting
	}
	return mtasts.Policy{Mode: mode, MX: []string{cfg.Hostname}, MaxAge: 7 * 24 * time.Hour}
}
