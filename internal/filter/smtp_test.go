package filter

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/connlimit"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/mailauth"
	"sealpost.dev/sealpost/internal/smtpserver"
	"sealpost.dev/sealpost/internal/store/storetest"
	"sealpost.dev/sealpost/internal/tlsconf"
)

// The DNS world of the SMTP test: bank.example asks receivers to reject
// mail that fails DMARC; nothing authorises the loopback client.
const smtpZone = `
bank.example. TXT "v=spf1 -all"
_dmarc.bank.example. TXT "v=DMARC1; p=reject"
evil.example. TXT "v=spf1 -all"
`

// TestSMTP runs whole SMTP sessions on loopback against the MX listener
// with mail authentication (not enforcing DMARC) and the filter in the
// pipeline: a message the fake check scores high gets 550 5.7.1 with the
// reason, a lower one lands in Junk, and a message failing bank.example's
// p=reject is filed into Junk with the banner, its authentication results
// having reached the phishing check.
func TestSMTP(t *testing.T) {
	banner, err := ParseBanner(DefaultBanner)
	if err != nil {
		t.Fatal(err)
	}
	f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Banner: banner, Checks: append(Builtin(), scoreFor{})}
	p, st := newPipeline(t, f)
	f.Checks = append(f.Checks, NewPhish(st))
	srv := dnstest.Start(t, smtpZone)
	resolver, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	auth := &mailauth.Checker{Resolver: resolver, AuthservID: "mail.example.org", Timeout: 2 * time.Second, Sample: func() int { return 0 }}
	p.Hooks = []delivery.Hook{auth, f}
	addr := startMX(t, p)

	reply := sendMail(t, addr, "x@evil.example", "ann@example.org", smtpMsg("ann@ok.example", "score 20"))
	if !strings.HasPrefix(reply, "550 5.7.1 ") || !strings.Contains(reply, "the subject asks for it") {
		t.Errorf("high score: %q, want 550 5.7.1 with the reason", reply)
	}
	if reply := sendMail(t, addr, "x@evil.example", "ann@example.org", smtpMsg("ann@ok.example", "score 7")); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("lower score: %q", reply)
	}
	junk := storetest.MailboxBodies(t, st, "ann@example.org", "Junk")
	if len(junk) != 1 || !strings.Contains(junk[0], "X-Sealpost-Score: 7") || !strings.Contains(junk[0], "(junk)") {
		t.Errorf("Junk: %q", junk)
	}
	if reply := sendMail(t, addr, "x@evil.example", "ann@example.org", smtpMsg("service@bank.example", "hello")); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("DMARC failure: %q", reply)
	}
	junk = storetest.MailboxBodies(t, st, "ann@example.org", "Junk")
	if len(junk) != 2 || !strings.Contains(junk[1], "(junk)") || !strings.Contains(junk[1], "phish.dmarc_reject_fail=6") {
		t.Fatalf("Junk: %q", junk)
	}
	text := content.Parse([]byte(junk[1])).Text
	if !strings.Contains(text, "It claims to be from Bank <service@bank.example> but was sent from x@evil.example.") ||
		!strings.Contains(text, "bank.example, which asks that mail failing its checks be rejected") || !strings.Contains(text, "Please verify your account.") {
		t.Errorf("stored text: %q", text)
	}
}

func smtpMsg(from, subject string) string {
	return "From: Bank <" + from + ">\r\nTo: ann@example.org\r\nSubject: " + subject +
		"\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <" + subject[len(subject)-1:] + "@x>\r\n\r\nPlease verify your account.\r\n"
}

// startMX serves the MX listener of p on a loopback port.
func startMX(t *testing.T, p *delivery.Pipeline) string {
	t.Helper()
	prov, err := tlsconf.New(tlsconf.Options{Mode: tlsconf.ModeSelfSigned, Hostnames: []string{"mail.example.org"}, Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := smtpserver.New(smtpserver.Config{Mode: smtpserver.MX, Hostname: "mail.example.org", TLS: prov.Config(), SpoolDir: t.TempDir()},
		smtpserver.Deps{Store: p.Store, Accounts: p.Accounts, Pipeline: p, Conns: connlimit.New(0)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ln.Close()
		srv.Shutdown(t.Context())
	})
	return ln.Addr().String()
}

// sendMail runs one SMTP transaction and returns the reply to the end of
// DATA.
func sendMail(t *testing.T, addr, from, to, msg string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	read := func() string {
		t.Helper()
		var last string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading a reply: %v", err)
			}
			last = strings.TrimRight(line, "\r\n")
			if len(last) < 4 || last[3] != '-' {
				return last
			}
		}
	}
	step := func(cmd, want string) {
		t.Helper()
		if cmd != "" {
			fmt.Fprintf(conn, "%s\r\n", cmd)
		}
		if got := read(); !strings.HasPrefix(got, want) {
			t.Fatalf("%q: %q, want %s", cmd, got, want)
		}
	}
	step("", "220")
	step("EHLO evil.example", "250")
	step("MAIL FROM:<"+from+">", "250")
	step("RCPT TO:<"+to+">", "250")
	step("DATA", "354")
	fmt.Fprintf(conn, "%s.\r\n", msg)
	reply := read()
	fmt.Fprintf(conn, "QUIT\r\n")
	return reply
}
