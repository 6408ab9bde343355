package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/smtp"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// sendSubject sends one message with the subject over SMTP on loopback,
// without STARTTLS.
func sendSubject(t *testing.T, addr, to, subject string) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	step(c.Hello("client.test"))
	step(c.Mail("alice@sender.test"))
	step(c.Rcpt(to))
	w, err := c.Data()
	step(err)
	fmt.Fprintf(w, "From: someone@sender.test\r\nTo: %s\r\nSubject: %s\r\n\r\nhello\r\n", to, subject)
	step(w.Close())
	step(c.Quit())
}

// queuedTo returns the queue items with a recipient rcpt.
func queuedTo(t *testing.T, srv *Server, rcpt string) []store.QueueItem {
	t.Helper()
	items, err := srv.Store().ListQueue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []store.QueueItem
	for _, it := range items {
		for _, r := range it.Recipients {
			if r.Address == rcpt {
				out = append(out, it)
			}
		}
	}
	return out
}

func readBody(t *testing.T, srv *Server, it store.QueueItem) string {
	t.Helper()
	r, err := srv.Store().OpenBody(t.Context(), it.BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestForwardingAcceptance is the acceptance sequence of forwarding: a
// rule added without step-up is refused; with step-up an outside target
// starts pending, and mail to the account is not forwarded; once the
// target confirms through the HTTPS page (a GET alone confirms nothing),
// the next message is queued to the target, SRS-rewritten and ARC-sealed,
// and not kept; the refusal, the addition and the confirmation each leave
// an alert in INBOX.
func TestForwardingAcceptance(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.SMTP = "127.0.0.1:0"
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	cfg.Queue.Deliver = false // mail for outside stays queued
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	accounts := srv.Accounts()
	const pw = "a long enough password"
	if _, err := accounts.AddAccount(ctx, "ann@example.org", pw, 0); err != nil {
		t.Fatal(err)
	}
	smtpAddr := srv.Addrs()["smtp"].String()

	// Through the account API, signed in with the password: without a
	// step-up the rule is refused.
	api := newAPIClient(t, srv)
	api.login("ann@example.org", pw)
	const add = `{"target": "far@outside.test", "keep_copy": false}`
	if status, v := api.do("POST", "forwarding", add); status != http.StatusForbidden || v["step_up_required"] != true {
		t.Fatalf("without step-up: %d %v", status, v)
	}
	if rules, _ := accounts.ListForwarding(ctx, "ann@example.org"); len(rules) != 0 {
		t.Fatalf("rules after the refusal: %+v", rules)
	}

	// With step-up: pending, a confirmation queued to the target.
	if status, v := api.do("POST", "stepup", `{"password": "`+pw+`"}`); status != http.StatusOK {
		t.Fatalf("step-up: %d %v", status, v)
	}
	if status, v := api.do("POST", "forwarding", add); status != http.StatusCreated || v["state"] != string(store.ForwardPending) {
		t.Fatalf("with step-up: %d %v", status, v)
	}
	if status, v := api.do("GET", "forwarding", ""); status != http.StatusOK || fmt.Sprint(v["forwarding"]) == "[]" {
		t.Fatalf("GET forwarding: %d %v", status, v)
	}
	confirmation := waitQueued(t, srv, "far@outside.test")
	link := regexp.MustCompile(`https://\S+`).FindString(readBody(t, srv, confirmation))
	u, err := url.Parse(link)
	if err != nil || u.Host != "mail.example.org" || u.Path != account.ForwardConfirmPath {
		t.Fatalf("confirmation link %q: %v", link, err)
	}

	sendSubject(t, smtpAddr, "ann@example.org", "while pending")
	if n := len(queuedTo(t, srv, "far@outside.test")); n != 1 {
		t.Fatalf("%d items to the target while pending, want only the confirmation", n)
	}

	// The target opens the link: the page, over the HTTPS listener.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: cfg.Hostname}}}
	base := "https://" + srv.Addrs()["https"].String() + account.ForwardConfirmPath
	resp, err := client.Get(base + "?" + u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Accept forwarding") {
		t.Fatalf("GET: %d %s", resp.StatusCode, page)
	}
	if rules, _ := accounts.ListForwarding(ctx, "ann@example.org"); rules[0].State != store.ForwardPending {
		t.Fatalf("a GET confirmed the rule")
	}
	resp, err = client.PostForm(base, url.Values{"token": {u.Query().Get("token")}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Forwarding confirmed") {
		t.Fatalf("POST: %d %s", resp.StatusCode, page)
	}

	sendSubject(t, smtpAddr, "ann@example.org", "once active")
	items := queuedTo(t, srv, "far@outside.test")
	if len(items) != 2 {
		t.Fatalf("%d items to the target once active, want 2", len(items))
	}
	fwd := items[len(items)-1]
	body := readBody(t, srv, fwd)
	if !strings.HasPrefix(fwd.From, "SRS0=") || !strings.HasSuffix(fwd.From, "@example.org") {
		t.Errorf("forwarded with reverse path %q", fwd.From)
	}
	if !strings.Contains(body, "Subject: once active") || !strings.Contains(body, "ARC-Seal:") {
		t.Errorf("forwarded message:\n%s", body)
	}

	// The audit trail, the confirmation naming where it came from.
	log, err := accounts.ForwardingLog(ctx, "ann@example.org", 10)
	if err != nil || len(log) != 3 {
		t.Fatalf("forwarding log: %+v, %v", log, err)
	}
	for i, want := range []string{"confirmed", "added", "refused"} {
		if log[i].Outcome != want {
			t.Errorf("log entry %d: %+v, want %s", i, log[i], want)
		}
	}
	if log[0].RemoteIP.String() != "127.0.0.1" || log[0].Client == "" {
		t.Errorf("confirmation logged from %v %q", log[0].RemoteIP, log[0].Client)
	}

	// INBOX: the message sent while pending and three alerts, not the one
	// forwarded.
	c := dialIMAP(t, srv)
	c.login("ann@example.org", pw, "")
	c.send("b SELECT INBOX")
	c.upTo("b OK")
	c.send(`s SEARCH HEADER X-Sealpost-Alert %q`, account.AlertForwardingChanged)
	c.upTo("* SEARCH 1 2 4\r\n")
	c.send(`p SEARCH HEADER Subject "while pending"`)
	c.upTo("* SEARCH 3\r\n")
	c.send(`q SEARCH HEADER Subject "once active"`)
	c.upTo("* SEARCH\r\n")
}

// TestForwardingReminderJob: the running server announces an active
// outside forward to its owner a day after it became active, once, with
// an alert in INBOX; a hosted target gets none.
func TestForwardingReminderJob(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Options{Config: cfg, Resolver: dnsx.NewStub(dnsx.NewZone(), nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv.forwardEvery = 20 * time.Millisecond
	const pw = "a long enough password"
	var ann store.Account
	for _, a := range []string{"ann@example.org", "bob@example.org"} {
		acc, err := srv.Accounts().AddAccount(ctx, a, pw, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ann.ID == 0 {
			ann = acc
		}
	}
	confirmed := time.Now().Add(-25 * time.Hour)
	for _, target := range []string{"far@outside.test", "bob@example.org"} {
		if _, err := srv.Store().AddForwardRule(ctx, store.ForwardRule{AccountID: ann.ID, Target: target, KeepCopy: true,
			State: store.ForwardActive, Created: confirmed, Confirmed: confirmed}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	deadline := time.Now().Add(10 * time.Second)
	for {
		rules, err := srv.Store().ListForwardRules(t.Context(), ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rules[0].Reminders == 1 {
			if rules[1].Reminders != 0 {
				t.Errorf("the hosted target was reminded: %+v", rules[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reminder: %+v", rules)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // more rounds, which must send nothing more
	c := dialIMAP(t, srv)
	c.login("ann@example.org", pw, "")
	c.send("b SELECT INBOX")
	c.upTo("b OK")
	c.send(`s SEARCH HEADER X-Sealpost-Alert %q`, account.AlertForwardingActive)
	c.upTo("* SEARCH 1\r\n")
}
