package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestAPIToken(t *testing.T) {
	dir := sessionsInstance(t)
	code, out, errOut := run(t, "api", "token", "add", "ana@example.org", "backup", "--data", dir)
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, errOut)
	}
	if !regexp.MustCompile(`\n  sp_[A-Za-z0-9_-]{43}\n`).MatchString(out) || !strings.Contains(out, "shown only now") {
		t.Errorf("add printed %q", out)
	}
	code, out, errOut = run(t, "api", "token", "add", "--json", "--days", "2", "ana@example.org", "deploy", "--data", dir)
	var tok struct {
		ID, Name, Token, Address string
	}
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || !strings.HasPrefix(tok.Token, "sp_") || tok.Name != "deploy" {
		t.Fatalf("add --json: exit %d %q %q", code, out, errOut)
	}
	runCases(t, dir, []cliCase{
		{[]string{"api", "token", "list", "ana@example.org"}, 0, "backup"},
		{[]string{"api", "token", "list", "--json", "ana@example.org"}, 0, `"name": "deploy"`},
		{[]string{"api", "token", "list", "bo@example.org"}, 0, "no API tokens"},
		{[]string{"api", "token", "add", "ana@example.org", "backup"}, 2, "exists"},
		{[]string{"api", "token", "add", "ana@example.org", "x", "--days", "0"}, 2, "--days"},
		{[]string{"api", "token", "add", "nobody@example.org", "x"}, 2, "nobody@example.org"},
		{[]string{"api", "token", "revoke", "ana@example.org", tok.ID}, 0, `API token "deploy"`},
		{[]string{"api", "token", "revoke", "ana@example.org", "backup"}, 0, `API token "backup"`},
		{[]string{"api", "token", "revoke", "ana@example.org", "backup"}, 2, "not found"},
		{[]string{"api", "token", "list", "ana@example.org"}, 0, "no API tokens"},
		{[]string{"api", "token", "show"}, 2, "unknown subcommand"},
	})
}
