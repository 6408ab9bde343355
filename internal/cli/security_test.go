package cli

import (
	"encoding/json"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/instance"
)

const secUser = "ann@example.org"

// securityInstance makes an instance in a temporary directory with one
// account, and returns its --data directory.
func securityInstance(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg, st := openTestInstance(t, dir)
	defer st.Close()
	svc := instance.Accounts(cfg, st)
	if _, err := svc.AddDomain(t.Context(), "example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddAccount(t.Context(), secUser, "ann's long password", 0); err != nil {
		t.Fatal(err)
	}
	return dir
}

// login tries a password of secUser on a protocol against the instance
// in dir.
func login(t *testing.T, dir, protocol, password string) error {
	t.Helper()
	return loginOn(t, dir, protocol, secUser, password)
}

// loginAs tries a user's password on IMAP.
func loginAs(t *testing.T, dir, user, password string) error {
	t.Helper()
	return loginOn(t, dir, "imap", user, password)
}

func loginOn(t *testing.T, dir, protocol, user, password string) error {
	t.Helper()
	cfg, st := openTestInstance(t, dir)
	defer st.Close()
	_, err := instance.Accounts(cfg, st).Login(t.Context(), account.Attempt{Protocol: protocol, Username: user,
		Password: password, RemoteIP: netip.MustParseAddr("192.0.2.1"), Client: "cli-test", Method: "PLAIN"})
	if err != nil && !errors.Is(err, account.ErrAuthFailed) {
		t.Fatal(err)
	}
	return err
}

func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, stderr := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s%s", args, code, out, stderr)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %v in %s", args, err, out)
	}
}

func TestTwoStepCommands(t *testing.T) {
	dir := securityInstance(t)
	var on struct {
		URI           string   `json:"otpauth_uri"`
		Secret        string   `json:"secret"`
		RecoveryCodes []string `json:"recovery_codes"`
	}
	runJSON(t, &on, "account", "2fa", "enable", secUser, "--json", "--data", dir)
	if !strings.HasPrefix(on.URI, "otpauth://totp/Sealpost:ann@example.org?") || !strings.Contains(on.URI, "secret="+on.Secret) ||
		len(on.RecoveryCodes) != 10 {
		t.Errorf("2fa enable --json = %+v", on)
	}
	if code, _, stderr := run(t, "account", "2fa", "enable", secUser, "--data", dir); code != 2 || !strings.Contains(stderr, "already on") {
		t.Errorf("enabling twice: exit %d, %s", code, stderr)
	}
	if err := login(t, dir, "imap", "ann's long password"); err == nil {
		t.Error("main password accepted on IMAP with 2-step verification on")
	}
	code, out, _ := run(t, "account", "2fa", "disable", secUser, "--data", dir)
	if code != 0 || !strings.Contains(out, "off for "+secUser) {
		t.Errorf("2fa disable: %d %s", code, out)
	}
	if code, _, _ := run(t, "account", "2fa", "disable", secUser, "--data", dir); code != 2 {
		t.Errorf("disabling twice: exit %d, want 2", code)
	}
	code, out, _ = run(t, "account", "2fa", "enable", secUser, "--data", dir)
	if code != 0 || !strings.Contains(out, "otpauth://totp/") || len(regexp.MustCompile(`(?m)^  [a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}$`).FindAllString(out, -1)) != 10 {
		t.Errorf("2fa enable (text): %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"account", "2fa", "enable", "nobody@example.org", "--data", dir},
		{"account", "2fa", "enable", "not an address", "--data", dir},
		{"account", "2fa", "enable", "--data", dir},
		{"account", "2fa", "toggle", secUser, "--data", dir},
	} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestAppPasswordCommands(t *testing.T) {
	dir := securityInstance(t)
	var added appPasswordJSON
	runJSON(t, &added, "account", "app-password", "add", secUser, "phone", "--scope", "imap", "--json", "--data", dir)
	if added.ID == 0 || added.Name != "phone" || len(added.Scopes) != 1 || added.Scopes[0] != "imap" ||
		!regexp.MustCompile(`^([a-z]{4}-){5}[a-z]{4}$`).MatchString(added.Password) {
		t.Errorf("app-password add --json = %+v", added)
	}
	code, out, _ := run(t, "account", "app-password", "add", secUser, "laptop", "--scope", "pop3,smtp", "--data", dir)
	if code != 0 || !regexp.MustCompile(`(?m)^  ([a-z]{4}-){5}[a-z]{4}$`).MatchString(out) || !strings.Contains(out, "pop3, smtp") {
		t.Errorf("app-password add (text): %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"account", "app-password", "add", secUser, "tablet", "--data", dir},                   // no scope
		{"account", "app-password", "add", secUser, "tablet", "--scope", "web", "--data", dir}, // not a scope
		{"account", "app-password", "add", secUser, "phone", "--scope", "imap", "--data", dir}, // name taken
		{"account", "app-password", "add", "nobody@example.org", "x", "--scope", "imap", "--data", dir},
		{"account", "app-password", "revoke", secUser, "tablet", "--data", dir},
		{"account", "app-password", "list", "--data", dir},
	} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}

	// Using it shows in the list and in the activity log.
	if err := login(t, dir, "imap", added.Password); err != nil {
		t.Fatalf("app password refused: %v", err)
	}
	if err := login(t, dir, "pop3", added.Password); err == nil {
		t.Fatal("IMAP app password accepted on POP3")
	}
	var list []map[string]any
	runJSON(t, &list, "account", "app-password", "list", secUser, "--json", "--data", dir)
	if len(list) != 2 || list[0]["last_ip"] != "192.0.2.1" || list[0]["last_used"] == nil || list[1]["last_used"] != nil {
		t.Errorf("app-password list --json = %+v", list)
	}
	for _, row := range list {
		for k := range row {
			if strings.Contains(k, "hash") || k == "password" {
				t.Errorf("list shows %s", k)
			}
		}
	}
	code, out, _ = run(t, "account", "app-password", "list", secUser, "--data", dir)
	if code != 0 || !strings.Contains(out, "phone") || !strings.Contains(out, "never") || strings.Contains(out, added.Password) {
		t.Errorf("app-password list (text): %d\n%s", code, out)
	}

	var activity []struct {
		Protocol, Client, Method, Outcome, Detail string
		RemoteIP                                  string `json:"remote_ip"`
	}
	runJSON(t, &activity, "account", "activity", secUser, "--json", "--since", "1h", "--data", dir)
	if len(activity) != 2 || activity[0].Outcome != "fail" || activity[0].Protocol != "pop3" ||
		activity[0].Detail != `app password "phone" is not for pop3 (only imap)` || activity[1].Outcome != "ok" ||
		activity[1].Client != "cli-test" || activity[1].Method != "PLAIN" || activity[1].RemoteIP != "192.0.2.1" {
		t.Errorf("activity --json = %+v", activity)
	}
	runJSON(t, &activity, "account", "activity", secUser, "--json", "--limit", "1", "--data", dir)
	if len(activity) != 1 || activity[0].Protocol != "pop3" {
		t.Errorf("activity --limit 1 = %+v", activity)
	}
	code, out, _ = run(t, "account", "activity", secUser, "--data", dir)
	if code != 0 || !strings.Contains(out, "is not for pop3") || !strings.Contains(out, "cli-test") {
		t.Errorf("activity (text): %d\n%s", code, out)
	}
	// Every account's, with the attempts on no account.
	if err := loginAs(t, dir, "nobody@example.org", "guess"); err == nil {
		t.Fatal("unknown user logged in")
	}
	var all []struct {
		Account *string
		Detail  string
	}
	runJSON(t, &all, "account", "activity", "--json", "--data", dir)
	if len(all) != 3 || all[0].Account == nil || *all[0].Account != "" || all[0].Detail != `user "nobody@example.org": no such account` ||
		all[1].Account == nil || *all[1].Account != secUser {
		t.Errorf("activity of all: %+v", all)
	}
	code, out, _ = run(t, "account", "activity", "--data", dir)
	if code != 0 || !strings.Contains(out, "ACCOUNT") || !strings.Contains(out, secUser) || !strings.Contains(out, "no such account") {
		t.Errorf("activity of all (text): %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"account", "activity", secUser, "other@example.org", "--data", dir},
		{"account", "activity", secUser, "--limit", "0", "--data", dir},
		{"account", "activity", secUser, "--since", "-1h", "--data", dir},
		{"account", "activity", "nobody@example.org", "--data", dir},
	} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}

	// Revoking, by name and by ID.
	code, out, _ = run(t, "account", "app-password", "revoke", secUser, "phone", "--data", dir)
	if code != 0 || !strings.Contains(out, `"phone"`) {
		t.Errorf("revoke by name: %d %s", code, out)
	}
	if err := login(t, dir, "imap", added.Password); err == nil {
		t.Error("revoked app password accepted")
	}
	var revoked appPasswordJSON
	runJSON(t, &revoked, "account", "app-password", "revoke", secUser, "2", "--json", "--data", dir)
	if revoked.Name != "laptop" {
		t.Errorf("revoke by ID = %+v", revoked)
	}
	runJSON(t, &list, "account", "app-password", "list", secUser, "--json", "--data", dir)
	if len(list) != 0 {
		t.Errorf("left after revoking: %+v", list)
	}
}

func TestAccountSubcommandsStillDispatch(t *testing.T) {
	dir := securityInstance(t)
	code, out, _ := run(t, "account", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, secUser) {
		t.Errorf("account list: %d %s", code, out)
	}
	if code, _, stderr := run(t, "help"); code != 0 || !strings.Contains(stderr, "account app-password") {
		t.Errorf("help: %d %s", code, stderr)
	}
	if code, _, _ := run(t, "account", "2fa"); code != 2 {
		t.Errorf("account 2fa without a verb: exit %d, want 2", code)
	}
}
