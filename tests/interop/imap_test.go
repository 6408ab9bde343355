package interop

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestIMAPWithPython delivers three messages over SMTP, then reads, flags,
// searches, copies and expunges them with Python's imaplib over STARTTLS
// (143) and implicit TLS (993), and finally reads the store to see that
// exactly the expunged message is gone.
func TestIMAPWithPython(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "testdata/imap_client.py", filepath.Join(dir, "dev.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("imap_client.py: %v\n%s\n%s", err, out, d.out)
	}
	var got struct {
		Sent            map[string]string `json:"sent"`
		CapsBeforeTLS   []string          `json:"caps_before_tls"`
		LoginBeforeTLS  string            `json:"login_before_tls"`
		CapsAfterTLS    []string          `json:"caps_after_tls"`
		LoginAfterTLS   string            `json:"login_after_tls"`
		Exists          int               `json:"exists"`
		Subjects        []string          `json:"subjects"`
		Body1           string            `json:"body1"`
		Flags1          string            `json:"flags1_after_fetch"`
		SearchGiraffe   string            `json:"search_giraffe"`
		UIDSearchUnseen string            `json:"uid_search_unseen"`
		SearchSeen      string            `json:"search_seen"`
		Copy            string            `json:"copy"`
		List            []string          `json:"list"`
		ArchiveExists   int               `json:"archive_exists"`
		Expunged        []string          `json:"expunged"`
		Status          string            `json:"status"`
		Logout          string            `json:"logout"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !slices.Contains(got.CapsBeforeTLS, "STARTTLS") || !slices.Contains(got.CapsBeforeTLS, "LOGINDISABLED") ||
		slices.ContainsFunc(got.CapsBeforeTLS, func(c string) bool { return strings.HasPrefix(c, "AUTH=") }) {
		t.Errorf("capabilities before TLS: %v", got.CapsBeforeTLS)
	}
	if got.LoginBeforeTLS == "accepted" {
		t.Errorf("LOGIN accepted before TLS")
	}
	if !slices.Contains(got.CapsAfterTLS, "AUTH=PLAIN") || slices.Contains(got.CapsAfterTLS, "STARTTLS") {
		t.Errorf("capabilities after TLS: %v", got.CapsAfterTLS)
	}
	if got.LoginAfterTLS != "OK" || got.Exists != 3 {
		t.Fatalf("login %q, %d messages", got.LoginAfterTLS, got.Exists)
	}
	if !slices.Equal(got.Subjects, []string{"Subject: imap one", "Subject: imap two", "Subject: imap three"}) {
		t.Errorf("subjects %q", got.Subjects)
	}
	if !strings.Contains(got.Body1, "Subject: imap one\r\n") || !strings.HasSuffix(got.Body1, "\r\n\r\n"+got.Sent["imap one"]) {
		t.Errorf("body of 1: %q", got.Body1)
	}
	if !strings.Contains(got.Flags1, `\Seen`) {
		t.Errorf("FETCH BODY[] did not set \\Seen: %q", got.Flags1)
	}
	if got.SearchGiraffe != "1" || got.UIDSearchUnseen != "2 3" || got.SearchSeen != "1 2" {
		t.Errorf("searches: giraffe %q, unseen %q, seen %q", got.SearchGiraffe, got.UIDSearchUnseen, got.SearchSeen)
	}
	if got.Copy != "OK" || got.ArchiveExists != 1 {
		t.Errorf("copy %q, Archive holds %d", got.Copy, got.ArchiveExists)
	}
	if !slices.ContainsFunc(got.List, func(l string) bool { return strings.Contains(l, `\Archive`) && strings.HasSuffix(l, "Archive") }) {
		t.Errorf("LIST: %q", got.List)
	}
	if !slices.Equal(got.Expunged, []string{"1"}) {
		t.Errorf("expunged %q", got.Expunged)
	}
	if !strings.Contains(got.Status, "MESSAGES 2") || !strings.Contains(got.Status, "UNSEEN 1") {
		t.Errorf("STATUS: %q", got.Status)
	}
	if got.Logout != "BYE" {
		t.Errorf("logout: %q", got.Logout)
	}

	d.stop(t, 10*time.Second)
	bodies := inboxBodies(t, dir, d.config.User)
	if len(bodies) != 2 || !strings.HasSuffix(bodies[0], got.Sent["imap two"]) || !strings.HasSuffix(bodies[1], got.Sent["imap three"]) {
		t.Errorf("INBOX after the IMAP sessions: %q", bodies)
	}
}
