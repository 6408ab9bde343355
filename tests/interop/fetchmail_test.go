package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFetchmail retrieves the demo user's mail with fetchmail over POP3,
// handing each message to an MDA that writes it to a file: first over
// implicit TLS keeping the messages on the server, then over STLS
// deleting them, and checks both the files and what the server holds.
func TestFetchmail(t *testing.T) {
	fetchmail := lookTool(t, "fetchmail", "fetchmail")
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)
	cert := filepath.Join(dir, "tls", "selfsigned-cert.pem")
	subjects := []string{"fetch one", "fetch two", "fetch three"}
	deliverMany(t, d, cert, subjects, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pop3s := fmt.Sprintf("pop3s://%s/", d.addr(d.config.Ports["pop3s"]))
	userpass := d.config.User + ":" + d.config.Password
	if n := popCount(t, ctx, userpass, pop3s); n != len(subjects) {
		t.Fatalf("the maildrop holds %d messages before fetchmail, want %d\n%s", n, len(subjects), d.out)
	}

	tests := []struct {
		name string
		port int    // server option
		opts string // user options: how TLS is reached
		args []string
		left int // messages the server holds afterwards
	}{
		{"pop3s keep", d.config.Ports["pop3s"], "ssl", []string{"--keep"}, len(subjects)},
		// sslproto without ssl makes fetchmail require STLS.
		{"STLS delete", d.config.Ports["pop3"], "sslproto 'TLS1.2+'", []string{"--nokeep", "--all"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			out := filepath.Join(work, "out")
			if err := os.Mkdir(out, 0o700); err != nil {
				t.Fatal(err)
			}
			// The MDA runs once per message through sh -c; $$ names the
			// file after that shell, so each message gets its own.
			rc := fmt.Sprintf("set no syslog\n"+
				"poll %s service %d protocol pop3\n"+
				"  user %q password %q is local here\n"+
				"  %s sslcertck sslcertfile %q sslcommonname mail.example.test\n"+
				"  mda \"cat > %s/msg.$$\"\n",
				d.config.Host, tc.port, d.config.User, d.config.Password, tc.opts, cert, out)
			rcPath := filepath.Join(work, "fetchmailrc")
			if err := os.WriteFile(rcPath, []byte(rc), 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--fetchmailrc", rcPath, "--pidfile", filepath.Join(work, "pid"),
				"--idfile", filepath.Join(work, "ids"), "--nosyslog", "--verbose"}, tc.args...)
			cmd := exec.CommandContext(ctx, fetchmail, args...)
			cmd.Env = append(os.Environ(), "HOME="+work, "FETCHMAILHOME="+work)
			log, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fetchmail: %v\n%s\n%s", err, log, d.out)
			}
			got := fileSubjects(t, out)
			want := slices.Clone(subjects)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("the MDA wrote %q, want %q\n%s", got, want, log)
			}
			if !strings.Contains(string(log), "TLS") && !strings.Contains(string(log), "SSL") {
				t.Errorf("fetchmail's log shows no TLS:\n%s", log)
			}
			if n := popCount(t, ctx, userpass, pop3s); n != tc.left {
				t.Errorf("the maildrop holds %d messages after fetchmail, want %d\n%s", n, tc.left, log)
			}
		})
	}

	d.stop(t, 10*time.Second)
	if n := len(inboxBodies(t, dir, d.config.User)); n != 0 {
		t.Errorf("the store's INBOX holds %d messages after fetchmail deleted them", n)
	}
}

// popCount lists the maildrop with curl and returns the number of messages.
func popCount(t *testing.T, ctx context.Context, userpass, url string) int {
	t.Helper()
	listing := curl(t, ctx, "--insecure", "-u", userpass, url)
	return len(regexp.MustCompile(`(?m)^[0-9]+ [0-9]+\r$`).FindAllString(listing, -1))
}

// fileSubjects returns the sorted Subject lines of the files in dir, each of
// which must hold exactly one whole message.
func fileSubjects(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		var subject string
		for _, line := range strings.Split(text, "\n") {
			if s, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "Subject: "); ok {
				subject = s
				break
			}
		}
		if subject == "" || !strings.Contains(text, "This is "+subject+".") {
			t.Errorf("%s is not one whole message:\n%s", e.Name(), text)
		}
		subjects = append(subjects, subject)
	}
	slices.Sort(subjects)
	return subjects
}
