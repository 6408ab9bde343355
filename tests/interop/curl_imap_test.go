package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCurlIMAP drives the IMAP server with curl as a scripted client does:
// it appends two messages, lists INBOX, fetches a message by UID, sends a
// custom UID SEARCH over implicit TLS and over STARTTLS, and checks that
// without TLS curl cannot log in at all.
func TestCurlIMAP(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)
	cert := filepath.Join(dir, "tls", "selfsigned-cert.pem")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	userpass := d.config.User + ":" + d.config.Password
	// The certificate names mail.example.test; --connect-to keeps the
	// connection on loopback while curl verifies that name.
	trust := []string{"--cacert", cert, "--connect-to", fmt.Sprintf("mail.example.test:%d:%s", d.config.Ports["imaps"], d.addr(d.config.Ports["imaps"])),
		"--connect-to", fmt.Sprintf("mail.example.test:%d:%s", d.config.Ports["imap"], d.addr(d.config.Ports["imap"]))}
	imaps := fmt.Sprintf("imaps://mail.example.test:%d/INBOX", d.config.Ports["imaps"])
	imap := fmt.Sprintf("imap://mail.example.test:%d/INBOX", d.config.Ports["imap"])
	with := func(args ...string) []string { return append(append([]string{"-u", userpass}, trust...), args...) }

	messages := []string{
		"From: alice@example.test\r\nTo: demo@example.test\r\nSubject: curl one\r\n\r\nHello from curl, one.\r\n",
		"From: bob@example.test\r\nTo: demo@example.test\r\nSubject: curl two\r\n\r\nHello from curl, two.\r\n",
	}
	for i, m := range messages {
		file := filepath.Join(t.TempDir(), fmt.Sprintf("m%d.eml", i))
		if err := os.WriteFile(file, []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
		// curl -T appends the file to the mailbox named in the URL.
		curl(t, ctx, with("-T", file, imaps)...)
	}

	tests := []struct {
		name string
		args []string
		want *regexp.Regexp
	}{
		{"list INBOX", with(imaps), regexp.MustCompile(`(?m)^\* LIST \([^)]*\) "[./]" "?INBOX"?\r$`)},
		{"fetch UID 1", with(imaps + ";UID=1"), regexp.MustCompile(`^` + regexp.QuoteMeta(messages[0]) + `$`)},
		{"fetch UID 2", with(imaps + ";UID=2"), regexp.MustCompile(`^` + regexp.QuoteMeta(messages[1]) + `$`)},
		{"UID SEARCH ALL", with("-X", "UID SEARCH ALL", imaps), regexp.MustCompile(`^\* SEARCH 1 2\r\n$`)},
		{"STARTTLS UID SEARCH", with("--ssl-reqd", "-X", "UID SEARCH ALL", imap), regexp.MustCompile(`^\* SEARCH 1 2\r\n$`)},
		{"STARTTLS fetch", with("--ssl-reqd", imap+";UID=2"), regexp.MustCompile(`^` + regexp.QuoteMeta(messages[1]) + `$`)},
		{"STARTTLS SEARCH subject", with("--ssl-reqd", "-X", `SEARCH SUBJECT "curl two"`, imap), regexp.MustCompile(`^\* SEARCH 2\r\n$`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if out := curl(t, ctx, tc.args...); !tc.want.MatchString(out) {
				t.Errorf("curl %s: %q does not match %s", tc.name, out, tc.want)
			}
		})
	}

	t.Run("no login without TLS", func(t *testing.T) {
		// The server advertises LOGINDISABLED and no AUTH= before STARTTLS,
		// so curl must give up rather than send the password in clear.
		plain := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--max-time", "20"}, with(imap+";UID=1")...)...)
		out, err := plain.CombinedOutput()
		if err == nil {
			t.Errorf("curl fetched without TLS: %q", out)
		}
		if strings.Contains(string(out), "Hello from curl") {
			t.Errorf("message text came over plain IMAP: %q", out)
		}
	})

	d.stop(t, 10*time.Second)
	if n := len(inboxBodies(t, dir, d.config.User)); n != len(messages) {
		t.Errorf("the store's INBOX holds %d messages, want %d", n, len(messages))
	}
}
