package server

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/admin"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/sessions"
)

// TestAdminSocket: the server serves the admin API on <data_dir>/admin.sock
// with mode 0600, a second server on the same data directory is refused,
// and the socket is gone after shutdown.
func TestAdminSocket(t *testing.T) {
	cfg := testConfig(t)
	srv, cancel, done := startServer(t, cfg)
	path := admin.SocketPath(cfg.DataDir)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin socket mode %v, want a socket with 0600", fi.Mode())
	}
	ctx := t.Context()
	a, err := srv.Accounts().AddAccount(ctx, "ana@example.org", "a long enough password", 0)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	id, _ := srv.Sessions().Add(sessionsInfo(a.ID, "imap"), func() { close(ended) })
	c := admin.NewClient(cfg.DataDir)
	list, err := c.Sessions(ctx, "ana@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Sessions) != 1 || list.Sessions[0].ID != id {
		t.Errorf("sessions through the socket: %+v", list)
	}
	res, err := c.SignOut(ctx, "ana@example.org", 0)
	if err != nil || res.Ended != 1 {
		t.Errorf("sign-out through the socket: %+v, %v", res, err)
	}
	select {
	case <-ended:
	case <-time.After(time.Second):
		t.Error("the session was not ended")
	}

	_, err = New(context.Background(), Options{Config: cfg, Resolver: dnsx.NewStub(dnsx.NewZone(), nil), Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, admin.ErrRunning) {
		t.Errorf("a second server on the data directory: %v, want ErrRunning", err)
	}
	if _, err := c.Sessions(ctx, "ana@example.org"); err != nil {
		t.Errorf("the refused second server broke the first one's socket: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	done <- nil // for the cleanup
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("admin socket left after shutdown: %v", err)
	}
	if _, err := c.Sessions(ctx, "ana@example.org"); !errors.Is(err, admin.ErrNoServer) {
		t.Errorf("after shutdown: %v, want ErrNoServer", err)
	}
}

func sessionsInfo(accountID int64, protocol string) sessions.Info {
	return sessions.Info{AccountID: accountID, Protocol: protocol}
}
