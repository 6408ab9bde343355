package server

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// TestRotateDKIM runs the server's rotation job with short rounds: a
// domain whose new keys DNS publishes gets them activated and its old keys
// deleted, with each step logged; a domain whose DNS holds another key
// keeps its keys pending, and that is logged as a warning.
func TestRotateDKIM(t *testing.T) {
	cfg := testConfig(t)
	cfg.Domains = []string{"example.org", "other.example"}
	// Below what the config allows, so the test takes milliseconds.
	cfg.DKIM.PublishHold = config.Duration(time.Nanosecond)
	cfg.DKIM.Overlap = config.Duration(time.Millisecond)
	stub := dnsx.NewStub(nil, nil)
	logs := &logRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := New(ctx, Options{Config: cfg, Resolver: stub, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	var old, fresh []store.DKIMKey
	for _, d := range cfg.Domains {
		keys, err := srv.Accounts().DKIMKeys(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, keys...)
		if keys, err = srv.Accounts().RotateDKIM(ctx, d); err != nil {
			t.Fatal(err)
		}
		fresh = append(fresh, keys...)
		if err := stub.Zone().AddDomain(d); err != nil {
			t.Fatal(err)
		}
	}
	// example.org publishes its new keys; other.example its old RSA key
	// where the new one belongs.
	var zone strings.Builder
	for i, k := range fresh {
		domain, published := cfg.Domains[i/2], k
		if domain == "other.example" && k.Algorithm == "rsa" {
			published = old[3]
		}
		rec, err := account.DKIMRecord(published)
		if err != nil {
			t.Fatal(err)
		}
		zone.WriteString(k.Selector + "._domainkey." + domain + ". TXT " + dnsx.ZoneTXT(rec) + "\n")
	}
	if err := stub.Zone().Add(zone.String()); err != nil {
		t.Fatal(err)
	}
	srv.dkimFirst, srv.dkimEvery = time.Millisecond, 20*time.Millisecond
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	for deadline := time.Now().Add(20 * time.Second); !logs.has("retired DKIM keys deleted"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no deletion logged in 20 s; log:\n%s", logs.String())
		}
	}
	states := func(domain string) map[string]store.DKIMKeyState {
		keys, err := srv.Store().ListDKIMKeys(ctx, domain)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]store.DKIMKeyState{}
		for _, k := range keys {
			m[k.Selector] = k.State
		}
		return m
	}
	if got := states("example.org"); len(got) != 2 || got[fresh[0].Selector] != store.DKIMActive || got[fresh[1].Selector] != store.DKIMActive {
		t.Errorf("example.org keys after the rotation: %v", got)
	}
	if got := states("other.example"); len(got) != 4 || got[fresh[2].Selector] != store.DKIMPending || got[old[2].Selector] != store.DKIMActive {
		t.Errorf("other.example keys with a wrong record: %v", got)
	}
	for _, want := range []string{
		"INFO a pending DKIM key's record is published in DNS domain=example.org selectors=[" + fresh[0].Selector + "]",
		"INFO new DKIM keys sign from now on domain=example.org selectors=[" + fresh[0].Selector + " " + fresh[1].Selector + "] replaced=[" + old[0].Selector + " " + old[1].Selector + "]",
		"INFO retired DKIM keys deleted: remove their DNS records domain=example.org selectors=[" + old[0].Selector + " " + old[1].Selector + "]",
		"WARN DNS publishes something else than a pending DKIM key: not activating it; publish the record sealpost dns shows domain=other.example selectors=[" + fresh[3].Selector + "]",
	} {
		if !logs.has(want) {
			t.Errorf("not logged: %s\nlog:\n%s", want, logs.String())
		}
	}
	if logs.has("new DKIM keys sign from now on domain=other.example") {
		t.Error("other.example's keys were activated with another key in DNS")
	}
}

// logRecorder is a slog.Handler that keeps each record as "LEVEL message
// key=value ...".
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

// has reports whether a line holds text.
func (l *logRecorder) has(text string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(s string) bool { return strings.Contains(s, text) })
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
