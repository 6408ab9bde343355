package interop

// Postfix from Debian as a real SMTP peer on loopback: it relays to
// Sealpost's MX, and it is the remote MX that Sealpost's queue finds through
// the test DNS, with opportunistic STARTTLS, DANE and MTA-STS enforced.
//
// Each test runs a private Postfix instance from a temporary directory
// (postfix -c DIR start) with its own queue and data directories, listening
// on a free loopback port, delivering mail for the test domains to a
// Maildir in that directory and nothing to system users. Postfix must run
// as root (its daemons drop to the postfix user); the test skips when
// Postfix is not installed or it is not root, except in CI (CI set), where
// that is a failure: .ci/run installs Postfix.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/smtp"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// needPostfix returns the postfix command, skipping the test when Postfix
// cannot run here, or failing it in CI.
func needPostfix(t *testing.T) string {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s; CI must run the Postfix tests (.ci/run installs Postfix)", why)
		}
		t.Skipf("%s: skipping the Postfix interoperability test (bash tests/interop/install-postfix.sh installs it)", why)
	}
	bin, err := exec.LookPath("postfix")
	if err != nil {
		bin = "/usr/sbin/postfix" // not always on a non-root PATH
		if _, err := os.Stat(bin); err != nil {
			unavailable("postfix is not installed")
		}
	}
	if os.Geteuid() != 0 {
		unavailable("Postfix runs as root, dropping to the postfix user, and the test is not root")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		unavailable("there is no postfix user: " + err.Error())
	}
	return bin
}

// postfixOptions shape one Postfix instance.
type postfixOptions struct {
	// Domains are delivered to the instance's Maildir.
	Domains []string
	// Relayhost, when set, receives all other mail ([host]:port); without
	// it other mail fails at once, so that Postfix never resolves a name.
	Relayhost string
	// ClientTLS is smtp_tls_security_level for the relay.
	ClientTLS string
	// CertPEM and KeyPEM are smtpd's certificate (chain) and key.
	CertPEM, KeyPEM []byte
}

// postfixInstance is a running private Postfix.
type postfixInstance struct {
	bin  string
	dir  string
	port int
}

func (p *postfixInstance) etc() string     { return filepath.Join(p.dir, "etc") }
func (p *postfixInstance) maillog() string { return readFileString(filepath.Join(p.dir, "maillog")) }
func (p *postfixInstance) addr() string    { return fmt.Sprintf("127.0.0.1:%d", p.port) }

// startPostfix writes a configuration from testdata/postfix into a new
// directory and starts Postfix from it; the test's cleanup stops it.
func startPostfix(t *testing.T, bin string, opts postfixOptions) *postfixInstance {
	t.Helper()
	// Not t.TempDir: its parent is 0700, and the postfix user must reach
	// the Maildir and the queue below this directory.
	dir, err := os.MkdirTemp("", "sealpost-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pfUser, err := user.Lookup("postfix")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pfUser.Uid)
	gid, _ := strconv.Atoi(pfUser.Gid)
	p := &postfixInstance{bin: bin, dir: dir, port: freePort(t)}

	mkdir := func(path string, mode os.FileMode, owned bool) {
		t.Helper()
		if err := os.MkdirAll(path, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if owned {
			if err := os.Chown(path, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	mkdir(dir, 0o755, false)
	mkdir(p.etc(), 0o755, false)
	mkdir(filepath.Join(dir, "queue"), 0o755, false) // root's, as Postfix requires
	mkdir(filepath.Join(dir, "data"), 0o700, true)
	mkdir(filepath.Join(dir, "Maildir"), 0o700, true)
	for _, sub := range []string{"tmp", "new", "cur"} {
		mkdir(filepath.Join(dir, "Maildir", sub), 0o700, true)
	}
	if err := os.WriteFile(filepath.Join(p.etc(), "cert.pem"), opts.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.etc(), "key.pem"), opts.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	defaultTransport := "error:this test instance relays nothing"
	if opts.Relayhost != "" {
		defaultTransport = "smtp"
	}
	clientTLS := opts.ClientTLS
	if clientTLS == "" {
		clientTLS = "may"
	}
	data := map[string]any{
		"Dir":              dir,
		"Listen":           p.addr(),
		"Domains":          strings.Join(opts.Domains, ", "),
		"Relayhost":        opts.Relayhost,
		"DefaultTransport": defaultTransport,
		"ClientTLS":        clientTLS,
		"UID":              uid,
		"GID":              gid,
	}
	for _, name := range []string{"main.cf", "master.cf"} {
		tmpl, err := template.ParseFiles(filepath.Join("testdata", "postfix", name))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, data); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p.etc(), name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Registered first, so that a start that fails half-way is cleaned up.
	var master int
	t.Cleanup(func() { p.stop(t, master) })
	if out, err := p.run("start"); err != nil {
		master = p.masterPID()
		t.Fatalf("postfix start: %v\n%s\nmaillog:\n%s", err, out, p.maillog())
	}
	// postfix start returns once the master has bound its sockets; the
	// master leads its own process group, which holds every daemon.
	master = p.masterPID()
	if c, err := net.DialTimeout("tcp", p.addr(), 5*time.Second); err != nil {
		t.Fatalf("Postfix does not listen on %s: %v\n%s", p.addr(), err, p.maillog())
	} else {
		c.Close()
	}
	return p
}

// run runs the postfix command on this instance, bounded in time.
func (p *postfixInstance) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p.bin, append([]string{"-c", p.etc()}, args...)...).CombinedOutput()
	return string(out), err
}

// masterPID returns the master's process ID if it leads its own process
// group, and 0 otherwise (then only "postfix stop" ends the instance).
func (p *postfixInstance) masterPID() int {
	pid, err := strconv.Atoi(strings.TrimSpace(readFileString(filepath.Join(p.dir, "queue", "pid", "master.pid"))))
	if err != nil || pid <= 1 {
		return 0
	}
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid || pgid == syscall.Getpgrp() {
		return 0
	}
	return pid
}

// stop stops the instance, then kills whatever of its process group is
// left after a bounded wait.
func (p *postfixInstance) stop(t *testing.T, master int) {
	if out, err := p.run("stop"); err != nil && master != 0 && alive(master) {
		t.Errorf("postfix stop: %v\n%s", err, out)
	}
	if master == 0 {
		return
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if !alive(master) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-master, syscall.SIGKILL) // ESRCH when all are gone
}

// alive reports whether pid runs: exists and is not a zombie (an orphaned
// daemon's zombie may never be reaped in a container without init).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, ok := bytes.Cut(stat, []byte(") "))
	return ok && len(rest) > 0 && rest[0] != 'Z'
}

// maildirMessage waits up to limit for a message with the given Subject in
// the instance's Maildir and returns it.
func (p *postfixInstance) maildirMessage(t *testing.T, subject string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if msg := p.findMessage(subject); msg != "" {
			return msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %q reached Postfix within %v\nmaillog:\n%s", subject, limit, p.maillog())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findMessage returns the delivered message with subject, or "".
func (p *postfixInstance) findMessage(subject string) string {
	files, _ := filepath.Glob(filepath.Join(p.dir, "Maildir", "new", "*"))
	for _, f := range files {
		msg := readFileString(f)
		if m, err := mail.ReadMessage(strings.NewReader(msg)); err == nil && m.Header.Get("Subject") == subject {
			return msg
		}
	}
	return ""
}

// waitLog waits up to limit for a maillog line holding every one of want.
func (p *postfixInstance) waitLog(t *testing.T, limit time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		for _, line := range strings.Split(p.maillog(), "\n") {
			if containsAll(line, want...) {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Postfix log line with %q within %v\nmaillog:\n%s", want, limit, p.maillog())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func readFileString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestPostfixDeliversToSealpost has Postfix relay a message to Sealpost's
// MX with TLS required (smtp_tls_security_level = encrypt).
func TestPostfixDeliversToSealpost(t *testing.T) {
	bin := needPostfix(t)
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)
	pki := newTestPKI(t)
	certPEM, keyPEM := pki.leaf(t, "postfix.remote.example")
	pf := startPostfix(t, bin, postfixOptions{
		Domains:   []string{"remote.example"},
		Relayhost: fmt.Sprintf("[127.0.0.1]:%d", d.config.Ports["smtp"]),
		ClientTLS: "encrypt",
		CertPEM:   certPEM, KeyPEM: keyPEM,
	})

	const subject = "from Postfix to Sealpost"
	sendPlain(t, pf.addr(), "sender@remote.example", d.config.User, subject)
	line := pf.waitLog(t, time.Minute, "to=<"+d.config.User+">", "status=")
	if !strings.Contains(line, "status=sent") {
		t.Fatalf("Postfix did not deliver to Sealpost: %s\nmaillog:\n%s\nsealpost:\n%s", line, pf.maillog(), d.out)
	}
	pf.waitLog(t, 5*time.Second, "TLS connection established to 127.0.0.1")
	d.stop(t, 10*time.Second)

	msg := inboxMessage(t, dir, d.config.User, subject)
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	received := m.Header["Received"]
	if len(received) < 2 {
		t.Fatalf("want Sealpost's and Postfix's Received fields, got %q", received)
	}
	// The first field is Sealpost's, about the hop from Postfix.
	if !strings.Contains(received[0], "with ESMTPS") || !strings.Contains(received[0], "postfix.remote.example") {
		t.Errorf("Sealpost's Received field does not show TLS from Postfix: %q", received[0])
	}
}

// sendPlain submits a message over plain SMTP from loopback, which a
// Postfix instance relays for its mynetworks.
func sendPlain(t *testing.T, addr, from, to, subject string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.remote.example"); err != nil {
		t.Fatal(err)
	}
	writeMessage(t, c, from, to, subject)
}

func writeMessage(t *testing.T, c *smtp.Client, from, to, subject string) {
	t.Helper()
	if err := mailFrom(c, from); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d@interop.test>\r\n\r\nHello from the interoperability test.\r\n",
		from, to, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano())
	if err := w.Close(); err != nil {
		t.Fatalf("DATA for %s: %v", subject, err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// mailFrom sends MAIL FROM without parameters. net/smtp's Mail adds
// SMTPUTF8 whenever the server offers it; these messages are ASCII, and
// the trace fields should name plain ESMTPS, as for most mail.
func mailFrom(c *smtp.Client, from string) error {
	id, err := c.Text.Cmd("MAIL FROM:<%s>", from)
	if err != nil {
		return err
	}
	c.Text.StartResponse(id)
	defer c.Text.EndResponse(id)
	_, _, err = c.Text.ReadResponse(250)
	return err
}

// inboxMessage returns the message with the given Subject from an
// account's INBOX in a stopped instance.
func inboxMessage(t *testing.T, dir, user, subject string) string {
	t.Helper()
	bodies := inboxBodies(t, dir, user)
	for _, b := range bodies {
		if pm, err := mail.ReadMessage(strings.NewReader(b)); err == nil && pm.Header.Get("Subject") == subject {
			return b
		}
	}
	t.Fatalf("no message %q in %s's INBOX (%d messages)", subject, user, len(bodies))
	return ""
}

// TestSealpostDeliversToPostfix runs `sealpost serve` with outbound
// delivery on, its DNS from a test server whose MX records all point at a
// Postfix instance on loopback (reached through testing.smtp_port), and
// checks each outbound TLS policy against a real peer: opportunistic
// STARTTLS, DANE with a matching and a wrong TLSA record, and MTA-STS
// enforce with a matching and a mismatched mx pattern. Mail that a policy
// forbids to deliver must stay in the queue.
func TestSealpostDeliversToPostfix(t *testing.T) {
	bin := needPostfix(t)
	pki := newTestPKI(t)

	// Each case is a domain of its own, so one Postfix and one Sealpost
	// serve them all; MTA-STS policies are cached per domain.
	cases := []struct {
		name, domain string
		deliver      bool
		errWant      string // in the queue's last_error when not delivered
	}{
		{"STARTTLS", "remote.example", true, ""},
		{"DANE", "dane.remote.example", true, ""},
		{"DANE wrong TLSA", "badtlsa.remote.example", false, "DANE"},
		{"MTA-STS", "sts.remote.example", true, ""},
		{"MTA-STS mx mismatch", "badsts.remote.example", false, "MTA-STS"},
	}
	var domains, mxNames []string
	for _, c := range cases {
		domains = append(domains, c.domain)
		mxNames = append(mxNames, "mx."+c.domain)
	}
	certPEM, keyPEM := pki.leaf(t, mxNames...)
	pf := startPostfix(t, bin, postfixOptions{Domains: domains, CertPEM: certPEM, KeyPEM: keyPEM})

	// MTA-STS policies over HTTPS, with a certificate from the test CA.
	policies := map[string]string{
		"mta-sts.sts.remote.example":    "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.remote.example\r\nmax_age: 86400\r\n",
		"mta-sts.badsts.remote.example": "version: STSv1\r\nmode: enforce\r\nmx: mx.elsewhere.example\r\nmax_age: 86400\r\n",
	}
	var fetchMu sync.Mutex
	fetched := map[string]int{}
	sts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		fetchMu.Lock()
		fetched[host]++
		fetchMu.Unlock()
		policy, ok := policies[host]
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, policy)
	}))
	stsCert, stsKey := pki.leaf(t, "mta-sts.sts.remote.example", "mta-sts.badsts.remote.example")
	pair, err := tls.X509KeyPair(stsCert, stsKey)
	if err != nil {
		t.Fatal(err)
	}
	sts.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	sts.StartTLS()
	t.Cleanup(sts.Close)
	stsPort := sts.Listener.Addr().(*net.TCPAddr).Port

	spki := sha256.Sum256(pki.leafCert(t, certPEM).RawSubjectPublicKeyInfo)
	wrong := sha256.Sum256([]byte("not the key of mx.badtlsa.remote.example"))
	zone := fmt.Sprintf(`
remote.example.                   MX   10 mx.remote.example.
mx.remote.example.                A    127.0.0.1

$SECURE dane.remote.example
dane.remote.example.              MX   10 mx.dane.remote.example.
mx.dane.remote.example.           A    127.0.0.1
_25._tcp.mx.dane.remote.example.  TLSA 3 1 1 %[1]s

$SECURE badtlsa.remote.example
badtlsa.remote.example.           MX   10 mx.badtlsa.remote.example.
mx.badtlsa.remote.example.        A    127.0.0.1
_25._tcp.mx.badtlsa.remote.example. TLSA 3 1 1 %[2]s

sts.remote.example.               MX   10 mx.sts.remote.example.
mx.sts.remote.example.            A    127.0.0.1
_mta-sts.sts.remote.example.      TXT  "v=STSv1; id=20260101"
mta-sts.sts.remote.example.       A    127.0.0.1

badsts.remote.example.            MX   10 mx.badsts.remote.example.
mx.badsts.remote.example.         A    127.0.0.1
_mta-sts.badsts.remote.example.   TXT  "v=STSv1; id=20260101"
mta-sts.badsts.remote.example.    A    127.0.0.1
`, hex.EncodeToString(spki[:]), hex.EncodeToString(wrong[:]))
	dns := dnstest.Start(t, zone)

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pki.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	submission := freePort(t)
	cfgPath := filepath.Join(dir, "sealpost.toml")
	cfg := fmt.Sprintf(`hostname = "mail.example.test"
data_dir = %q
domains = ["example.test"]

[tls]
mode = "self-signed"

[listeners]
smtp = ""
submission = "127.0.0.1:%d"
submissions = ""
imap = ""
imaps = ""
pop3 = ""
pop3s = ""
https = ""
admin = ""

[dns]
resolver = %q

[queue]
deliver = true

[testing]
enabled = true
smtp_port = %d
mtasts_port = %d
ca_file = %q
`, filepath.Join(dir, "data"), submission, dns.Addr(), pf.port, stsPort, caFile)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	const user, password = "demo@example.test", "interop test password"
	for _, args := range [][]string{
		{"config", "check", cfgPath},
		{"domain", "add", "-config", cfgPath, "example.test"},
		{"account", "add", "--password-stdin", "-config", cfgPath, user},
	} {
		if r := sealpost(t, password+"\n", args...); r.code != 0 {
			t.Fatalf("sealpost %v: exit %d: %s%s", args, r.code, r.stdout, r.stderr)
		}
	}

	var out syncBuffer
	cmd := exec.Command(binary, "serve", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	})
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", submission), done, &out)
	if !strings.Contains(out.String(), "TESTING SETTINGS ARE ON") {
		t.Errorf("serve did not warn about [testing]:\n%s", &out)
	}

	subjectOf := func(domain string) string { return "to " + domain }
	for _, c := range cases {
		submitTLS(t, fmt.Sprintf("127.0.0.1:%d", submission), user, password, "friend@"+c.domain, subjectOf(c.domain))
	}

	for _, c := range cases {
		if !c.deliver {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			msg := pf.maildirMessage(t, subjectOf(c.domain), time.Minute)
			m, err := mail.ReadMessage(strings.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			// Postfix's own trace field is the first.
			if r := m.Header.Get("Received"); !strings.Contains(r, "with ESMTPS") || !strings.Contains(r, "mail.example.test") {
				t.Errorf("Postfix's Received field does not show TLS from Sealpost: %q", r)
			}
		})
	}

	// The refused deliveries: each attempted, its error recorded, and kept
	// in the queue; the delivered ones gone from it.
	rows := waitQueue(t, cfgPath, time.Minute, func(rows []queueListRow) bool {
		for _, c := range cases {
			r, ok := rowFor(rows, "friend@"+c.domain)
			if c.deliver && ok || !c.deliver && (!ok || r.Attempts < 1) {
				return false
			}
		}
		return true
	})
	// The MTA-STS domains' mail went by their policies, fetched over HTTPS
	// with a certificate only the test CA vouches for.
	fetchMu.Lock()
	if fetched["mta-sts.sts.remote.example"] == 0 || fetched["mta-sts.badsts.remote.example"] == 0 {
		t.Errorf("MTA-STS policies fetched: %v", fetched)
	}
	fetchMu.Unlock()
	if want := 2; len(rows) != want {
		t.Errorf("%d messages in the queue, want the %d refused ones", len(rows), want)
	}
	for _, c := range cases {
		r, queued := rowFor(rows, "friend@"+c.domain)
		if c.deliver {
			if queued {
				t.Errorf("%s: delivered, but still in the queue: %+v", c.name, r)
			}
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			if !queued {
				t.Fatalf("not in the queue")
			}
			rc := r.Recipients[0]
			if rc.Status != "pending" || !strings.Contains(rc.LastError, c.errWant) {
				t.Errorf("recipient %+v, want pending with an error about %s", rc, c.errWant)
			}
			if msg := pf.findMessage(subjectOf(c.domain)); msg != "" {
				t.Errorf("Postfix received it anyway:\n%s", msg)
			}
		})
	}
	if t.Failed() {
		t.Logf("sealpost:\n%s\nPostfix maillog:\n%s", &out, pf.maillog())
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v\n%s", err, &out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still running 15s after SIGTERM\n%s", &out)
	}
}

// submitTLS submits a message over submission with STARTTLS and AUTH PLAIN.
func submitTLS(t *testing.T, addr, user, password, to, subject string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.test"); err != nil {
		t.Fatal(err)
	}
	// The server's certificate is self-signed (tls.mode = "self-signed").
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", user, password, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	writeMessage(t, c, user, to, subject)
}

// queueListRow is what `sealpost queue list --json` prints per message.
type queueListRow struct {
	ID         int64 `json:"id"`
	Attempts   int   `json:"attempts"`
	Recipients []struct {
		Address   string `json:"address"`
		Status    string `json:"status"`
		LastError string `json:"last_error"`
	} `json:"recipients"`
}

// waitQueue polls the queue listing until done accepts it, for at most
// limit, and returns it.
func waitQueue(t *testing.T, cfgPath string, limit time.Duration, done func([]queueListRow) bool) []queueListRow {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := sealpost(t, "", "queue", "list", "--json", "-config", cfgPath)
		if r.code != 0 {
			t.Fatalf("queue list: exit %d: %s", r.code, r.stderr)
		}
		var rows []queueListRow
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("queue list: %v: %s", err, r.stdout)
		}
		if done(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not settle within %v: %s", limit, r.stdout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func rowFor(rows []queueListRow, rcpt string) (queueListRow, bool) {
	for _, r := range rows {
		for _, rc := range r.Recipients {
			if rc.Address == rcpt {
				return r, true
			}
		}
	}
	return queueListRow{}, false
}

// testPKI is a certificate authority made for one test.
type testPKI struct {
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
	caPEM []byte
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Sealpost interop test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{ca: ca, key: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf issues a server certificate for names and returns it and its key
// as PEM.
func (p *testPKI) leaf(t *testing.T, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// leafCert parses the first certificate of a PEM chain.
func (p *testPKI) leafCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
