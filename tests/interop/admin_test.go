package interop

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccountCLI drives domain, account and alias administration through
// the binary: round trips, JSON output, and bad input that exits 2 and
// changes nothing.
func TestAccountCLI(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", dir}
	run := func(stdin string, args ...string) result {
		t.Helper()
		return sealpost(t, stdin, append(args, data...)...)
	}
	mustOK := func(r result) result {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
		return r
	}

	mustOK(run("", "domain", "add", "Example.ORG"))
	mustOK(run("", "domain", "add", "bücher.example"))
	mustOK(run("correct horse battery\n", "account", "add", "--password-stdin", "Alice@example.org"))
	mustOK(run("another long password\n", "account", "add", "--password-stdin", "--quota", "1GiB", "bob@xn--bcher-kva.example"))
	mustOK(run("", "alias", "add", "postmaster@example.org", "alice@example.org"))
	mustOK(run("", "alias", "add", "@example.org", "alice@example.org"))

	var domains []struct{ Name string }
	decode(t, mustOK(run("", "domain", "list", "--json")).stdout, &domains)
	if len(domains) != 2 || domains[0].Name != "example.org" || domains[1].Name != "xn--bcher-kva.example" {
		t.Errorf("domains = %+v", domains)
	}
	var accounts []struct {
		Address    string `json:"address"`
		QuotaBytes int64  `json:"quota_bytes"`
	}
	decode(t, mustOK(run("", "account", "list", "--json")).stdout, &accounts)
	if len(accounts) != 2 || accounts[0].Address != "alice@example.org" ||
		accounts[1].Address != "bob@xn--bcher-kva.example" || accounts[1].QuotaBytes != 1<<30 {
		t.Errorf("accounts = %+v", accounts)
	}
	var aliases []struct {
		Address string   `json:"address"`
		Targets []string `json:"targets"`
	}
	decode(t, mustOK(run("", "alias", "list", "--json", "example.org")).stdout, &aliases)
	if len(aliases) != 2 {
		t.Errorf("aliases = %+v", aliases)
	}
	mustOK(run("a new long password\n", "account", "passwd", "--password-stdin", "alice@example.org"))

	bad := []struct {
		name  string
		stdin string
		args  []string
		want  string // in stderr
	}{
		{"invalid address", "long enough password\n", []string{"account", "add", "--password-stdin", "not an address"}, "invalid"},
		{"unknown domain", "long enough password\n", []string{"account", "add", "--password-stdin", "carol@nowhere.example"}, "not hosted"},
		{"duplicate account", "long enough password\n", []string{"account", "add", "--password-stdin", "ALICE@example.org"}, "exists"},
		{"alias over account", "", []string{"alias", "add", "alice@example.org", "bob@xn--bcher-kva.example"}, "exists"},
		{"duplicate domain", "", []string{"domain", "add", "example.org"}, "exists"},
		{"invalid domain", "", []string{"domain", "add", "exa mple.org"}, "invalid"},
		{"password on argv", "", []string{"account", "add", "--password", "secret123456", "dave@example.org"}, "not defined"},
		{"no terminal", "", []string{"account", "add", "dave@example.org"}, "--password-stdin"},
		{"short password", "short\n", []string{"account", "add", "--password-stdin", "dave@example.org"}, "password"},
		{"domain with accounts", "", []string{"domain", "del", "example.org"}, "not empty"},
		{"unknown subcommand", "", []string{"account", "frobnicate"}, "unknown subcommand"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := run(tt.stdin, tt.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
		})
	}
	// None of the bad commands changed anything.
	var after []struct{ Address string }
	decode(t, mustOK(run("", "account", "list", "--json")).stdout, &after)
	if len(after) != 2 {
		t.Errorf("accounts after bad input = %+v", after)
	}

	mustOK(run("", "alias", "del", "@example.org"))
	mustOK(run("", "alias", "del", "postmaster@example.org"))
	mustOK(run("", "account", "del", "alice@example.org"))
	mustOK(run("", "domain", "del", "example.org"))
	decode(t, mustOK(run("", "domain", "list", "--json")).stdout, &domains)
	if len(domains) != 1 {
		t.Errorf("domains after deletes = %+v", domains)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	example, err := os.ReadFile("../../docs/sealpost.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, example, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := sealpost(t, "", "config", "check", good); r.code != 0 {
		t.Errorf("example config: exit %d: %s", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "bad.toml")
	text := "hostname = \"mail.example.org\"\ndata_dir = \"/tmp/x\"\n\n[listeners]\nsmtp = \"not an address\"\n"
	if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r := sealpost(t, "", "config", "check", bad)
	if r.code != 2 || !strings.Contains(r.stderr, "bad.toml:5") || !strings.Contains(r.stderr, "listeners.smtp") {
		t.Errorf("bad config: exit %d, stderr %q; want exit 2 naming bad.toml:5 and listeners.smtp", r.code, r.stderr)
	}
	r = sealpost(t, "", "serve", "-config", bad)
	if r.code != 2 || !strings.Contains(r.stderr, "listeners.smtp") {
		t.Errorf("serve with bad config: exit %d, stderr %q", r.code, r.stderr)
	}
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}
