package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
)

// sinkMX is an SMTP server on loopback that accepts every message and
// remembers its recipients.
type sinkMX struct {
	ln   net.Listener
	mu   sync.Mutex
	got  map[string]int // recipient: messages received
	msgs int
}

func startSinkMX(t *testing.T) *sinkMX {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sinkMX{ln: ln, got: map[string]int{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

func (s *sinkMX) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(c)
	var rcpts []string
	tp.PrintfLine("220 sink.far.example ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			tp.PrintfLine("250-sink.far.example\r\n250-8BITMIME\r\n250 SMTPUTF8")
		case "MAIL":
			rcpts = nil
			tp.PrintfLine("250 2.1.0 ok")
		case "RCPT":
			addr := line[strings.IndexByte(line, '<')+1 : strings.LastIndexByte(line, '>')]
			rcpts = append(rcpts, strings.ToLower(addr))
			tp.PrintfLine("250 2.1.5 ok")
		case "DATA":
			tp.PrintfLine("354 go on")
			if _, err := tp.ReadDotBytes(); err != nil {
				return
			}
			s.mu.Lock()
			for _, r := range rcpts {
				s.got[r]++
			}
			s.msgs++
			s.mu.Unlock()
			tp.PrintfLine("250 2.0.0 taken")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("250 ok")
		}
	}
}

// received returns the recipients received so far, and how many messages.
func (s *sinkMX) received() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := make(map[string]int, len(s.got))
	for k, v := range s.got {
		got[k] = v
	}
	return got, s.msgs
}

// recordedAlerts is an account.Alerter that keeps what it is sent.
type recordedAlerts struct {
	mu   sync.Mutex
	sent []account.Alert
}

func (r *recordedAlerts) Send(_ context.Context, a account.Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, a)
}

func (r *recordedAlerts) list() []account.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]account.Alert(nil), r.sent...)
}

// submitter is a logged-in submission session (net/smtp, STARTTLS).
func submitter(t *testing.T, addr, user, pass string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("laptop.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.org"}); err != nil {
		t.Fatal(err)
	}
	host, _, _ := net.SplitHostPort(addr)
	if err := c.Auth(smtp.PlainAuth("", user, pass, host)); err != nil {
		t.Fatal(err)
	}
	return c
}

func submit(c *smtp.Client, from string, to ...string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: offer\r\n\r\nBuy now.\r\n", from, strings.Join(to, ", "))
	return w.Close()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accountQueue counts the account's queue items by state.
func accountQueue(t *testing.T, st store.Store, accountID int64) map[store.QueueState][]store.QueueItem {
	t.Helper()
	items, err := st.ListQueue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[store.QueueState][]store.QueueItem{}
	for _, it := range items {
		if it.Submitter == accountID {
			out[it.State] = append(out[it.State], it)
		}
	}
	return out
}

// TestOutboundBurstHeld is the acceptance test of outbound abuse control:
// a stolen account submits 500 messages over SMTP submission, each to a
// random outside recipient, with the default [outbound] limits. Past the
// limit (20 messages a minute) the rest are accepted but held, the owner
// and the postmaster are alerted, and nothing held reaches the outside MX
// (a sink on loopback, found through MX records served by dnstest) until
// the account is released; then everything is delivered. A copy for a
// local recipient is delivered at once even while the account is held.
func TestOutboundBurstHeld(t *testing.T) {
	const total = 500
	sink := startSinkMX(t)
	dns := dnstest.Start(t, `
far.example.      MX 10 mx.far.example.
mx.far.example.   A  127.0.0.1
`)
	resolver, err := dnsx.NewClient(dns.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Listeners.Submission = "127.0.0.1:0"
	cfg.Testing = config.Testing{Enabled: true, SMTPPort: sink.ln.Addr().(*net.TCPAddr).Port}
	cfg.Passwords.Argon2Memory, cfg.Passwords.Argon2Time = config.MiB, 1
	limit := cfg.Outbound.MessagesPerMinute // the default trips first
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := New(ctx, Options{Config: cfg, Resolver: resolver,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	alerts := &recordedAlerts{}
	srv.Accounts().Alerts = alerts
	accts := srv.Accounts()
	admin, err := accts.AddAccount(ctx, "admin@example.org", "the admin's password", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accts.AddAlias(ctx, "postmaster@example.org", []string{"admin@example.org"}); err != nil {
		t.Fatal(err)
	}
	ann, err := accts.AddAccount(ctx, "ann@example.org", "ann's stolen password", 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	c := submitter(t, srv.Addrs()["submission"].String(), "ann@example.org", "ann's stolen password")
	rcpts := make([]string, total)
	start := time.Now()
	for i := range rcpts {
		rcpts[i] = fmt.Sprintf("victim%d-%x@far.example", i, rand.Uint64())
		to := []string{rcpts[i]}
		if i == total-1 {
			to = append(to, "admin@example.org") // one local copy, held or not
		}
		if err := submit(c, "ann@example.org", to...); err != nil {
			t.Fatalf("message %d refused: %v (held mail must still be accepted)", i, err)
		}
	}
	c.Quit()
	t.Logf("%d submissions in %v", total, time.Since(start).Round(time.Millisecond))

	// The local copy arrives although the account is held.
	waitFor(t, "the local copy", 10*time.Second, func() bool {
		mb, err := srv.Store().GetMailbox(ctx, admin.ID, "INBOX")
		return err == nil && mb.Messages >= 1
	})
	// Everything ready for the account drains; what remains is held.
	waitFor(t, "the queue to settle", 30*time.Second, func() bool {
		q := accountQueue(t, srv.Store(), ann.ID)
		return len(q[store.QueueReady]) == 0 && len(q[store.QueueDelivery]) == 0
	})
	q := accountQueue(t, srv.Store(), ann.ID)
	got, _ := sink.received()
	if len(got)+len(q[store.QueueHeld]) != total {
		t.Fatalf("%d delivered and %d held, want %d in all\n%s", len(got), len(q[store.QueueHeld]), total, logs.String())
	}
	if len(got) > limit {
		t.Errorf("%d messages left before release, want at most the %d allowed", len(got), limit)
	}
	for _, r := range rcpts[limit:] {
		if got[r] != 0 {
			t.Errorf("%s, past the limit, was delivered before release", r)
		}
	}
	for _, it := range q[store.QueueHeld] {
		if len(it.Recipients) != 1 || !strings.HasSuffix(it.Recipients[0].Address, "@far.example") || it.Attempts != 0 {
			t.Errorf("held item %+v: want one outside recipient, never attempted", it)
		}
	}

	holds, err := srv.Store().ListOutboundHolds(ctx)
	if err != nil || len(holds) != 1 || holds[0].AccountID != ann.ID || !strings.Contains(holds[0].Reason, "messages per minute") {
		t.Fatalf("holds %+v %v", holds, err)
	}
	sent := alerts.list()
	if len(sent) != 2 || sent[0].AccountID != ann.ID || sent[1].AccountID != admin.ID ||
		sent[0].Kind != account.AlertOutboundHeld || sent[1].Kind != account.AlertOutboundHeld {
		t.Errorf("alerts %+v, want one outbound-held to ann and one to the postmaster", sent)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"outgoing mail of an account held\" account=ann@example.org") {
		t.Errorf("no warning logged for the administrator:\n%s", logs.String())
	}

	// Nothing held leaves while the queue runs.
	srv.pokeQueue()
	time.Sleep(time.Second)
	if after, _ := sink.received(); len(after) != len(got) {
		t.Fatalf("%d delivered while held, was %d", len(after), len(got))
	}

	n, err := instance.SendLimiter(cfg, srv.Store(), nil, nil).Release(ctx, ann)
	if err != nil || n != len(q[store.QueueHeld]) {
		t.Fatalf("release: %d items, %v; want %d", n, err, len(q[store.QueueHeld]))
	}
	srv.pokeQueue()
	waitFor(t, "the released mail to be delivered", 60*time.Second, func() bool {
		got, _ := sink.received()
		return len(got) == total
	})
	got, msgs := sink.received()
	for _, r := range rcpts {
		if got[r] != 1 {
			t.Errorf("%s received %d times after release, want once", r, got[r])
		}
	}
	if msgs != total {
		t.Errorf("sink received %d messages, want %d", msgs, total)
	}
	waitFor(t, "the queue to empty", 10*time.Second, func() bool {
		return len(accountQueue(t, srv.Store(), ann.ID)) == 0
	})
}
