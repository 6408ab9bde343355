package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/admin"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Hostname = "mail.example.org"
	cfg.DataDir = t.TempDir()
	cfg.Domains = []string{"example.org"}
	cfg.TLS.Mode = config.TLSModeSelfSigned
	cfg.Listeners = config.Listeners{HTTPS: "127.0.0.1:0", Admin: "127.0.0.1:0"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startServer(t *testing.T, cfg *config.Config) (*Server, context.CancelFunc, chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Options{Config: cfg, Resolver: dnsx.NewStub(dnsx.NewZone(), nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return srv, cancel, done
}

func TestServeAndShutdown(t *testing.T) {
	cfg := testConfig(t)
	srv, cancel, done := startServer(t, cfg)
	addrs := srv.Addrs()
	if len(addrs) != 3 || addrs["https"] == nil || addrs["admin"] == nil || addrs[AdminSocket] == nil {
		t.Fatalf("listeners = %v, want https, admin and the admin socket", addrs)
	}
	if _, err := srv.Accounts().ListDomains(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds, _ := srv.Store().ListDomains(context.Background())
	if len(ds) != 1 || ds[0].Name != "example.org" {
		t.Errorf("domains = %+v, want example.org created from the config", ds)
	}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org"},
	}}
	for _, url := range []string{
		"https://" + addrs["https"].String() + "/healthz",
		"http://" + addrs["admin"].String() + "/healthz",
		"http://" + addrs["admin"].String() + "/metrics",
	} {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", url, resp.StatusCode, body)
		}
		if strings.HasSuffix(url, "/metrics") && !strings.Contains(string(body), "\nsealpost_filter_learning_dropped_total 0\n") {
			t.Errorf("metrics lack the filter's dropped lessons:\n%s", body)
		}
	}

	// With nothing in flight, shutdown is prompt, stops the listeners and
	// closes the store.
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown took longer than 10s")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("idle shutdown took %v", d)
	}
	if err := srv.Store().Ping(context.Background()); err == nil {
		t.Error("store still open after shutdown")
	}
	if _, err := net.Dial("tcp", addrs["https"].String()); err == nil {
		t.Error("https listener still accepting after shutdown")
	}
}

func TestNewFailsOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t)
	cfg.Listeners.Admin = ln.Addr().String()
	_, err = New(context.Background(), Options{Config: cfg, Resolver: dnsx.NewStub(dnsx.NewZone(), nil)})
	if err == nil || !strings.Contains(err.Error(), "listeners.admin") {
		t.Fatalf("New with a busy admin port: %v, want an error naming listeners.admin", err)
	}
	if _, err := os.Lstat(admin.SocketPath(cfg.DataDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed New left its admin socket: %v", err)
	}
}

func TestNewRequiresResolver(t *testing.T) {
	if _, err := New(context.Background(), Options{Config: testConfig(t)}); err == nil {
		t.Fatal("New without a resolver succeeded")
	}
}

// TestTextIndexer checks the wiring of the text indexer: a delivery that
// rings the hub gets its text indexed while the server runs.
func TestTextIndexer(t *testing.T) {
	srv, _, _ := startServer(t, testConfig(t))
	ctx := context.Background()
	a, err := srv.Accounts().AddAccount(ctx, "ann@example.org", "a long enough password", 0)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := srv.Store().GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store().Deliver(ctx, strings.NewReader("Subject: hello\r\n\r\nindexed text\r\n"), []store.Target{{MailboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	srv.hub.Changed(inbox.ID)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		hits, err := srv.Store().SearchText(ctx, inbox.ID, store.TextBody, "indexed text")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits.UIDs) == 1 && len(hits.Unindexed) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not indexed after 10 s: %+v", hits)
		}
	}
}

// TestCertificateNames: the certificate names the MTA-STS policy and
// autoconfig hosts of every hosted domain, those added with the CLI too
// (at the next start in self-signed mode; on demand in acme mode, as
// mailDomainHost allows).
func TestCertificateNames(t *testing.T) {
	cfg := testConfig(t)
	srv, cancel, done := startServer(t, cfg)
	if _, err := srv.Accounts().AddDomain(t.Context(), "added.example"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"mta-sts.added.example": true, "autoconfig.added.example": true, "autoconfig.example.org": true, "autodiscover.added.example": true,
		"mta-sts.unknown.example": false, "added.example": false, "www.added.example": false,
	} {
		if got := srv.mailDomainHost(t.Context(), name); got != want {
			t.Errorf("mailDomainHost(%q) = %v, want %v", name, got, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the cleanup

	srv, _, _ = startServer(t, cfg) // same data_dir: the certificate is made anew
	conn, err := tls.Dial("tcp", srv.Addrs()["https"].String(), &tls.Config{InsecureSkipVerify: true, ServerName: "mta-sts.added.example"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	for _, name := range []string{"mail.example.org", "mta-sts.example.org", "autoconfig.example.org", "mta-sts.added.example",
		"autoconfig.added.example", "autodiscover.added.example"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate names %q: %v", leaf.DNSNames, err)
		}
	}
}

// TestPruneActivity: at start the server deletes event log entries older
// than log.activity_retention and keeps the others.
func TestPruneActivity(t *testing.T) {
	cfg := testConfig(t)
	cfg.Log.ActivityRetention = config.Duration(30 * 24 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := New(ctx, Options{Config: cfg, Resolver: dnsx.NewStub(dnsx.NewZone(), nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Store()
	now := time.Now()
	for _, age := range []time.Duration{31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
		if _, err := st.AppendLog(ctx, store.LogEntry{Time: now.Add(-age), Kind: "login", Protocol: "imap", Outcome: "fail"}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := st.QueryLog(ctx, store.LogQuery{Kind: "login"})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 2 {
			if oldest := now.Sub(es[1].Time); oldest > 30*24*time.Hour {
				t.Errorf("kept an entry %v old", oldest)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, %d entries: %+v", len(es), es)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
