package cli

import (
	"errors"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/account"
)

func TestAccountAllow(t *testing.T) {
	dir := securityInstance(t)
	type listJSON struct {
		Address  string `json:"address"`
		Networks []struct {
			Protocol string `json:"protocol"`
			Network  string `json:"network"`
		} `json:"networks"`
	}
	var l listJSON
	runJSON(t, &l, "account", "allow", "--list", "--json", secUser, "--data", dir)
	if l.Address != secUser || l.Networks == nil || len(l.Networks) != 0 {
		t.Fatalf("empty list: %+v", l)
	}
	// 192.0.2.1, where loginOn's attempts come from, inside for IMAP only.
	runJSON(t, &l, "account", "allow", "ANN@example.org", "192.0.2.9/24", "2001:db8::1", "--protocol", "imap", "--json", "--data", dir)
	if len(l.Networks) != 2 || l.Networks[0] != (struct {
		Protocol string `json:"protocol"`
		Network  string `json:"network"`
	}{"imap", "192.0.2.0/24"}) || l.Networks[1].Network != "2001:db8::1/128" {
		t.Errorf("after allow: %+v", l)
	}
	if err := login(t, dir, "imap", "ann's long password"); err != nil {
		t.Errorf("IMAP from inside: %v", err)
	}
	if err := login(t, dir, "pop3", "ann's long password"); err != nil {
		t.Errorf("POP3, no entry: %v", err)
	}
	if code, out, stderr := run(t, "account", "allow", secUser, "198.51.100.0/24", "--data", dir); code != 0 ||
		!strings.Contains(out, "all       198.51.100.0/24") {
		t.Errorf("allow for all: %d\n%s%s", code, out, stderr)
	}
	if err := login(t, dir, "pop3", "ann's long password"); !errors.Is(err, account.ErrAuthFailed) {
		t.Errorf("POP3 from outside the list for all: %v", err)
	}
	if err := login(t, dir, "imap", "ann's long password"); err != nil {
		t.Errorf("IMAP, inside its own list: %v", err)
	}
	for _, args := range [][]string{
		{"account", "allow", secUser},                                    // no network
		{"account", "allow", secUser, "192.0.2.0/33"},                    // not a network
		{"account", "allow", secUser, "example.org"},                     // a name
		{"account", "allow", secUser, "10.0.0.0/8", "--protocol", "ftp"}, // not a protocol
		{"account", "allow", "--list", secUser, "10.0.0.0/8"},            // list takes no network
		{"account", "allow", "--list", "--clear", secUser},               // one or the other
		{"account", "allow", "--clear", "--protocol", "imap", secUser},   // protocol is for adding
		{"account", "allow", "10.0.0.0/8"},                               // no account
		{"account", "allow", "nobody@example.org", "10.0.0.0/8"},         // unknown account
	} {
		if code, _, _ := run(t, append(args, "--data", dir)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var cleared struct{ Removed int }
	runJSON(t, &cleared, "account", "allow", "--clear", secUser, "--json", "--data", dir)
	if cleared.Removed != 3 {
		t.Errorf("--clear removed %d, want 3", cleared.Removed)
	}
	if code, out, _ := run(t, "account", "allow", "--list", secUser, "--data", dir); code != 0 || !strings.Contains(out, "from anywhere") {
		t.Errorf("list after clear: %d %s", code, out)
	}
	if err := login(t, dir, "pop3", "ann's long password"); err != nil {
		t.Errorf("POP3 after clear: %v", err)
	}
}
