package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// TestSMTPWithRealClients drives `sealpost dev` with Python's smtplib and
// with swaks, then reads the store to see what arrived.
func TestSMTPWithRealClients(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "testdata/smtp_client.py", filepath.Join(dir, "dev.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp_client.py: %v\n%s\n%s", err, out, d.out)
	}
	var got struct {
		AuthOfferedBeforeTLS bool            `json:"auth_offered_before_tls"`
		AuthBeforeTLSCode    int             `json:"auth_before_tls_code"`
		AuthOfferedAfterTLS  bool            `json:"auth_offered_after_tls"`
		SubmissionRefused    map[string]any  `json:"submission_refused"`
		ForgedSender         json.RawMessage `json:"forged_sender"`
		WrongPassword        json.RawMessage `json:"wrong_password"`
		AuthOnMX             bool            `json:"auth_on_mx"`
		Relay                json.RawMessage `json:"relay"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.AuthOfferedBeforeTLS || got.AuthBeforeTLSCode != 530 || !got.AuthOfferedAfterTLS || got.AuthOnMX {
		t.Errorf("AUTH offers: %+v", got)
	}
	if len(got.SubmissionRefused) != 0 {
		t.Errorf("submission refused recipients: %v", got.SubmissionRefused)
	}
	for name, v := range map[string]json.RawMessage{"forged sender": got.ForgedSender, "wrong password": got.WrongPassword, "relay": got.Relay} {
		want := map[string]string{"forged sender": "550", "wrong password": "535", "relay": "550"}[name]
		if string(v) != want {
			t.Errorf("%s: %s, want %s", name, v, want)
		}
	}

	// swaks, the SMTP test tool administrators use.
	swaks := exec.CommandContext(ctx, "swaks", "--server", fmt.Sprintf("%s:%d", d.config.Host, d.config.Ports["submission"]),
		"--tls", "--auth", "LOGIN", "--auth-user", d.config.User, "--auth-password", d.config.Password,
		"--from", d.config.User, "--to", d.config.User, "--header", "Subject: via swaks", "--body", "Hello from swaks.")
	if out, err := swaks.CombinedOutput(); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	// And over implicit TLS on 465.
	swaks = exec.CommandContext(ctx, "swaks", "--server", fmt.Sprintf("%s:%d", d.config.Host, d.config.Ports["submissions"]),
		"--tls-on-connect", "--auth", "PLAIN", "--auth-user", d.config.User, "--auth-password", d.config.Password,
		"--from", d.config.User, "--to", d.config.User, "--header", "Subject: via swaks 465", "--body", "Hello from swaks.")
	if out, err := swaks.CombinedOutput(); err != nil {
		t.Fatalf("swaks on 465: %v\n%s", err, out)
	}
	// swaks without TLS: AUTH must be refused.
	swaks = exec.CommandContext(ctx, "swaks", "--server", fmt.Sprintf("%s:%d", d.config.Host, d.config.Ports["submission"]),
		"--auth", "PLAIN", "--auth-user", d.config.User, "--auth-password", d.config.Password,
		"--from", d.config.User, "--to", d.config.User, "--header", "Subject: no tls")
	if out, err := swaks.CombinedOutput(); err == nil || strings.Contains(string(out), "235 ") {
		t.Errorf("swaks authenticated without TLS:\n%s", out)
	}

	// The message for outside and the user was queued whole; the queue
	// delivers the local copy at once and keeps the outside one, visible.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := sealpost(t, "", "queue", "list", "--json", "--data", dir)
		var items []struct {
			Recipients []struct{ Address, Status string } `json:"recipients"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &items) != nil {
			t.Fatalf("queue list: %s %s", r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout, "victim@outside.example") {
			t.Fatalf("relay attempt queued: %s", r.stdout)
		}
		status := map[string]string{}
		for _, it := range items {
			for _, rc := range it.Recipients {
				status[rc.Address] = rc.Status
			}
		}
		if status["friend@outside.example"] == "pending" && status[d.config.User] == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue never showed the local copy delivered and the outside one pending: %s", r.stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop(t, 10*time.Second)

	subjects := inboxSubjects(t, dir, d.config.User)
	for _, want := range []string{"via 587", "via 465", "via 25", "via swaks", "via swaks 465"} {
		if !strings.Contains(subjects, want) {
			t.Errorf("INBOX lacks %q; has %s", want, subjects)
		}
	}
	for _, never := range []string{"forged sender", "relay", "no tls"} {
		if strings.Contains(subjects, never) {
			t.Errorf("INBOX has %q", never)
		}
	}
}

// inboxBodies opens a stopped instance's store and returns the messages
// in an account's INBOX.
func inboxBodies(t *testing.T, dir, user string) []string {
	t.Helper()
	cfg, err := instance.LoadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := instance.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return storetest.MailboxBodies(t, st, user, "INBOX")
}

// inboxSubjects lists the Subject lines in an account's INBOX in a stopped
// instance.
func inboxSubjects(t *testing.T, dir, user string) string {
	t.Helper()
	var subjects []string
	for _, b := range inboxBodies(t, dir, user) {
		for _, line := range strings.Split(b, "\r\n") {
			if strings.HasPrefix(line, "Subject: ") {
				subjects = append(subjects, strings.TrimPrefix(line, "Subject: "))
			}
		}
	}
	return strings.Join(subjects, "; ")
}
