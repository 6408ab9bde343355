package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRevokeEndsLiveSession revokes, with the CLI, the app password an
// IMAP session in IDLE logged in with: the running server ends that
// session, and leaves the same account's main-password session alone.
func TestRevokeEndsLiveSession(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)
	user := d.config.User
	r := sealpost(t, "", "account", "app-password", "add", user, "tablet", "--scope", "imap", "--json", "--data", dir)
	var app struct {
		ID       int64
		Password string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &app) != nil || app.Password == "" {
		t.Fatalf("app-password add: %d %s %s", r.code, r.stdout, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/revoke_client.py", filepath.Join(dir, "dev.json"), app.Password)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(within time.Duration) string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("revoke_client.py ended early: %v\n%s", cmd.Wait(), stderr.String())
			}
			return l
		case <-time.After(within):
			t.Fatalf("revoke_client.py said nothing for %v\n%s", within, stderr.String())
		}
		return ""
	}
	if l := next(30 * time.Second); l != "ready" {
		t.Fatalf("revoke_client.py: %q", l)
	}

	r = sealpost(t, "", "account", "app-password", "revoke", user, "tablet", "--data", dir)
	revoked := time.Now()
	if r.code != 0 || !strings.Contains(r.stdout, "; 1 live session(s) using it ended") {
		t.Fatalf("app-password revoke: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if l := next(10 * time.Second); l != "closed" {
		t.Fatalf("after the revocation: %q", l)
	}
	if waited := time.Since(revoked); waited > time.Second {
		t.Errorf("the session ended %v after the revocation, want within 1s", waited)
	}
	var got struct {
		Idle     string `json:"idle"`
		MainNoop string `json:"main_noop"`
	}
	if err := json.Unmarshal([]byte(next(10*time.Second)), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Idle, "+") || got.MainNoop != "OK" {
		t.Errorf("IDLE answered %q; the main-password session's NOOP %q", got.Idle, got.MainNoop)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("revoke_client.py: %v\n%s", err, stderr.String())
	}
	d.stop(t, 10*time.Second)
}
