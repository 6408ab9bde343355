package filter

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/clamd"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// startClamd runs a clamd of the test's own on a unix socket, with a
// signature database of one line for the EICAR test file (the tests
// cannot download ClamAV's), as internal/clamd's tests do; it returns
// the socket's path and a function that stops clamd.
func startClamd(t *testing.T) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("/usr/sbin/clamd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("clamd is not installed (scripts/install-test-deps.sh installs clamav-daemon)")
		}
		t.Skip("clamd is not installed")
	}
	dir, err := os.MkdirTemp("", "clamd") // short: a socket's path is limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	eicar := eicarFile(t)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("sealpost-test.hdb", fmt.Sprintf("%x:%d:Sealpost.Test.EICAR\n", md5.Sum(eicar), len(eicar)))
	sock := filepath.Join(dir, "clamd.sock")
	write("clamd.conf", fmt.Sprintf("Foreground yes\nLocalSocket %s\nDatabaseDirectory %s\nLogFile %s\nStreamMaxLength 1M\nSelfCheck 0\n",
		sock, dir, filepath.Join(dir, "clamd.log")))
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "clamd.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	c := &clamd.Client{Address: sock, Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); c.Ping(context.Background()) != nil; {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
			t.Fatalf("clamd did not start:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return sock, stop
}

func eicarFile(t *testing.T) []byte {
	b, err := os.ReadFile("../clamd/testdata/eicar.com")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eicarMsg is a message with the EICAR test file attached, in base64.
func eicarMsg(t *testing.T, subject string) string {
	return "From: Sender <x@evil.example>\r\nTo: ann@example.org\r\nSubject: " + subject + "\r\n" +
		"Date: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <" + subject + "@x>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe file.\r\n--b\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"test.txt\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(eicarFile(t)) + "\r\n--b--\r\n"
}

// TestClamdSMTP runs SMTP sessions on loopback with a real clamd behind
// the filter: the EICAR file in an attachment is refused with 550 5.7.1
// naming the signature, a clean message is delivered; with clamd down a
// message is deferred with 451 when clamd is a tempfail check and
// delivered unscanned when it is not. Nothing is lost: what is not
// refused or deferred is in the mailbox.
func TestClamdSMTP(t *testing.T) {
	sock, stop := startClamd(t)
	scan := &Clamd{Client: &clamd.Client{Address: sock, Timeout: 5 * time.Second}}
	tempfail := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Checks: append(Builtin(), scan),
		OnError: map[string]OnError{"clamd": Tempfail}}
	p, st := newPipeline(t, tempfail)
	addr := startMX(t, p)
	// The same store behind a second listener whose filter passes mail
	// when clamd fails.
	pass := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Checks: append(Builtin(), scan), Accounts: st}
	passing := *p
	passing.Hooks = []delivery.Hook{pass}
	passAddr := startMX(t, &passing)

	reply := sendMail(t, addr, "x@evil.example", "ann@example.org", eicarMsg(t, "virus"))
	if !strings.HasPrefix(reply, "550 5.7.1 ") || !strings.Contains(reply, "Sealpost.Test.EICAR") {
		t.Errorf("EICAR: %q, want 550 5.7.1 naming the signature", reply)
	}
	if reply := sendMail(t, addr, "x@evil.example", "ann@example.org", smtpMsg("x@evil.example", "clean")); !strings.HasPrefix(reply, "250 ") {
		t.Errorf("clean: %q", reply)
	}
	stop()
	if reply := sendMail(t, addr, "x@evil.example", "ann@example.org", eicarMsg(t, "down1")); !strings.HasPrefix(reply, "451 4.7.1 ") {
		t.Errorf("clamd down, tempfail: %q, want 451 4.7.1", reply)
	}
	if reply := sendMail(t, passAddr, "x@evil.example", "ann@example.org", smtpMsg("x@evil.example", "down2")); !strings.HasPrefix(reply, "250 ") {
		t.Errorf("clamd down, pass: %q, want 250", reply)
	}
	inbox := storetest.MailboxBodies(t, st, "ann@example.org", "INBOX")
	if len(inbox) != 2 || !strings.Contains(inbox[0], "Subject: clean") || !strings.Contains(inbox[1], "Subject: down2") {
		t.Errorf("INBOX: %d messages, want clean and down2", len(inbox))
	}
}
