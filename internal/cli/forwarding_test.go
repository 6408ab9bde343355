package cli

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestForwardCommands: an outside target starts pending, a hosted one is
// active at once; list, del and log show and change them; each change
// leaves an alert in INBOX; bad input exits 2 and changes nothing.
func TestForwardCommands(t *testing.T) {
	dir := securityInstance(t)
	code, out, stderr := run(t, "account", "forward", "add", secUser, "far@outside.test", "--data", dir)
	if code != 0 || !strings.Contains(out, "pending") || !strings.Contains(out, "confirmation message was queued") {
		t.Fatalf("add outside: %d %s%s", code, out, stderr)
	}
	var kept forwardJSON
	runJSON(t, &kept, "account", "forward", "add", secUser, "near@outside.test", "--keep-copy", "--json", "--data", dir)
	if kept.ID == 0 || !kept.KeepCopy || kept.State != "pending" || kept.TokenExpires == nil || kept.Confirmed != nil {
		t.Errorf("add --json: %+v", kept)
	}
	for _, args := range [][]string{
		{"account", "forward", "add", secUser, secUser, "--data", dir},            // itself
		{"account", "forward", "add", secUser, "far@outside.test", "--data", dir}, // twice
		{"account", "forward", "add", secUser, "not an address", "--data", dir},
		{"account", "forward", "add", "nobody@example.org", "x@outside.test", "--data", dir},
		{"account", "forward", "del", secUser, "x", "--data", dir},
		{"account", "forward", "del", secUser, "999", "--data", dir},
		{"account", "forward", "list", "--data", dir},
	} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var rules []forwardJSON
	runJSON(t, &rules, "account", "forward", "list", secUser, "--json", "--data", dir)
	if len(rules) != 2 || rules[0].Target != "far@outside.test" || rules[1].ID != kept.ID {
		t.Fatalf("list: %+v", rules)
	}
	if code, out, _ := run(t, "account", "forward", "del", secUser, strconv.FormatInt(rules[0].ID, 10), "--data", dir); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("del: %d %s", code, out)
	}
	code, out, _ = run(t, "account", "forward", "list", secUser, "--data", dir)
	if code != 0 || strings.Contains(out, "far@outside.test") || !strings.Contains(out, "near@outside.test") {
		t.Errorf("list after del: %d %s", code, out)
	}
	var log []struct {
		Outcome, Protocol, Detail string
	}
	runJSON(t, &log, "account", "forward", "log", secUser, "--json", "--data", dir)
	var outcomes []string
	for _, e := range log {
		outcomes = append(outcomes, e.Outcome)
		if e.Protocol != "cli" {
			t.Errorf("log entry %+v not from the command line", e)
		}
	}
	if !slices.Equal(outcomes, []string{"removed", "added", "added"}) {
		t.Errorf("log outcomes %v", outcomes)
	}
	subjects := inboxSubjects(t, dir)
	if len(subjects) != 3 || slices.IndexFunc(subjects, func(s string) bool { return s != "Security alert: Mail forwarding was changed" }) >= 0 {
		t.Errorf("INBOX subjects %q", subjects)
	}
}
