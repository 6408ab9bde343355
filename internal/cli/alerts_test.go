package cli

import (
	"io"
	"strings"
	"testing"
)

// TestCommandsRaiseAlerts checks the administrative commands that change
// an account's security leave an alert in its INBOX without a running
// server: a new app password, 2-step verification off, a new password.
func TestCommandsRaiseAlerts(t *testing.T) {
	dir := securityInstance(t)
	steps := [][]string{
		{"account", "app-password", "add", secUser, "phone", "--scope", "imap", "--data", dir},
		{"account", "2fa", "enable", secUser, "--data", dir},
		{"account", "2fa", "disable", secUser, "--data", dir},
	}
	for _, args := range steps {
		if code, out, stderr := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s%s", args, code, out, stderr)
		}
	}
	if code, out, stderr := runStdin(t, "a brand new long password\n", "account", "passwd", "--password-stdin", secUser, "--data", dir); code != 0 {
		t.Fatalf("passwd: exit %d: %s%s", code, out, stderr)
	}
	got := inboxSubjects(t, dir)
	want := []string{"Security alert: A new app password was added", "Security alert: 2-step verification was turned off",
		"Security alert: Your password was changed"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("INBOX subjects %q, want %q", got, want)
	}
}

// inboxSubjects returns the Subject of each message in secUser's INBOX.
func inboxSubjects(t *testing.T, dir string) []string {
	t.Helper()
	ctx := t.Context()
	_, st := openTestInstance(t, dir)
	defer st.Close()
	acc, err := st.GetAccount(ctx, secUser)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.GetMailbox(ctx, acc.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := st.ListMessages(ctx, mb.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, m := range ms {
		rc, err := st.OpenBody(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(b), "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				subjects = append(subjects, s)
			}
		}
	}
	return subjects
}
