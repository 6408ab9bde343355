package dnsx_test

import (
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// TestTXTOverTheWire: a TXT text with quotes, backslashes, UTF-8 and a
// control byte reads back as published, from a real server.
func TestTXTOverTheWire(t *testing.T) {
	texts := map[string]string{
		"quotes.wire.example.":  `v=spf1 exp=%{d} "quoted" \ -all`,
		"utf8.wire.example.":    "Nachricht abgelehnt: Absender ungültig ✓",
		"control.wire.example.": "tab\there",
	}
	zone := ""
	for name, text := range texts {
		zone += name + " TXT " + dnsx.ZoneTXT(text) + "\n"
	}
	srv := dnstest.Start(t, zone)
	c, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range texts {
		got, _, err := c.LookupTXT(t.Context(), name)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
}
