package cli

import (
	"path/filepath"
	"testing"

	"sealpost.dev/sealpost/internal/config"
)

// TestDevConfigQuotesPaths writes the dev config for data directories
// whose names TOML would otherwise misread, and reads it back.
func TestDevConfigQuotesPaths(t *testing.T) {
	for _, name := range []string{`plain`, `with "quotes"`, `back\slash`, "tab\there", `x" injected = "y`} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			path := filepath.Join(t.TempDir(), "sealpost.toml")
			if err := writeDevConfig(path, dir, 10000); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DataDir != dir {
				t.Errorf("data_dir = %q, want %q", cfg.DataDir, dir)
			}
			if cfg.Listeners.HTTPS != "127.0.0.1:10443" || cfg.Listeners.Admin != "127.0.0.1:18080" || cfg.Queue.Deliver {
				t.Errorf("listeners/queue = %+v %+v", cfg.Listeners, cfg.Queue)
			}
		})
	}
}

func TestRandomPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := randomPassword()
		if len(p) != 20 || seen[p] {
			t.Fatalf("randomPassword() = %q (seen before: %v)", p, seen[p])
		}
		seen[p] = true
	}
}
