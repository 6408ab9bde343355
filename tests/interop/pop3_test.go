package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPOP3WithRealClients delivers three messages over SMTP, then reads and
// deletes them with Python's poplib over STLS (110) and implicit TLS (995)
// and with curl, and finally reads the store to see that exactly the
// messages deleted at a clean QUIT are gone.
func TestPOP3WithRealClients(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "testdata/pop3_client.py", filepath.Join(dir, "dev.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("pop3_client.py: %v\n%s\n%s", err, out, d.out)
	}
	type msg struct {
		Num    int    `json:"num"`
		Size   int    `json:"size"`
		Octets int    `json:"octets"`
		UIDL   string `json:"uidl"`
		Body   string `json:"body"`
	}
	var got struct {
		CapsBeforeTLS []string          `json:"caps_before_tls"`
		UserBeforeTLS string            `json:"user_before_tls"`
		CapsAfterTLS  []string          `json:"caps_after_tls"`
		Stat          []int             `json:"stat"`
		First         map[string]msg    `json:"first"`
		Top           []string          `json:"top"`
		Quit1         string            `json:"quit1"`
		Second        map[string]msg    `json:"second"`
		Third         []string          `json:"third"`
		Quit3         string            `json:"quit3"`
		WrongPassword string            `json:"wrong_password"`
		Sent          map[string]string `json:"sent"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	if !slices.Contains(got.CapsBeforeTLS, "STLS") || slices.Contains(got.CapsBeforeTLS, "USER") || slices.Contains(got.CapsBeforeTLS, "SASL") {
		t.Errorf("CAPA before TLS: %v", got.CapsBeforeTLS)
	}
	if !strings.HasPrefix(got.UserBeforeTLS, "-ERR [AUTH]") {
		t.Errorf("USER before TLS: %q", got.UserBeforeTLS)
	}
	for _, c := range []string{"USER", "SASL", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"} {
		if !slices.Contains(got.CapsAfterTLS, c) {
			t.Errorf("CAPA after TLS lacks %s: %v", c, got.CapsAfterTLS)
		}
	}
	if slices.Contains(got.CapsAfterTLS, "STLS") {
		t.Errorf("CAPA after TLS still offers STLS")
	}
	if len(got.First) != 3 || len(got.Stat) != 2 || got.Stat[0] != 3 {
		t.Fatalf("first session: STAT %v, messages %v", got.Stat, got.First)
	}
	total := 0
	for subject, m := range got.First {
		total += m.Size
		if m.Octets != m.Size {
			t.Errorf("%s: LIST says %d octets, RETR sent %d", subject, m.Size, m.Octets)
		}
		if m.Body != got.Sent[subject] {
			t.Errorf("%s: body %q, sent %q", subject, m.Body, got.Sent[subject])
		}
		if !regexp.MustCompile(`^[0-9]+\.[0-9]+$`).MatchString(m.UIDL) {
			t.Errorf("%s: UIDL %q", subject, m.UIDL)
		}
	}
	if got.Stat[1] != total {
		t.Errorf("STAT size %d, LIST sizes add up to %d", got.Stat[1], total)
	}
	if n := len(got.Top); n < 4 || got.Top[n-3] != "" || got.Top[n-2] != "Hello three." || got.Top[n-1] != "line" {
		t.Errorf("TOP 2 lines: %q", got.Top)
	}
	if !strings.Contains(got.Quit1, "1 messages deleted") {
		t.Errorf("first QUIT: %q", got.Quit1)
	}
	if _, ok := got.Second["pop one"]; ok || len(got.Second) != 2 {
		t.Errorf("second session sees %v after pop one was deleted", got.Second)
	}
	for subject, m := range got.Second {
		if m.UIDL != got.First[subject].UIDL {
			t.Errorf("%s: UIDL changed from %s to %s", subject, got.First[subject].UIDL, m.UIDL)
		}
	}
	if !slices.Equal(got.Third, []string{"pop three", "pop two"}) {
		t.Errorf("after a dropped connection the maildrop holds %v, want pop three and pop two", got.Third)
	}
	if !strings.Contains(got.Quit3, "1 messages deleted") {
		t.Errorf("third QUIT: %q", got.Quit3)
	}
	if !strings.HasPrefix(got.WrongPassword, "-ERR [AUTH]") {
		t.Errorf("wrong password: %q", got.WrongPassword)
	}

	// curl over implicit TLS and over STLS (AUTH PLAIN, as curl picks it
	// from CAPA): list, retrieve, TOP.
	userpass := d.config.User + ":" + d.config.Password
	pop3s := fmt.Sprintf("pop3s://%s/", d.addr(d.config.Ports["pop3s"]))
	pop3 := fmt.Sprintf("pop3://%s/", d.addr(d.config.Ports["pop3"]))
	listing := curl(t, ctx, "--insecure", "-u", userpass, pop3s)
	if !regexp.MustCompile(`^1 [0-9]+\r\n$`).MatchString(listing) {
		t.Errorf("curl list: %q", listing)
	}
	for _, url := range []string{pop3s + "1", pop3 + "1"} {
		body := curl(t, ctx, "--insecure", "--ssl-reqd", "-u", userpass, url)
		if !strings.Contains(body, "Subject: pop three\r\n") || !strings.HasSuffix(body, "Hello three.\r\n"+strings.Repeat("line\r\n", 50)) {
			t.Errorf("curl retrieve %s: %q", url, body)
		}
	}
	top := curl(t, ctx, "--insecure", "-u", userpass, "-X", "TOP 1 1", pop3s)
	if !strings.Contains(top, "Subject: pop three\r\n") || !strings.HasSuffix(top, "\r\n\r\nHello three.\r\n") {
		t.Errorf("curl TOP 1 1: %q", top)
	}
	// Without TLS curl's login is refused.
	plain := exec.CommandContext(ctx, "curl", "-sS", "--max-time", "20", "-u", userpass, pop3)
	if out, err := plain.CombinedOutput(); err == nil {
		t.Errorf("curl logged in without TLS: %s", out)
	}

	d.stop(t, 10*time.Second)
	if subjects := inboxSubjects(t, dir, d.config.User); subjects != "pop three" {
		t.Errorf("INBOX after the POP3 sessions: %q, want only pop three", subjects)
	}
}

// curl runs curl and returns what it wrote, failing on an error.
func curl(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--max-time", "20"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}
