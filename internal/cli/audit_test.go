package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// adminEntries returns the instance's audit entries, oldest first.
func adminEntries(t *testing.T, dir string) []store.LogEntry {
	t.Helper()
	_, st := openTestInstance(t, dir)
	defer st.Close()
	es, err := st.QueryLog(t.Context(), store.LogQuery{Kind: "admin", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// auditInstance is securityInstance with a queued message, ID 1.
func auditInstance(t *testing.T) string {
	t.Helper()
	dir := securityInstance(t)
	_, st := openTestInstance(t, dir)
	defer st.Close()
	msg := "From: ann@example.org\r\nSubject: queued\r\n\r\nbody\r\n"
	it, err := st.Enqueue(t.Context(), strings.NewReader(msg), store.NewQueueItem{
		From: "ann@example.org", Recipients: []store.NewQueueRecipient{{Address: "bob@elsewhere.example"}}})
	if err != nil || it.ID != 1 {
		t.Fatalf("enqueue: %v, ID %d", err, it.ID)
	}
	return dir
}

// TestAuditLog runs every state-changing command once, in an order where
// each can succeed, and checks each leaves exactly one audit entry naming
// its action and target; read-only commands and refused ones leave none;
// and no secret a command read or printed reaches the log.
func TestAuditLog(t *testing.T) {
	dir := auditInstance(t)
	const bobPassword = "Bob's first long password"
	const bobNewPassword = "Bob's second long password"
	secrets := []string{bobPassword, bobNewPassword, "ann's long password"}

	changes := []struct {
		stdin  string
		args   []string
		detail string // the entry's Detail
	}{
		{"", []string{"domain", "add", "example.net"}, "domain add example.net"},
		{bobPassword + "\n", []string{"account", "add", "--password-stdin", "bob@example.org"}, "account add --password-stdin bob@example.org"},
		{bobNewPassword + "\n", []string{"account", "passwd", "bob@example.org", "--password-stdin"}, "account passwd bob@example.org --password-stdin"},
		{"", []string{"alias", "add", "info@example.org", "ann@example.org"}, "alias add info@example.org ann@example.org"},
		{"", []string{"alias", "del", "info@example.org"}, "alias del info@example.org"},
		{"", []string{"account", "2fa", "enable", "--json", secUser}, "account 2fa enable " + secUser},
		{"", []string{"account", "2fa", "disable", secUser}, "account 2fa disable " + secUser},
		{"", []string{"account", "app-password", "add", secUser, "phone", "--scope", "imap", "--json"}, "account app-password add " + secUser + " phone --scope imap"},
		{"", []string{"account", "app-password", "revoke", secUser, "phone"}, "account app-password revoke " + secUser + " phone"},
		{"", []string{"account", "allow", secUser, "192.0.2.0/24", "--protocol", "imap"}, "account allow " + secUser + " 192.0.2.0/24 --protocol imap"},
		{"", []string{"account", "allow", "--clear", secUser}, "account allow --clear " + secUser},
		{"", []string{"account", "signout", secUser}, "account signout " + secUser},
		{"", []string{"dkim", "rotate", "example.org"}, "dkim rotate example.org"},
		{"", []string{"dkim", "activate", "example.org", "--overlap", "1h"}, "dkim activate example.org --overlap 1h"},
		{"", []string{"queue", "hold", "1"}, "queue hold 1"},
		{"", []string{"queue", "release", "1"}, "queue release 1"},
		{"", []string{"queue", "retry", "1"}, "queue retry 1"},
		{"", []string{"queue", "drop", "1"}, "queue drop 1"},
		{dmarcReportMail("google.com", "g1", "example.org", "192.0.2.1:10:pass:pass"), []string{"report", "import"}, "report import"},
		{"", []string{"account", "del", "bob@example.org"}, "account del bob@example.org"},
		{"", []string{"domain", "del", "example.net"}, "domain del example.net"},
	}
	for _, c := range changes {
		before := len(adminEntries(t, dir))
		code, out, stderr := runWithStdin(t, c.stdin, append(c.args, "--data", dir)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s%s", c.args, code, out, stderr)
		}
		secrets = append(secrets, printedSecrets(out)...)
		es := adminEntries(t, dir)
		if len(es) != before+1 {
			t.Errorf("%v: %d audit entries, want 1", c.args, len(es)-before)
			continue
		}
		e := es[len(es)-1]
		if e.Detail != c.detail || e.Outcome != "ok" || e.Protocol != "cli" || e.Kind != "admin" || e.Client != osUser() {
			t.Errorf("%v: entry %+v, want detail %q by %q", c.args, e, c.detail, osUser())
		}
	}

	readOnly := [][]string{
		{"domain", "list"}, {"account", "list"}, {"alias", "list"}, {"queue", "list"},
		{"dkim", "keys", "example.org"}, {"account", "activity", secUser},
		{"account", "sessions", secUser}, {"account", "app-password", "list", secUser}, {"audit"},
		{"account", "allow", "--list", secUser},
		// Refused for bad input: nothing changed, nothing recorded.
		{"domain", "add", "example.org"}, {"account", "del", "nobody@example.org"}, {"queue", "drop", "99"},
	}
	before := len(adminEntries(t, dir))
	for _, args := range readOnly {
		run(t, append(args, "--data", dir)...)
	}
	if es := adminEntries(t, dir); len(es) != before {
		t.Errorf("read-only and refused commands left %d audit entries: %+v", len(es)-before, es[before:])
	}

	code, out, stderr := run(t, "audit", "--json", "--data", dir)
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, stderr)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the audit log contains the secret %q", s)
		}
	}
	var rows []struct {
		Protocol, User, Outcome, Detail string
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(changes) || rows[0].Detail != changes[len(changes)-1].detail {
		t.Errorf("audit --json: %d rows, newest %+v", len(rows), rows[0])
	}
	if code, out, _ := run(t, "audit", "--limit", "2", "--since", "1h", "--data", dir); code != 0 ||
		strings.Count(out, "\n") != 3 || !strings.Contains(out, "domain del example.net") {
		t.Errorf("audit --limit 2: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"audit", "x"}, {"audit", "--limit", "0"}, {"audit", "--since", "-1h"}} {
		if code, _, _ := run(t, append(args, "--data", dir)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// printedSecrets picks the secrets out of a command's JSON output: the
// app password, the TOTP key and URI, the recovery codes.
func printedSecrets(out string) []string {
	var v struct {
		Password      string   `json:"password"`
		Secret        string   `json:"secret"`
		URI           string   `json:"otpauth_uri"`
		RecoveryCodes []string `json:"recovery_codes"`
	}
	if json.Unmarshal([]byte(out), &v) != nil {
		return nil
	}
	var s []string
	for _, x := range append([]string{v.Password, v.Secret, v.URI}, v.RecoveryCodes...) {
		if x != "" {
			s = append(s, x)
		}
	}
	return s
}

func TestAuditArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"add x --data /d --json", "add x"},
		{"-config=/c.conf add -data=/d x", "add x"},
		{"add --password-stdin x", "add --password-stdin x"},
		{"add --password hunter2 x", "add --password=*** x"},
		{"add --token=abc x", "add --token=*** x"},
		{"drop 1 --overlap 1h", "drop 1 --overlap 1h"},
	}
	for _, tc := range tests {
		if got := strings.Join(auditArgs(strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("auditArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	f := instanceFlagsIn(strings.Fields("add x --data /d -config=/c"))
	if f.data != "/d" || f.config != "/c" {
		t.Errorf("instanceFlagsIn = %+v", f)
	}
	long := strings.Repeat("é", maxAuditDetail)
	if got := truncateDetail(long); len(got) > maxAuditDetail+3 || !strings.HasSuffix(got, "é...") {
		t.Errorf("truncateDetail: %d bytes, ends %q", len(got), got[len(got)-8:])
	}
}

// FuzzAuditArgs: whatever the arguments, describing them for the log (or
// reading them as networks for account allow) neither panics nor keeps the value of a flag named after a secret.
func FuzzAuditArgs(f *testing.F) {
	f.Add("add\x00--password\x00hunter2\x00x")
	f.Add("--data=/d\x00--token=abc\x00-config")
	f.Add("--\x00--secret\x00s")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		kept := auditArgs(args)
		instanceFlagsIn(args)
		allowChanges(args)
		allowArgs(args, "", false, false)
		for i, a := range kept {
			name, value, hasValue := flagArg(a)
			if secretFlag(name) && (!hasValue || value != "***") {
				t.Fatalf("auditArgs(%q)[%d] = %q keeps a secret flag's value", args, i, a)
			}
		}
	})
}
