package mailbench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/smtpclient/smtptest"
)

func TestMainSMTPJSON(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{})
	var out, errOut bytes.Buffer
	code := Main(t.Context(), []string{"smtp", "-addr", srv.Addr(), "-n", "12", "-c", "3", "-size", "2048",
		"-to", "a@example.test,b@example.test", "-sender-domains", "4", "-pid", strconv.Itoa(os.Getpid()), "-json"},
		&out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	for _, key := range []string{"msgs_per_second", "p50_ms", "p90_ms", "p99_ms", "sent", "failed", "elapsed_s",
		"start_unix", "errors", "cpu_ms_per_message"} {
		if _, ok := got[key]; !ok {
			t.Errorf("JSON lacks %q: %s", key, out.String())
		}
	}
	if got["sent"] != 12.0 || got["failed"] != 0.0 || got["connections"] != 3.0 || got["size"] != 2048.0 {
		t.Errorf("sent %v failed %v connections %v size %v; want 12, 0, 3, 2048", got["sent"], got["failed"], got["connections"], got["size"])
	}
	if n := len(srv.Messages()); n != 12 {
		t.Errorf("server took %d messages, want 12", n)
	}
}

func TestMainSMTPAuthFile(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{
		Extensions: []string{"AUTH PLAIN"},
		Reply: func(s *smtptest.SessionState, line string) string {
			if strings.HasPrefix(line, "AUTH PLAIN ") {
				return "235 2.7.0 Authenticated"
			}
			return ""
		},
	})
	host, port, _ := strings.Cut(srv.Addr(), ":")
	dev := filepath.Join(t.TempDir(), "dev.json")
	data := `{"user": "demo@example.test", "password": "pw", "host": "` + host + `", "ports": {"submission": ` + port + `}}`
	if err := os.WriteFile(dev, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Main(t.Context(), []string{"smtp", "-auth-file", dev, "-n", "2"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "sent 2, failed 0") {
		t.Errorf("output %q lacks the count", out.String())
	}
	for _, m := range srv.Messages() {
		if m.Mail != "MAIL FROM:<demo@example.test>" || m.Rcpts[0] != "RCPT TO:<demo@example.test>" {
			t.Errorf("envelope %q %q, want the dev user as sender and recipient", m.Mail, m.Rcpts)
		}
	}
}

func TestMainErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"smtp", "-addr", "127.0.0.1:25", "-to", "a@b.test"}, 2, "-n"},
		{[]string{"smtp", "-n", "1", "-to", "a@b.test"}, 2, "-addr"},
		{[]string{"smtp", "-n", "1", "-addr", "127.0.0.1:25"}, 2, "-to"},
		{[]string{"smtp", "-n", "1", "-addr", "198.51.100.7:25", "-to", "a@b.test"}, 1, "not a loopback"},
		{[]string{"smtp", "-n", "1", "-addr", "127.0.0.1:25", "-to", "a@b.test", "-auth", "nocolon"}, 2, "USER:PASSWORD"},
		{[]string{"count-maildir"}, 2, "one Maildir"},
	} {
		var out, errOut bytes.Buffer
		code := Main(t.Context(), tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("mailbench %q: exit %d, stderr %q; want %d and %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
}

func TestMainCountMaildir(t *testing.T) {
	dir := maildir(t, 2, 1)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"count-maildir", dir}, 0, "3\n"},
		{[]string{"count-maildir", "-until", "3", "-json", dir}, 0, `{"count":3,`},
		{[]string{"count-maildir", "-until", "4", "-timeout", "50ms", dir}, 1, "3\n"},
	} {
		var out, errOut bytes.Buffer
		code := Main(t.Context(), tc.args, &out, &errOut)
		if code != tc.code || !strings.HasPrefix(out.String(), tc.want) {
			t.Errorf("mailbench %q: exit %d, output %q; want %d and %q (stderr %s)", tc.args, code, out.String(), tc.code, tc.want, errOut.String())
		}
	}
}
