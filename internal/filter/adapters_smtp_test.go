package filter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/mailauth"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// phishingMsg imitates our domain in a link, asks for the password with
// urgency, and carries the name of one of our users from outside.
const phishingMsg = "From: Ann Smith <ann.smith.office@mailbox.test>\r\nTo: bob@example.org\r\n" +
	"Subject: Your mailbox has been suspended\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: <p1@mailbox.test>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	"<p>Dear user, we detected unusual activity on your mailbox.</p>\r\n" +
	"<p>To restore access, <a href=\"https://examp1e.org/webmail/login\">click here</a> and verify your password within 24 hours.</p>\r\n"

// allLocalChecks is the filter with every check that needs no network:
// the built-in ones, attachments, phishing, and reputation (over st).
func allLocalChecks(f *Filter, p *Phish, rep *reputation.Reputation) {
	f.Checks = append(Builtin(), Attachments{}, p)
	f.AccountChecks = []AccountCheck{p, Reputation{Assessor: rep}}
}

// TestAdaptersSMTP runs SMTP sessions on loopback through mail
// authentication and the filter with all its local checks over a real
// store: a phishing message lands in Junk with the banner and the
// findings in X-Sealpost-Reasons; an ordinary ham message of the
// SpamAssassin corpus is delivered to the inbox without a warning.
func TestAdaptersSMTP(t *testing.T) {
	banner, err := ParseBanner(DefaultBanner)
	if err != nil {
		t.Fatal(err)
	}
	f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Banner: banner}
	p, st := newPipeline(t, f, "ann.smith@example.org")
	allLocalChecks(f, NewPhish(st), reputation.New(st, reputation.Policy{}, nil))
	srv := dnstest.Start(t, smtpZone)
	resolver, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p.Hooks = []delivery.Hook{&mailauth.Checker{Resolver: resolver, AuthservID: "mail.example.org", Timeout: 2 * time.Second}, f}
	addr := startMX(t, p)

	if reply := sendMail(t, addr, "x@evil.example", "bob@example.org", phishingMsg); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("phishing: %q", reply)
	}
	junk := storetest.MailboxBodies(t, st, "bob@example.org", "Junk")
	if len(junk) != 1 {
		t.Fatalf("Junk holds %d messages, want the phishing one", len(junk))
	}
	stored := content.Parse([]byte(junk[0]))
	reasons := stored.Get("X-Sealpost-Reasons")
	t.Logf("phishing: X-Sealpost-Score: %s\nX-Sealpost-Reasons: %s", stored.Get("X-Sealpost-Score"), reasons)
	for _, want := range []string{"phish.link_lookalike_domain=", "phish.credential_harvest=", "phish.display_name_impersonation="} {
		if !strings.Contains(reasons, want) {
			t.Errorf("X-Sealpost-Reasons lacks %s: %s", want, reasons)
		}
	}
	if score := stored.Get("X-Sealpost-Score"); !strings.HasSuffix(score, "(junk)") {
		t.Errorf("X-Sealpost-Score: %s", score)
	}
	if !strings.Contains(stored.Text, "Caution: Sealpost finds this message suspicious.") ||
		!strings.Contains(stored.Text, "claims to be Ann Smith <ann.smith@example.org>") {
		t.Errorf("no banner naming the impersonation: %q", stored.Text)
	}

	ham := corpusMessage(t, "easy_ham/00002.9c4069e25e1ef370c078db7ee85ff9ac")
	if reply := sendMail(t, addr, "rssfeeds@jmason.example", "bob@example.org", ham); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("ham: %q", reply)
	}
	inbox := storetest.MailboxBodies(t, st, "bob@example.org", "INBOX")
	if len(inbox) != 1 {
		t.Fatalf("INBOX holds %d messages, want the ham", len(inbox))
	}
	got := content.Parse([]byte(inbox[0]))
	t.Logf("ham: X-Sealpost-Score: %s, reasons %s", got.Get("X-Sealpost-Score"), got.Get("X-Sealpost-Reasons"))
	if score := got.Get("X-Sealpost-Score"); !strings.HasSuffix(score, "(pass)") || strings.Contains(got.Text, "Caution: Sealpost") {
		t.Errorf("ham: X-Sealpost-Score %s, reasons %s", score, got.Get("X-Sealpost-Reasons"))
	}
}

// corpusMessage reads a message of the SpamAssassin corpus, in CRLF for
// SMTP with dots stuffed.
func corpusMessage(t *testing.T, name string) string {
	raw, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("corpus missing: %v", err)
	}
	s := strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n", "\r\n")
	s = strings.ReplaceAll(s, "\r\n.", "\r\n..")
	if strings.HasPrefix(s, "From ") { // an mbox separator line is no header field
		s = s[strings.Index(s, "\r\n")+2:]
	}
	return s
}
