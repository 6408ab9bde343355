package queue

import (
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/mtasts"
	"sealpost.dev/sealpost/internal/smtpclient"
	"sealpost.dev/sealpost/internal/smtpclient/smtptest"
	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

// tarpit accepts connections on loopback and never says a word.
func tarpit(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

const tarpitZone = `example.net. MX 10 mx1.example.net.
example.net. MX 20 mx2.example.net.
mx1.example.net. A 127.0.0.2
mx2.example.net. A 127.0.0.3
`

// TestSessionTimeoutBoundsATarpit: with the standard step timeouts
// (minutes each), a server that never answers holds a session only for
// SessionTimeout, and the next MX host is still tried.
func TestSessionTimeoutBoundsATarpit(t *testing.T) {
	up := smtptest.Start(t, smtptest.Config{})
	rt, _ := newTransport(t, tarpitZone, testNet{"127.0.0.2": tarpit(t), "127.0.0.3": up.Addr()})
	rt.Timeouts = smtpclient.DefaultTimeouts()
	rt.SessionTimeout = 200 * time.Millisecond
	start := time.Now()
	got := rt.Deliver(t.Context(), request("example.net", "a@example.net"))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("delivery took %v", d)
	}
	expect(t, got, "a@example.net delivered 2.0.0")
	if len(up.Messages()) != 1 {
		t.Errorf("second MX got %d messages", len(up.Messages()))
	}
}

// TestDomainTimeoutBoundsTarpits runs the queue with the remote transport
// against MX hosts that never answer: the attempt ends at DomainTimeout
// and the recipient stays queued.
func TestDomainTimeoutBoundsTarpits(t *testing.T) {
	rt, _ := newTransport(t, tarpitZone, testNet{"127.0.0.2": tarpit(t), "127.0.0.3": tarpit(t)})
	rt.Timeouts = smtpclient.DefaultTimeouts()
	f := newFixture(t)
	f.q.opts.Transport = rt
	f.q.opts.DomainTimeout = 300 * time.Millisecond
	it := f.enqueue(t, "sender@example.org", rcpt("a@example.net"))
	start := time.Now()
	f.runAt(t, 0)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("attempt took %v", d)
	}
	got, err := f.st.GetQueueItem(t.Context(), it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rc := got.Recipients[0]; rc.Done || !strings.Contains(rc.LastError, "deadline") {
		t.Errorf("recipient %+v, want pending after the deadline", rc)
	}
}

// TestLostClaimSendsNoData: the queue loses its claim while the remote
// server is slow to answer RCPT; the transaction stops before DATA.
func TestLostClaimSendsNoData(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	srv := smtptest.Start(t, smtptest.Config{Reply: func(_ *smtptest.SessionState, l string) string {
		mu.Lock()
		lines = append(lines, l)
		mu.Unlock()
		if strings.HasPrefix(l, "RCPT") {
			time.Sleep(1500 * time.Millisecond)
		}
		return ""
	}})
	rt, _ := newTransport(t, "example.net. MX 10 mx.example.net.\nmx.example.net. A 127.0.0.2\n", testNet{"127.0.0.2": srv.Addr()})
	rt.Timeouts = smtpclient.DefaultTimeouts()
	f := newFixture(t)
	q, err := New(Options{Store: &lostClaimStore{Store: f.st}, Transport: rt, Worker: "test", Now: f.clock.Now,
		Lease: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "sender@example.org", rcpt("a@example.net"))
	if err := q.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1600 * time.Millisecond) // the server's RCPT reply, and what would follow
	mu.Lock()
	defer mu.Unlock()
	for _, l := range lines {
		if l == "DATA" {
			t.Fatalf("DATA sent after the claim was lost: %q", lines)
		}
	}
	if len(srv.Messages()) != 0 && srv.Messages()[0].Accepted {
		t.Errorf("message delivered: %+v", srv.Messages())
	}
}

// TestRequireTLSAndUnknownMTASTSPolicy: a REQUIRETLS message to a domain
// whose MTA-STS policy exists but cannot be fetched waits; only a domain
// without a policy record fails for want of authenticated TLS.
func TestRequireTLSAndUnknownMTASTSPolicy(t *testing.T) {
	tests := []struct {
		name string
		zone string
		want string
	}{
		{"policy fetch fails", "_mta-sts.example.net. TXT \"v=STSv1; id=1;\"\nmta-sts.example.net. A 127.0.0.1\n", "deferred 4.7.10"},
		{"policy record lookup fails", "$SERVFAIL _mta-sts.example.net TXT\n", "deferred 4.7.10"},
		{"no policy record", "", "failed 5.7.10"},
	}
	cert := (*tlstest.CA)(nil).Issue(t, "mx.example.net")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Config{Extensions: []string{"REQUIRETLS"},
				TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
			rt, log := newTransport(t, tc.zone+"example.net. MX 10 mx.example.net.\nmx.example.net. A 127.0.0.2\n",
				testNet{"127.0.0.2": srv.Addr()})
			down, err := net.ResolveTCPAddr("tcp", downAddr(t))
			if err != nil {
				t.Fatal(err)
			}
			rt.MTASTS = &mtasts.Client{Resolver: rt.Resolver, Cache: mtasts.NewMemoryCache(0),
				Fetcher: &mtasts.Fetcher{Resolver: rt.Resolver, Port: down.Port, Timeout: time.Second}}
			req := request("example.net", "a@example.net")
			req.Item.RequireTLS = true
			expect(t, rt.Deliver(t.Context(), req), "a@example.net "+tc.want)
			if srv.Sessions() != 0 {
				t.Errorf("%d sessions for a REQUIRETLS message without an authenticated host", srv.Sessions())
			}
			if tc.zone != "" {
				if r := log.results(); len(r) == 0 || r[0].Policy != TLSPolicySTS || r[0].FailureReason != "sts-policy-fetch-error" {
					t.Errorf("TLS results %+v", r)
				}
			}
		})
	}
}

// TestRequireTLSReportToHostWithoutRequireTLS: a delivery report about a
// REQUIRETLS message goes to an authenticated host that does not offer
// REQUIRETLS, without the parameter (RFC 8689 section 5); other mail
// does not.
func TestRequireTLSReportToHostWithoutRequireTLS(t *testing.T) {
	cert := (*tlstest.CA)(nil).Issue(t, "whatever.invalid")
	for _, from := range []string{"", "sender@example.org"} {
		srv := smtptest.Start(t, smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
		rt, _ := newTransport(t, daneZone(tlsaEE(t, cert)), testNet{"127.0.0.2": srv.Addr()})
		req := request("example.net", "a@example.net")
		req.Item.From, req.Item.RequireTLS = from, true
		got := rt.Deliver(t.Context(), req)
		if from == "" {
			expect(t, got, "a@example.net delivered 2.0.0")
			if m := srv.Messages(); len(m) != 1 || !m[0].TLS || strings.Contains(m[0].Mail, "REQUIRETLS") {
				t.Errorf("report delivered as %+v", m)
			}
		} else {
			expect(t, got, "a@example.net failed 5.7.30")
		}
	}
}
