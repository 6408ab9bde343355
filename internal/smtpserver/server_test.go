package smtpserver

import (
	"strings"
	"testing"
	"time"
)

const msg = "From: sender@far.example\r\nTo: ann@example.org\r\nSubject: hello\r\n\r\nHi Ann.\r\n"

func TestMXDelivers(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[MX])
	ehlo := c.greet()
	for _, want := range []string{"PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "STARTTLS"} {
		if !strings.Contains(ehlo, want) {
			t.Errorf("EHLO lacks %s: %q", want, ehlo)
		}
	}
	if strings.Contains(ehlo, "AUTH") {
		t.Errorf("AUTH offered on the MX port: %q", ehlo)
	}
	c.expect("MAIL FROM:<sender@far.example>", 250)
	c.expect("RCPT TO:<ann@example.org>", 250)
	c.expect("DATA", 354)
	c.send(msg + ".\r\n")
	if code, text := c.read(); code != 250 {
		t.Fatalf("end of data: %s", text)
	}
	c.expect("QUIT", 221)
	got := e.inbox(t, "ann@example.org")
	if len(got) != 1 {
		t.Fatalf("INBOX holds %d messages", len(got))
	}
	for _, want := range []string{"Return-Path: <sender@far.example>\r\n", "Delivered-To: ann@example.org\r\n",
		"Received: from client.example", "by mail.example.org", "with ESMTP", msg} {
		if !strings.Contains(got[0], want) {
			t.Errorf("stored message lacks %q:\n%s", want, got[0])
		}
	}
}

func TestMXPipeliningAndChunking(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[MX])
	c.greet()
	// Everything in one write; replies come in order.
	c.send("MAIL FROM:<sender@far.example>\r\nRCPT TO:<ann@example.org>\r\nRCPT TO:<bob@example.org>\r\nBDAT 20\r\n" +
		msg[:20] + "BDAT " + itoa(len(msg)-20) + " LAST\r\n" + msg[20:])
	for i, want := range []int{250, 250, 250, 250, 250} {
		if code, text := c.read(); code != want {
			t.Fatalf("reply %d: %s, want %d", i, text, want)
		}
	}
	for _, who := range []string{"ann@example.org", "bob@example.org"} {
		if got := e.inbox(t, who); len(got) != 1 || !strings.HasSuffix(got[0], msg) {
			t.Errorf("%s: %q", who, got)
		}
	}
}

// TestNoOpenRelay tries the classic relay tricks on the MX listener: none
// may be accepted, and nothing may be queued.
func TestNoOpenRelay(t *testing.T) {
	e := newEnv(t, Limits{MaxErrors: 100}, 0)
	rcpts := []string{
		"<victim@outside.example>",
		"<victim%outside.example@example.net>",
		"<@example.net:victim@outside.example>",
		`<"victim@outside.example"@example.net>`,
		"<victim@outside.example@example.net>",
		"<victim@outside.example,victim2@outside.example>",
		"<victim!outside.example@example.net>",
		"<outside.example!victim@example.net>",
		"<victim>",
		"<victim@[192.0.2.1]>",
		"<victim@[IPv6:2001:db8::1]>",
		"<victim@example.net.outside.example>",
		"<victim@outside.example.>",
		"<victim@EXAMPLE.org@outside.example>",
		"victim@outside.example",
		"<victim@outside.example> NOTIFY=NEVER",
	}
	c := dial(t, e.addrs[MX])
	c.greet()
	c.expect("MAIL FROM:<sender@far.example>", 250)
	// example.net has no catch-all: tricks with local parts find no user.
	for _, r := range rcpts {
		code, text := c.cmd("RCPT TO:" + r)
		if code == 250 || code < 400 {
			t.Errorf("RCPT TO:%s accepted: %s", r, text)
		}
	}
	// Even with STARTTLS the MX port relays nothing, and AUTH is not there.
	c.expect("RSET", 250)
	c.startTLS()
	c.expect("EHLO client.example", 250)
	if code, _ := c.login("ann@example.org", annPassword); code == 235 {
		t.Error("AUTH succeeded on the MX port")
	}
	c.expect("MAIL FROM:<ann@example.org>", 250)
	if code, text := c.cmd("RCPT TO:<victim@outside.example>"); code == 250 {
		t.Errorf("relay after STARTTLS: %s", text)
	}
	if q := e.queue(t); len(q) != 0 {
		t.Errorf("queued for relay: %+v", q)
	}
}

func TestUnknownRecipientsAndCatchAll(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[MX])
	c.greet()
	c.expect("MAIL FROM:<sender@far.example>", 250)
	c.expect("RCPT TO:<sales@example.org>", 250)    // alias to ann
	c.expect("RCPT TO:<anything@example.org>", 250) // catch-all to bob
	c.expect("RCPT TO:<Postmaster>", 250)           // RFC 5321 §4.5.1, via the catch-all
	c.expect("DATA", 354)
	c.send(msg + ".\r\n")
	if code, text := c.read(); code != 250 {
		t.Fatal(text)
	}
	if n := len(e.inbox(t, "ann@example.org")); n != 1 {
		t.Errorf("ann: %d messages", n)
	}
	if n := len(e.inbox(t, "bob@example.org")); n != 1 {
		t.Errorf("bob: %d messages, want 1 (once for two addresses)", n)
	}
}

// TestSmuggling sends messages whose end-of-data markers are not
// <CRLF>.<CRLF>: none may end the message early, and a second message
// hidden inside must never be delivered.
func TestSmuggling(t *testing.T) {
	hidden := "MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"
	tests := []struct {
		name   string
		marker string
		code   int
	}{
		{"LF.LF", "\n.\n", 550},
		{"LF.CRLF", "\n.\r\n", 550},
		{"CRLF.LF", "\r\n.\n", 550},
		{"CR.CR", "\r.\r", 550},
		{"CR.CRLF", "\r.\r\n", 550},
		{"dot CR CR LF", "\r\n.\r\r\n", 550},
		{"bare LF normalised", "\nplain line\n", 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Limits{}, 0)
			c := dial(t, e.addrs[MX])
			c.greet()
			c.expect("MAIL FROM:<sender@far.example>", 250)
			c.expect("RCPT TO:<ann@example.org>", 250)
			c.expect("DATA", 354)
			c.send("Subject: first\r\n\r\nbody" + tt.marker + hidden + ".\r\n")
			if code, text := c.read(); code != tt.code {
				t.Fatalf("end of data: %s, want %d", text, tt.code)
			}
			c.expect("NOOP", 250) // still in step
			if got := e.inbox(t, "bob@example.org"); len(got) != 0 {
				t.Errorf("smuggled message delivered: %q", got)
			}
			got := e.inbox(t, "ann@example.org")
			if tt.code == 250 && (len(got) != 1 || !strings.Contains(got[0], "smuggled")) {
				t.Errorf("the whole message should be one message: %q", got)
			}
			if tt.code != 250 && len(got) != 0 {
				t.Errorf("refused message stored: %q", got)
			}
		})
	}
}

// TestSTARTTLSInjection pipelines a command after STARTTLS in the same
// packet; it must be discarded, not run inside the TLS session.
func TestSTARTTLSInjection(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[MX])
	c.greet()
	c.send("STARTTLS\r\nMAIL FROM:<injected@far.example>\r\n")
	if code, text := c.read(); code != 220 {
		t.Fatal(text)
	}
	tc := tlsClient(t, c)
	// Had the MAIL been kept, it would answer first (503: no EHLO yet).
	if code, text := tc.cmd("EHLO client.example"); code != 250 {
		t.Fatalf("first reply inside TLS: %s", text)
	}
	// And no transaction is open.
	tc.expect("MAIL FROM:<sender@far.example>", 250)
}

func TestSubmission(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[Submission])
	ehlo := c.greet()
	if strings.Contains(ehlo, "AUTH") {
		t.Errorf("AUTH offered before TLS: %q", ehlo)
	}
	if code, text := c.login("ann@example.org", annPassword); code != 530 {
		t.Errorf("AUTH before TLS: %s, want 530", text)
	}
	if code, text := c.cmd("MAIL FROM:<ann@example.org>"); code != 530 {
		t.Errorf("MAIL before AUTH: %s, want 530", text)
	}
	c.startTLS()
	if ehlo := c.expect("EHLO client.example", 250); !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Errorf("no AUTH after TLS: %q", ehlo)
	}
	if code, text := c.login("ann@example.org", "wrong password"); code != 535 {
		t.Errorf("wrong password: %s", text)
	}
	if code, text := c.login("ann@example.org", annPassword); code != 235 {
		t.Fatalf("login: %s", text)
	}
	if code, text := c.cmd("MAIL FROM:<bob@example.org>"); code != 550 {
		t.Errorf("MAIL as another user: %s, want 550", text)
	}
	c.expect("MAIL FROM:<sales@example.org>", 250) // an alias of ann
	c.expect("RSET", 250)
	// Local recipients only: delivered at once.
	c.expect("MAIL FROM:<ann@example.org>", 250)
	c.expect("RCPT TO:<bob@example.org>", 250)
	c.expect("DATA", 354)
	c.send("From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello.\r\n.\r\n")
	if code, text := c.read(); code != 250 {
		t.Fatalf("submission: %s", text)
	}
	got := e.inbox(t, "bob@example.org")
	if len(got) != 1 || !strings.Contains(got[0], "Message-ID: <") || !strings.Contains(got[0], "Date: ") ||
		!strings.Contains(got[0], "with ESMTPSA") {
		t.Errorf("bob's copy: %q", got)
	}
	// With an outside recipient, the whole message is queued in one write,
	// local recipients included.
	c.expect("MAIL FROM:<ann@example.org>", 250)
	c.expect("RCPT TO:<bob@example.org>", 250)
	c.expect("RCPT TO:<friend@outside.example>", 250)
	c.expect("DATA", 354)
	c.send("From: Ann <ann@example.org>\r\nSubject: to both\r\n\r\nHello.\r\n.\r\n")
	if code, text := c.read(); code != 250 {
		t.Fatalf("submission: %s", text)
	}
	q := e.queue(t)
	if len(q) != 1 || len(q[0].Recipients) != 2 || q[0].Recipients[1].Address != "friend@outside.example" ||
		q[0].From != "ann@example.org" || q[0].Submitter == 0 {
		t.Errorf("queue: %+v", q)
	}
	if n := len(e.inbox(t, "bob@example.org")); n != 1 {
		t.Errorf("bob has %d messages; the queued one is the queue's to deliver", n)
	}

	// A From field that is not ann's is refused.
	c.expect("MAIL FROM:<ann@example.org>", 250)
	c.expect("RCPT TO:<bob@example.org>", 250)
	c.expect("DATA", 354)
	c.send("From: boss@example.org\r\nSubject: pay this\r\n\r\nx\r\n.\r\n")
	if code, text := c.read(); code != 550 {
		t.Errorf("forged From: %s, want 550", text)
	}
	for name, header := range map[string]string{
		"second From":   "From: ann@example.org\r\nFrom: boss@example.org\r\n",
		"forged Sender": "From: ann@example.org\r\nSender: boss@example.org\r\n",
		"no From":       "Subject: x\r\n",
	} {
		c.expect("MAIL FROM:<ann@example.org>", 250)
		c.expect("RCPT TO:<bob@example.org>", 250)
		c.expect("DATA", 354)
		c.send(header + "Subject: x\r\n\r\nx\r\n.\r\n")
		if code, text := c.read(); code != 550 {
			t.Errorf("%s: %s, want 550", name, text)
		}
	}
	// Logins are in the log.
	logs, err := e.st.QueryLog(t.Context(), storeLogQuery())
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, l := range logs {
		outcomes = append(outcomes, l.Outcome+"/"+l.Protocol)
	}
	if strings.Join(outcomes, ",") != "ok/smtp,fail/smtp" {
		t.Errorf("login log (newest first) = %v", outcomes)
	}
}

func TestSubmissionsImplicitTLS(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dialTLS(t, e.addrs[Submissions])
	ehlo := c.greet()
	if !strings.Contains(ehlo, "AUTH PLAIN LOGIN") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO on 465: %q", ehlo)
	}
	// LOGIN, step by step.
	c.expect("AUTH LOGIN", 334)
	c.expect(b64("ann@example.org"), 334)
	c.expect(b64(annPassword), 235)
}

func TestLimits(t *testing.T) {
	e := newEnv(t, Limits{MaxMessageSize: 1000, MaxRecipients: 2, MaxLineLength: 1000, MaxErrors: 5, MaxAuthFailures: 2}, 2)
	c := dial(t, e.addrs[MX])
	c.greet()
	if code, text := c.cmd("NOOP " + strings.Repeat("x", 2000)); code != 500 {
		t.Errorf("long line: %s", text)
	}
	c.expect("NOOP", 250) // in step after the long line
	if code, text := c.cmd("MAIL FROM:<sender@far.example> SIZE=5000"); code != 552 {
		t.Errorf("declared size over the limit: %s", text)
	}
	c.expect("MAIL FROM:<sender@far.example>", 250)
	c.expect("RCPT TO:<ann@example.org>", 250)
	c.expect("RCPT TO:<bob@example.org>", 250)
	if code, text := c.cmd("RCPT TO:<sales@example.org>"); code != 452 {
		t.Errorf("third recipient: %s, want 452", text)
	}
	c.expect("DATA", 354)
	c.send("Subject: big\r\n\r\n" + strings.Repeat("0123456789\r\n", 200) + ".\r\n")
	if code, text := c.read(); code != 552 {
		t.Errorf("message over the limit: %s, want 552", text)
	}
	c.expect("NOOP", 250)

	// The connection limit is per source, across listeners.
	c2 := dial(t, e.addrs[Submission])
	c2.read()
	c3 := dial(t, e.addrs[MX])
	if code, text := c3.read(); code != 421 {
		t.Errorf("third connection: %s, want 421", text)
	}

	// Too many errors end the session.
	// In one write: the server may close before a sixth separate write.
	c.send(strings.Repeat("BOGUS\r\n", 6))
	var last int
	for range 6 {
		code, _ := c.read()
		last = code
		if code == 421 {
			break
		}
	}
	if last != 421 {
		t.Errorf("no 421 after too many errors (last %d)", last)
	}
}

func TestAuthFailuresCloseTheSession(t *testing.T) {
	e := newEnv(t, Limits{MaxAuthFailures: 2}, 0)
	c := dialTLS(t, e.addrs[Submissions])
	c.greet()
	c.expect("AUTH PLAIN "+plainResponse("ann@example.org", "nope"), 535)
	c.send("AUTH PLAIN " + plainResponse("ann@example.org", "nope again") + "\r\n")
	if code, _ := c.read(); code != 535 {
		t.Fatal("second failure not 535")
	}
	if code, text := c.read(); code != 421 {
		t.Errorf("after the limit: %s, want 421", text)
	}
}

func TestShutdownClosesIdleSessions(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[MX])
	c.greet()
	done := make(chan error, 1)
	go func() { done <- e.srvs[MX].Shutdown(t.Context()) }()
	if code, text := c.read(); code != 421 {
		t.Errorf("idle session at shutdown: %s, want 421", text)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown did not finish")
	}
}

func itoa(n int) string { return fmtInt(n) }

// TestSlowClients holds a connection idle, and trickles a message slower
// than the transfer limit allows: both are cut off.
func TestSlowClients(t *testing.T) {
	e := newEnv(t, Limits{IdleTimeout: 300 * time.Millisecond, DataTimeout: 600 * time.Millisecond}, 0)
	c := dial(t, e.addrs[MX])
	c.greet()
	if code, text := c.read(); code != 421 {
		t.Errorf("idle client: %s, want 421", text)
	}

	c = dial(t, e.addrs[MX])
	c.greet()
	c.expect("MAIL FROM:<sender@far.example>", 250)
	c.expect("RCPT TO:<ann@example.org>", 250)
	c.expect("DATA", 354)
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		if _, err := c.conn.Write([]byte("x")); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d := time.Since(start); d >= 3*time.Second {
		t.Errorf("a trickling client was not cut off")
	}
	if got := e.inbox(t, "ann@example.org"); len(got) != 0 {
		t.Errorf("a cut-off message was stored: %q", got)
	}
}

// TestMalformedBDATClosesTheSession: the length of a chunk announced by a
// line that cannot be parsed is unknown, so the session ends rather than
// read the chunk as commands.
func TestMalformedBDATClosesTheSession(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[MX])
	c.greet()
	c.expect("MAIL FROM:<sender@far.example>", 250)
	c.expect("RCPT TO:<ann@example.org>", 250)
	c.send("BDAT 27 LAST junk\r\nRCPT TO:<bob@example.org>\r\n")
	if code, text := c.read(); code != 421 {
		t.Errorf("malformed BDAT: %s, want 421", text)
	}
}

func TestSessionLimitPerListener(t *testing.T) {
	e := newEnv(t, Limits{MaxSessions: 1}, 0)
	c := dial(t, e.addrs[MX])
	c.greet()
	c2 := dial(t, e.addrs[MX])
	if code, text := c2.read(); code != 421 {
		t.Errorf("second session: %s, want 421", text)
	}
	c.expect("NOOP", 250)
}
