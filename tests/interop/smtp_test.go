package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/instance"
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

	// The message for outside waits in the queue, visible.
	r := sealpost(t, "", "queue", "list", "--json", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "friend@outside.example") || strings.Contains(r.stdout, "victim@outside.example") {
		t.Errorf("queue list: %s %s", r.stdout, r.stderr)
	}
	d.stop(t, 10*time.Second)

	subjects := inboxSubjects(t, dir, d.config.User)
	for _, want := range []string{"via 587", "via 465", "via 25", "via swaks"} {
		if !strings.Contains(subjects, want) {
			t.Errorf("INBOX lacks %q; has %s", want, subjects)
		}
	}
	for _, never := range []string{"forged sender", "relay"} {
		if strings.Contains(subjects, never) {
			t.Errorf("INBOX has %q", never)
		}
	}
}

// inboxSubjects opens a stopped instance's store and lists the Subject
// lines in an account's INBOX.
func inboxSubjects(t *testing.T, dir, user string) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := instance.LoadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := instance.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.GetAccount(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.ListMessages(ctx, mb.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, m := range msgs {
		body, err := st.OpenBody(ctx, m.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(body)
		body.Close()
		for _, line := range strings.Split(string(b), "\r\n") {
			if strings.HasPrefix(line, "Subject: ") {
				subjects = append(subjects, strings.TrimPrefix(line, "Subject: "))
			}
		}
	}
	return strings.Join(subjects, "; ")
}
