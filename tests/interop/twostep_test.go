package interop

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTwoStepWithRealClients turns 2-step verification on for the demo
// user with the CLI, makes an app password for IMAP only, and logs in with
// Python's imaplib, poplib and smtplib: the main password fails on IMAP
// and SMTP, the app password works on IMAP and fails on POP3 and SMTP.
// The activity log shows every attempt with its reason and client.
func TestTwoStepWithRealClients(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)
	user := d.config.User

	if r := sealpost(t, "", "account", "2fa", "enable", user, "--json", "--data", dir); r.code != 0 ||
		!strings.Contains(r.stdout, `"otpauth_uri": "otpauth://totp/`) {
		t.Fatalf("2fa enable: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r := sealpost(t, "", "account", "app-password", "add", user, "mail app", "--scope", "imap", "--json", "--data", dir)
	var app struct{ Password string }
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &app) != nil || app.Password == "" {
		t.Fatalf("app-password add: %d %s %s", r.code, r.stdout, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "testdata/twostep_client.py", filepath.Join(dir, "dev.json"), app.Password).CombinedOutput()
	if err != nil {
		t.Fatalf("twostep_client.py: %v\n%s\n%s", err, out, d.out)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, want := range map[string]string{
		"imap_main_password": "refused: ", "imap_app_password": "ok", "imap_select": "OK",
		"pop3_app_password": "refused: ", "smtp_app_password": "refused: ", "smtp_main_password": "refused: ",
	} {
		if !strings.HasPrefix(got[name], want) {
			t.Errorf("%s: %q, want %q", name, got[name], want)
		}
	}
	if !strings.Contains(got["smtp_app_password"], "535") {
		t.Errorf("SMTP refusal %q, want a 535", got["smtp_app_password"])
	}

	r = sealpost(t, "", "account", "activity", user, "--json", "--data", dir)
	var entries []struct {
		Protocol, Client, Method, Outcome, Detail string
		RemoteIP                                  string `json:"remote_ip"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &entries) != nil {
		t.Fatalf("activity: %d %s %s", r.code, r.stdout, r.stderr)
	}
	var lines []string
	for _, e := range entries {
		if e.RemoteIP == "" {
			t.Errorf("entry without remote IP: %+v", e)
		}
		lines = append(lines, strings.Join([]string{e.Protocol, e.Client, e.Method, e.Outcome, e.Detail}, "|"))
	}
	want := []string{ // newest first; smtplib tries LOGIN after PLAIN fails
		"smtp|twostep.client.example|LOGIN|fail|2-step verification is on: use an app password",
		"smtp|twostep.client.example|PLAIN|fail|2-step verification is on: use an app password",
		`smtp|twostep.client.example|LOGIN|fail|app password "mail app" is not for smtp (only imap)`,
		`smtp|twostep.client.example|PLAIN|fail|app password "mail app" is not for smtp (only imap)`,
		`pop3||USER/PASS|fail|app password "mail app" is not for pop3 (only imap)`,
		`imap|twostep-imaplib/1.0|LOGIN|ok|app password "mail app"`,
		"imap|twostep-imaplib/1.0|LOGIN|fail|2-step verification is on: use an app password",
	}
	if len(lines) < len(want) || strings.Join(lines[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("activity, newest first:\n%s\nwant first:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// The app password shows its use.
	r = sealpost(t, "", "account", "app-password", "list", user, "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "mail app") || strings.Contains(r.stdout, "never") {
		t.Errorf("app-password list: %d\n%s", r.code, r.stdout)
	}
	d.stop(t, 10*time.Second)
}
