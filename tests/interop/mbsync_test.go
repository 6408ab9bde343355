package interop

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMbsync syncs a 1,000-message INBOX with mbsync (isync) over implicit
// TLS, the way a user keeps a local Maildir: a first run copies everything
// down; a second run, after changes on both sides (flags, deletions, new
// messages), must leave both sides equal; a third run must change nothing.
func TestMbsync(t *testing.T) {
	mbsync := lookTool(t, "mbsync", "isync")
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)
	cert := filepath.Join(dir, "tls", "selfsigned-cert.pem")

	const total = 1000
	var subjects []string
	for i := range total {
		subjects = append(subjects, mbsyncSubject(i))
	}
	deliverMany(t, d, cert, subjects, 4)
	if st := imapState(t, dir, cert, "wait", fmt.Sprint(total)); st.Count != total {
		t.Fatalf("INBOX holds %d messages after delivery, want %d\n%s", st.Count, total, d.out)
	}

	work := t.TempDir()
	conf := writeMbsyncConfig(t, work, d, cert)
	inbox := filepath.Join(work, "mail", "INBOX")

	// First run: everything comes down, nothing is flagged.
	runMbsync(t, mbsync, conf, d)
	want := map[string]string{}
	for _, s := range subjects {
		want[s] = ""
	}
	compareSides(t, "after the first run", want, readMaildir(t, inbox), imapState(t, dir, cert, "state"))
	if t.Failed() {
		t.FailNow()
	}

	// Changes on the near side: flags by renaming, deletions, new messages.
	local := readMaildir(t, inbox)
	for i := range 10 {
		setMaildirFlags(t, inbox, local[mbsyncSubject(i)].path, "S")
		want[mbsyncSubject(i)] = "S"
	}
	for i := 10; i < 15; i++ {
		setMaildirFlags(t, inbox, local[mbsyncSubject(i)].path, "F")
		want[mbsyncSubject(i)] = "F"
	}
	for i := 15; i < 20; i++ {
		if err := os.Remove(filepath.Join(inbox, local[mbsyncSubject(i)].path)); err != nil {
			t.Fatal(err)
		}
		delete(want, mbsyncSubject(i))
	}
	for i, flags := range []string{"", "", "S"} {
		subject := fmt.Sprintf("local new %d", i)
		writeMaildirMessage(t, inbox, i, subject, flags)
		want[subject] = flags
	}

	// Changes on the far side: deletions, flags, and two new deliveries.
	// Message 10 gets \Seen here and \Flagged above: both must survive.
	var actions struct {
		Delete []string `json:"delete"`
		Flag   []string `json:"flag"`
		Seen   []string `json:"seen"`
	}
	for i := 20; i < 25; i++ {
		actions.Delete = append(actions.Delete, mbsyncSubject(i))
		delete(want, mbsyncSubject(i))
	}
	for i := 25; i < 30; i++ {
		actions.Flag = append(actions.Flag, mbsyncSubject(i))
		want[mbsyncSubject(i)] = "F"
	}
	for _, i := range []int{10, 30, 31, 32, 33, 34} {
		actions.Seen = append(actions.Seen, mbsyncSubject(i))
		want[mbsyncSubject(i)] += "S"
	}
	js, err := json.Marshal(actions)
	if err != nil {
		t.Fatal(err)
	}
	if st := imapState(t, dir, cert, "change", string(js)); st.Count != total-5 {
		t.Fatalf("INBOX holds %d messages after the server-side changes, want %d", st.Count, total-5)
	}
	deliverMany(t, d, cert, []string{"server new 0", "server new 1"}, 1)
	want["server new 0"], want["server new 1"] = "", ""
	imapState(t, dir, cert, "wait", fmt.Sprint(total-5+2))

	// Second run: both sides converge.
	runMbsync(t, mbsync, conf, d)
	if len(want) != total-10+5 {
		t.Fatalf("test bug: %d messages expected", len(want))
	}
	compareSides(t, "after the second run", want, readMaildir(t, inbox), imapState(t, dir, cert, "state"))

	// Third run: nothing left to do, so nothing changes on either side,
	// nor in mbsync's record of the pairing.
	statePath := filepath.Join(inbox, ".mbsyncstate")
	listing, server, syncState := maildirListing(t, inbox), imapState(t, dir, cert, "state"), readFile(t, statePath)
	runMbsync(t, mbsync, conf, d)
	if after := maildirListing(t, inbox); !slices.Equal(listing, after) {
		t.Errorf("the third run changed the Maildir:\nbefore %q\nafter  %q", listing, after)
	}
	if after := imapState(t, dir, cert, "state"); !server.equal(after) {
		t.Errorf("the third run changed the server: before %+v, after %+v", server, after)
	}
	if after := readFile(t, statePath); after != syncState {
		t.Errorf("the third run changed mbsync's sync state:\nbefore:\n%s\nafter:\n%s", lastLines(syncState, 20), lastLines(after, 20))
	}

	d.stop(t, 10*time.Second)
	if n := len(inboxBodies(t, dir, d.config.User)); n != len(want) {
		t.Errorf("the store's INBOX holds %d messages, want %d", n, len(want))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mbsyncSubject(i int) string { return fmt.Sprintf("mbsync %04d", i) }

// lookTool finds a client program, failing in CI (which installs it) and
// skipping elsewhere.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found; CI must run this test (.ci/run installs %s)", name, pkg)
		}
		t.Skipf("%s not found: skipping (apt-get install %s)", name, pkg)
	}
	return path
}

// deliverMany sends one message per subject to the demo user through the MX
// port over conns parallel STARTTLS connections, trusting only the dev
// certificate.
func deliverMany(t *testing.T, d *devInstance, cert string, subjects []string, conns int) {
	t.Helper()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", cert)
	}
	tlsConf := &tls.Config{RootCAs: roots, ServerName: "mail.example.test", MinVersion: tls.VersionTLS12}
	deadline := time.Now().Add(2 * time.Minute)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []string
			for i := c; i < len(subjects); i += conns {
				mine = append(mine, subjects[i])
			}
			errs <- deliverOn(d, tlsConf, deadline, mine)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("delivering over SMTP: %v\n%s", err, d.out)
		}
	}
}

// deliverOn sends messages one transaction each over one SMTP connection.
func deliverOn(d *devInstance, tlsConf *tls.Config, deadline time.Time, subjects []string) error {
	conn, err := net.DialTimeout("tcp", d.addr(d.config.Ports["smtp"]), 10*time.Second)
	if err != nil {
		return err
	}
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, d.config.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("mx.far.example"); err != nil {
		return err
	}
	if err := c.StartTLS(tlsConf); err != nil {
		return err
	}
	for _, subject := range subjects {
		if err := c.Mail("sender@far.example"); err != nil {
			return fmt.Errorf("%s: MAIL: %w", subject, err)
		}
		if err := c.Rcpt(d.config.User); err != nil {
			return fmt.Errorf("%s: RCPT: %w", subject, err)
		}
		w, err := c.Data()
		if err != nil {
			return fmt.Errorf("%s: DATA: %w", subject, err)
		}
		id := strings.ReplaceAll(subject, " ", ".")
		fmt.Fprintf(w, "From: Sender <sender@far.example>\r\nTo: %s\r\nSubject: %s\r\n"+
			"Message-ID: <%s@far.example>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n"+
			"This is %s.\r\n%s", d.config.User, subject, id, subject, strings.Repeat("Some text to sync.\r\n", 20))
		if err := w.Close(); err != nil {
			return fmt.Errorf("%s: end of DATA: %w", subject, err)
		}
	}
	return c.Quit()
}

// serverState is what testdata/mbsync/imap_state.py reports of the INBOX.
type serverState struct {
	UIDValidity int `json:"uidvalidity"`
	UIDNext     int `json:"uidnext"`
	Count       int `json:"count"`
	Messages    map[string]struct {
		UID   int    `json:"uid"`
		Flags string `json:"flags"`
	} `json:"messages"`
}

func (s serverState) equal(o serverState) bool {
	return s.UIDValidity == o.UIDValidity && s.UIDNext == o.UIDNext && s.Count == o.Count && maps.Equal(s.Messages, o.Messages)
}

// imapState runs testdata/mbsync/imap_state.py against the running
// instance.
func imapState(t *testing.T, dir, cert string, args ...string) serverState {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"testdata/mbsync/imap_state.py", filepath.Join(dir, "dev.json"), cert}, args...)
	cmd := exec.CommandContext(ctx, "python3", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("imap_state.py %s: %v\n%s", args[3], err, stderr.String())
	}
	var st serverState
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("imap_state.py %s: %v: %s", args[3], err, out)
	}
	return st
}

// writeMbsyncConfig writes an mbsync configuration syncing the demo user's
// INBOX with work/mail/INBOX both ways, expunging on both sides.
func writeMbsyncConfig(t *testing.T, work string, d *devInstance, cert string) string {
	t.Helper()
	pass := filepath.Join(work, "password")
	if err := os.WriteFile(pass, []byte(d.config.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mail := filepath.Join(work, "mail")
	if err := os.Mkdir(mail, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`IMAPAccount demo
Host %s
Port %d
User %s
PassCmd "cat %s"
SSLType IMAPS
SystemCertificates no
CertificateFile %s

IMAPStore remote
Account demo

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Sync All
Create Both
Expunge Both
SyncState *
`, d.config.Host, d.config.Ports["imaps"], d.config.User, pass, cert, mail, mail)
	path := filepath.Join(work, "mbsyncrc")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runMbsync runs one verbose sync, failing with the protocol trace of a
// rerun if it does not exit 0.
func runMbsync(t *testing.T, mbsync, conf string, d *devInstance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, mbsync, "-V", "-c", conf, "-a").CombinedOutput()
	if err != nil {
		trace, _ := exec.CommandContext(ctx, mbsync, "-Dn", "-c", conf, "-a").CombinedOutput()
		t.Fatalf("mbsync: %v\n%s\n--- protocol trace of a rerun (last 200 lines):\n%s\n--- sealpost (last 40 lines):\n%s",
			err, out, lastLines(string(trace), 200), lastLines(d.out.String(), 40))
	}
	t.Logf("mbsync -V:\n%s", lastLines(string(out), 8))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// maildirMessage is a message file in a Maildir.
type maildirMessage struct {
	path  string // relative to the Maildir: new/NAME or cur/NAME
	flags string // Maildir info flags, sorted
}

// readMaildir maps each message's Subject to its file and flags.
func readMaildir(t *testing.T, maildir string) map[string]maildirMessage {
	t.Helper()
	msgs := map[string]maildirMessage{}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(maildir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			rel := filepath.Join(sub, e.Name())
			subject := maildirSubject(t, filepath.Join(maildir, rel))
			if _, dup := msgs[subject]; dup {
				t.Fatalf("%q twice in the Maildir", subject)
			}
			flags := ""
			if _, info, ok := strings.Cut(e.Name(), ":2,"); ok {
				flags = info
			}
			msgs[subject] = maildirMessage{path: rel, flags: flags}
		}
	}
	return msgs
}

func maildirSubject(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if s, ok := strings.CutPrefix(line, "Subject: "); ok {
			return s
		}
	}
	t.Fatalf("%s has no Subject", path)
	return ""
}

// setMaildirFlags moves a message to cur/ with the given flags, as a mail
// reader does.
func setMaildirFlags(t *testing.T, maildir, rel, flags string) {
	t.Helper()
	base, _, _ := strings.Cut(filepath.Base(rel), ":2,")
	if err := os.Rename(filepath.Join(maildir, rel), filepath.Join(maildir, "cur", base+":2,"+flags)); err != nil {
		t.Fatal(err)
	}
}

// writeMaildirMessage adds a new message, as a mail reader saving a draft or
// another delivery agent would: unseen in new/, otherwise in cur/.
func writeMaildirMessage(t *testing.T, maildir string, n int, subject, flags string) {
	t.Helper()
	body := fmt.Sprintf("From: Demo <demo@example.test>\nTo: friend@far.example\nSubject: %s\n"+
		"Message-ID: <local.%d@example.test>\nDate: Mon, 2 Nov 2026 11:00:00 +0000\n\nWritten locally.\n", subject, n)
	name := fmt.Sprintf("1793617200.local%d.workstation", n)
	path := filepath.Join(maildir, "new", name)
	if flags != "" {
		path = filepath.Join(maildir, "cur", name+":2,"+flags)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// maildirListing is every file name in a Maildir's new/ and cur/, sorted.
func maildirListing(t *testing.T, maildir string) []string {
	t.Helper()
	var names []string
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(maildir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, sub+"/"+e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// compareSides checks that both the Maildir and the server hold exactly the
// wanted messages (Subject to flags), reporting at most a few differences.
func compareSides(t *testing.T, when string, want map[string]string, local map[string]maildirMessage, server serverState) {
	t.Helper()
	if len(local) != len(want) || len(server.Messages) != len(want) || server.Count != len(want) {
		t.Errorf("%s: Maildir holds %d messages, server %d (STATUS %d), want %d", when, len(local), len(server.Messages), server.Count, len(want))
	}
	var diffs []string
	for _, s := range slices.Sorted(maps.Keys(want)) {
		l, inLocal := local[s]
		r, inServer := server.Messages[s]
		if !inLocal || !inServer || l.flags != want[s] || r.Flags != want[s] {
			diffs = append(diffs, fmt.Sprintf("%q: want flags %q; Maildir has it %v with %q, server %v with %q",
				s, want[s], inLocal, l.flags, inServer, r.Flags))
		}
	}
	for s := range local {
		if _, ok := want[s]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: unexpected in the Maildir", s))
		}
	}
	for s := range server.Messages {
		if _, ok := want[s]; !ok {
			diffs = append(diffs, fmt.Sprintf("%q: unexpected on the server", s))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		t.Errorf("%s: %d differences:\n%s", when, len(diffs), strings.Join(diffs[:min(len(diffs), 20)], "\n"))
	}
}
