package instance

import (
	"net/netip"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/greylist"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

func TestGreylist(t *testing.T) {
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Default()
	if Greylist(cfg, st) != nil {
		t.Fatal("greylisting on by default")
	}
	// The config's defaults are the package's.
	g := cfg.Greylist
	if time.Duration(g.Delay) != greylist.DefaultDelay || time.Duration(g.Window) != greylist.DefaultWindow || time.Duration(g.Whitelist) != greylist.DefaultWhitelist {
		t.Errorf("[greylist] defaults %+v differ from package greylist's", g)
	}
	cfg.Greylist.Enabled = true
	cfg.Greylist.Delay = config.Duration(2 * time.Minute)
	gl := Greylist(cfg, st)
	ok, wait, err := gl.Check(t.Context(), netip.MustParseAddr("192.0.2.1"), "a@example.org", "b@example.com")
	if ok || wait != 2*time.Minute || err != nil {
		t.Errorf("first attempt: %v %v %v", ok, wait, err)
	}
}
