package queue

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dane"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/mtasts"
	"sealpost.dev/sealpost/internal/smtpclient"
	"sealpost.dev/sealpost/internal/smtpclient/smtptest"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

const testBody = "Subject: test\r\n\r\nHello.\r\n"

// tlsaEE returns the data of a DANE-EE SPKI SHA2-256 record (3 1 1) for
// cert, in hex.
func tlsaEE(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	data, err := dane.Association(cert.Leaf, dane.SelectorSPKI, dane.MatchSHA256)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(data)
}

// tlsLog collects TLS results.
type tlsLog struct {
	mu  sync.Mutex
	all []TLSResult
}

func (l *tlsLog) add(r TLSResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, r)
}

func (l *tlsLog) results() []TLSResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]TLSResult(nil), l.all...)
}

// net routes the addresses of the test zone to loopback servers: the
// zone's A records name 127.0.0.x addresses, and the transport's Dial hook
// connects to the server registered for x, so several MX hosts can listen
// on random ports while the transport dials port 25. Unregistered
// addresses are refused without any connection.
type testNet map[string]string

func (n testNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	target, ok := n[host]
	if !ok {
		return nil, fmt.Errorf("test network: nothing listens at %s", addr)
	}
	return (&net.Dialer{}).DialContext(ctx, network, target)
}

// downAddr returns a loopback address where nothing listens.
func downAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newResolver(t *testing.T, zone string) dnsx.Resolver {
	t.Helper()
	srv := dnstest.Start(t, zone)
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Timeout: time.Second, Attempts: 1, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTransport(t *testing.T, zone string, routes testNet) (*RemoteTransport, *tlsLog) {
	t.Helper()
	log := &tlsLog{}
	rt := &RemoteTransport{
		Resolver:    newResolver(t, zone),
		Hostname:    "out.example.org",
		Timeouts:    smtpclient.Timeouts{}.Scale(0.01),
		OnTLSResult: log.add,
	}
	if routes != nil {
		rt.Dial = routes.dial
	}
	return rt, log
}

func request(domain string, rcpts ...string) Request {
	it := store.QueueItem{ID: 7, From: "sender@example.org", Size: int64(len(testBody))}
	for _, r := range rcpts {
		it.Recipients = append(it.Recipients, store.QueueRecipient{Address: r})
	}
	return Request{Item: it, Domain: domain, Recipients: it.Recipients,
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(testBody)), nil }}
}

// expect checks the results against "address status enhanced" triples.
func expect(t *testing.T, got []Result, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		f := strings.Fields(w)
		g := got[i]
		if g.Recipient != f[0] || g.Status.String() != f[1] || g.Enhanced != f[2] {
			t.Errorf("result %d: got %s %s %s (%s), want %s", i, g.Recipient, g.Status, g.Enhanced, g.Diagnostic, w)
		}
	}
}

func TestDeliverOpportunisticTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Extensions: []string{"PIPELINING", "8BITMIME"},
		TLS: &tls.Config{Certificates: []tls.Certificate{(*tlstest.CA)(nil).Issue(t, "self.example")}}})
	rt, log := newTransport(t, `
example.net. MX 10 mx.example.net.
mx.example.net. A 127.0.0.1
`, nil)
	rt.Port = srv.Port()
	got := rt.Deliver(t.Context(), request("example.net", "a@example.net", "b@example.net"))
	expect(t, got, "a@example.net delivered 2.0.0", "b@example.net delivered 2.0.0")
	if got[0].RemoteMTA != "mx.example.net" {
		t.Errorf("RemoteMTA %q", got[0].RemoteMTA)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || len(msgs[0].Rcpts) != 2 || string(msgs[0].Data) != testBody {
		t.Fatalf("server got %+v", msgs)
	}
	if msgs[0].Helo != "out.example.org" || msgs[0].Mail != "MAIL FROM:<sender@example.org>" {
		t.Errorf("EHLO %q, MAIL %q", msgs[0].Helo, msgs[0].Mail)
	}
	if r := log.results(); len(r) != 1 || !r[0].Success || r[0].Policy != TLSPolicyNone || r[0].MXHost != "mx.example.net" ||
		r[0].PolicyStrings != nil || r[0].PolicyMX != nil {
		t.Errorf("TLS results %+v", r)
	}
}

func TestDeliverRecipientReplies(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Extensions: []string{"PIPELINING", "ENHANCEDSTATUSCODES"},
		Reply: func(_ *smtptest.SessionState, l string) string {
			switch {
			case strings.Contains(l, "<gone@"):
				return "550 5.1.1 No such user"
			case strings.Contains(l, "<busy@"):
				return "451 4.3.0 Try again"
			}
			return ""
		}})
	rt, _ := newTransport(t, "example.net. MX 10 mx.example.net.\nmx.example.net. A 127.0.0.1\n", nil)
	rt.Port = srv.Port()
	got := rt.Deliver(t.Context(), request("example.net", "gone@example.net", "ok@example.net", "busy@example.net"))
	expect(t, got, "gone@example.net failed 5.1.1", "ok@example.net delivered 2.0.0", "busy@example.net deferred 4.3.0")
	if !strings.Contains(got[0].Diagnostic, "mx.example.net [127.0.0.1]") || !strings.Contains(got[0].Diagnostic, "No such user") {
		t.Errorf("diagnostic %q", got[0].Diagnostic)
	}
	if srv.Sessions() != 1 {
		t.Errorf("%d sessions: a recipient answered by one host was tried at another", srv.Sessions())
	}
}

func TestDeliverRouting(t *testing.T) {
	up := smtptest.Start(t, smtptest.Config{})
	down := downAddr(t)
	tests := []struct {
		name   string
		zone   string
		want   string // status and enhanced code for every recipient
		diag   string // in the diagnostic
		remote string
		msgs   int
	}{
		{"null MX", "example.net. MX 0 .\n", "failed 5.1.10", "null MX", "", 0},
		{"NXDOMAIN", "other.example. A 127.0.0.1\n", "failed 5.1.2", "does not exist", "", 0},
		{"no MX, no address", "example.net. TXT \"hello\"\n", "failed 5.1.2", "neither MX nor address", "", 0},
		{"no MX: implicit MX", "example.net. A 127.0.0.2\n", "delivered 2.0.0", "accepted", "example.net", 1},
		{"DNS failure", "example.net. MX 10 mx.example.net.\n$SERVFAIL example.net MX\n", "deferred 4.4.3", "MX lookup failed", "", 0},
		{"first MX down", "example.net. MX 10 mx1.example.net.\nexample.net. MX 20 mx2.example.net.\n" +
			"mx1.example.net. A 127.0.0.3\nmx2.example.net. A 127.0.0.2\n", "delivered 2.0.0", "mx2.example.net [127.0.0.2]", "mx2.example.net", 1},
		{"all MX down", "example.net. MX 10 mx1.example.net.\nexample.net. MX 20 mx3.example.net.\n" +
			"mx1.example.net. A 127.0.0.3\nmx3.example.net. A 127.0.0.4\n", "deferred 4.4.1", "mx3.example.net [127.0.0.4]: connection failed", "", 0},
		{"first MX busy", "example.net. MX 10 mx1.example.net.\nexample.net. MX 20 mx2.example.net.\n" +
			"mx1.example.net. A 127.0.0.5\nmx2.example.net. A 127.0.0.2\n", "delivered 2.0.0", "mx2.example.net [127.0.0.2]", "mx2.example.net", 1},
		{"only MX busy", "example.net. MX 10 mx1.example.net.\nmx1.example.net. A 127.0.0.5\n",
			"deferred 4.3.2", "mx1.example.net [127.0.0.5] said: 421 4.3.2 Busy (in reply to greeting)", "mx1.example.net", 0},
		{"MX without address", "example.net. MX 10 mx.example.net.\n", "deferred 4.4.4", "no address", "", 0},
	}
	busy := smtptest.Start(t, smtptest.Config{Greeting: "421 4.3.2 Busy"})
	routes := testNet{"127.0.0.2": up.Addr(), "127.0.0.3": down, "127.0.0.4": down, "127.0.0.5": busy.Addr()}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.Messages())
			rt, _ := newTransport(t, tc.zone, routes)
			got := rt.Deliver(t.Context(), request("example.net", "a@example.net", "b@example.net"))
			expect(t, got, "a@example.net "+tc.want, "b@example.net "+tc.want)
			if !strings.Contains(got[0].Diagnostic, tc.diag) || got[0].RemoteMTA != tc.remote {
				t.Errorf("diagnostic %q, remote %q", got[0].Diagnostic, got[0].RemoteMTA)
			}
			if n := len(up.Messages()) - before; n != tc.msgs {
				t.Errorf("%d messages delivered, want %d", n, tc.msgs)
			}
		})
	}
}

func TestOpportunisticTLSFailureRetriesInPlainText(t *testing.T) {
	// A server whose TLS has no certificate fails every handshake.
	srv := smtptest.Start(t, smtptest.Config{TLS: &tls.Config{}})
	rt, log := newTransport(t, "example.net. MX 10 mx.example.net.\nmx.example.net. A 127.0.0.2\n", testNet{"127.0.0.2": srv.Addr()})
	got := rt.Deliver(t.Context(), request("example.net", "a@example.net"))
	expect(t, got, "a@example.net delivered 2.0.0")
	if srv.Sessions() != 2 || len(srv.Messages()) != 1 || srv.Messages()[0].TLS {
		t.Errorf("sessions %d, messages %+v", srv.Sessions(), srv.Messages())
	}
	if r := log.results(); len(r) != 1 || r[0].Success || r[0].FailureReason == "" {
		t.Errorf("TLS results %+v", r)
	}
}

// daneZone is a signed zone whose MX host has a DANE-EE record.
func daneZone(tlsaHex string) string {
	return fmt.Sprintf(`$SECURE example.net
example.net. MX 10 mx.example.net.
mx.example.net. A 127.0.0.2
_25._tcp.mx.example.net. TLSA 3 1 1 %s
`, tlsaHex)
}

func TestDANE(t *testing.T) {
	cert := (*tlstest.CA)(nil).Issue(t, "whatever.invalid")
	other := (*tlstest.CA)(nil).Issue(t, "whatever.invalid")
	tests := []struct {
		name     string
		tlsa     string
		tlsConf  *tls.Config
		ext      []string
		require  bool
		want     string
		reason   string // TLS failure reason, "" for success
		delivers bool
	}{
		{name: "matching DANE-EE", tlsa: tlsaEE(t, cert), want: "delivered 2.0.0", delivers: true},
		{name: "wrong TLSA record", tlsa: tlsaEE(t, other), want: "deferred 4.7.5", reason: "validation-failure"},
		{name: "no STARTTLS", tlsa: tlsaEE(t, cert), tlsConf: &tls.Config{}, want: "deferred 4.7.5", reason: "starttls-not-supported"},
		{name: "REQUIRETLS over DANE", tlsa: tlsaEE(t, cert), ext: []string{"REQUIRETLS"}, require: true,
			want: "delivered 2.0.0", delivers: true},
		{name: "REQUIRETLS not offered", tlsa: tlsaEE(t, cert), require: true, want: "failed 5.7.30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smtptest.Config{Extensions: tc.ext, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}
			if tc.tlsConf != nil {
				cfg.TLS = nil
			}
			srv := smtptest.Start(t, cfg)
			rt, log := newTransport(t, daneZone(tc.tlsa), testNet{"127.0.0.2": srv.Addr()})
			req := request("example.net", "a@example.net")
			req.Item.RequireTLS = tc.require
			expect(t, rt.Deliver(t.Context(), req), "a@example.net "+tc.want)
			if got := len(srv.Messages()); got != map[bool]int{true: 1}[tc.delivers] {
				t.Errorf("%d messages delivered", got)
			}
			res := log.results()
			if len(res) != 1 || res[0].Policy != TLSPolicyDANE || res[0].Success != (tc.reason == "") || res[0].FailureReason != tc.reason {
				t.Fatalf("TLS results %+v", res)
			}
			// What the TLS report's policy and failure details need
			// (RFC 8460 section 4.4).
			wantTLSA := "3 1 1 " + strings.ToUpper(tlsaEE(t, cert))
			if tc.name == "wrong TLSA record" {
				wantTLSA = "3 1 1 " + strings.ToUpper(tlsaEE(t, other))
			}
			r := res[0]
			if strings.Join(r.PolicyStrings, "|") != wantTLSA || strings.Join(r.PolicyMX, "|") != "mx.example.net" ||
				r.Addr.Addr().String() != "127.0.0.2" || r.LocalAddr.String() != "127.0.0.1" {
				t.Errorf("TLS result: policy %q, mx %q, receiving %v, sending %v; want %q", r.PolicyStrings, r.PolicyMX,
					r.Addr, r.LocalAddr, wantTLSA)
			}
			if tc.require && tc.delivers && !strings.Contains(srv.Messages()[0].Mail, "REQUIRETLS") {
				t.Errorf("MAIL without REQUIRETLS: %q", srv.Messages()[0].Mail)
			}
		})
	}
}

func TestDANEUnsignedIgnored(t *testing.T) {
	// The same wrong TLSA record, without $SECURE: DANE does not apply and
	// opportunistic TLS delivers.
	cert := (*tlstest.CA)(nil).Issue(t, "whatever.invalid")
	srv := smtptest.Start(t, smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	zone := strings.Replace(daneZone(strings.Repeat("00", 32)), "$SECURE example.net\n", "", 1)
	rt, log := newTransport(t, zone, testNet{"127.0.0.2": srv.Addr()})
	expect(t, rt.Deliver(t.Context(), request("example.net", "a@example.net")), "a@example.net delivered 2.0.0")
	if r := log.results(); len(r) != 1 || r[0].Policy != TLSPolicyNone {
		t.Errorf("TLS results %+v", r)
	}
}

func TestDANEWrongRecordKeepsMessageQueued(t *testing.T) {
	cert := (*tlstest.CA)(nil).Issue(t, "whatever.invalid")
	other := (*tlstest.CA)(nil).Issue(t, "whatever.invalid")
	srv := smtptest.Start(t, smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	rt, _ := newTransport(t, daneZone(tlsaEE(t, other)), testNet{"127.0.0.2": srv.Addr()})
	f := newFixture(t)
	q, err := New(Options{Store: f.st, Transport: rt, Notifier: f.notifier, Worker: "test", Now: f.clock.Now,
		Backoff: func(int) time.Duration { return 10 * time.Minute }})
	if err != nil {
		t.Fatal(err)
	}
	it := f.enqueue(t, "sender@example.org", rcpt("a@example.net"))
	if err := q.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.GetQueueItem(t.Context(), it.ID)
	if err != nil {
		t.Fatalf("message left the queue: %v", err)
	}
	rc := got.Recipients[0]
	if rc.Done || rc.Failed || !strings.Contains(rc.LastError, "DANE policy requires TLS") {
		t.Errorf("recipient %+v", rc)
	}
	if len(srv.Messages()) != 0 || len(f.notifier.kinds()) != 0 {
		t.Errorf("delivered %d, notices %v", len(srv.Messages()), f.notifier.kinds())
	}
}

// stsWorld serves an MTA-STS policy for example.net over HTTPS on
// loopback, with a certificate from ca.
func stsWorld(t *testing.T, ca *tlstest.CA, resolver dnsx.Resolver, policy string) *mtasts.Client {
	t.Helper()
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, policy)
	}))
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "mta-sts.example.net")}}
	hs.StartTLS()
	t.Cleanup(hs.Close)
	port := hs.Listener.Addr().(*net.TCPAddr).Port
	return &mtasts.Client{Resolver: resolver, Cache: mtasts.NewMemoryCache(0),
		Fetcher: &mtasts.Fetcher{Resolver: resolver, RootCAs: ca.Pool(), Port: port, Timeout: 5 * time.Second}}
}

const stsZone = `
_mta-sts.example.net. TXT "v=STSv1; id=1;"
mta-sts.example.net. A 127.0.0.1
example.net. MX 10 rogue.example.net.
example.net. MX 20 mx.example.net.
rogue.example.net. A 127.0.0.3
mx.example.net. A 127.0.0.2
`

func TestMTASTS(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	tests := []struct {
		name     string
		mode     string
		mxCert   tls.Certificate
		want     string
		rogue    int // messages at the host the policy does not list
		good     int
		outcomes []string // policy and failure reason of each TLS result
	}{
		{"enforce, valid certificate", "enforce", ca.Issue(t, "mx.example.net"), "delivered 2.0.0", 0, 1,
			[]string{"sts validation-failure", "sts "}},
		{"enforce, untrusted certificate", "enforce", (*tlstest.CA)(nil).Issue(t, "mx.example.net"), "deferred 4.7.5", 0, 0,
			[]string{"sts validation-failure", "sts certificate-not-trusted"}},
		{"enforce, wrong name", "enforce", ca.Issue(t, "other.example.net"), "deferred 4.7.5", 0, 0,
			[]string{"sts validation-failure", "sts certificate-host-mismatch"}},
		{"testing, untrusted certificate", "testing", (*tlstest.CA)(nil).Issue(t, "mx.example.net"), "delivered 2.0.0", 1, 0,
			[]string{"sts validation-failure", "no-policy-found "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tlsConf := &tls.Config{Certificates: []tls.Certificate{tc.mxCert}}
			rogue := smtptest.Start(t, smtptest.Config{TLS: tlsConf})
			good := smtptest.Start(t, smtptest.Config{TLS: tlsConf})
			rt, log := newTransport(t, stsZone, testNet{"127.0.0.2": good.Addr(), "127.0.0.3": rogue.Addr()})
			rt.RootCAs = ca.Pool()
			rt.MTASTS = stsWorld(t, ca, rt.Resolver,
				"version: STSv1\nmode: "+tc.mode+"\nmx: mx.example.net\nmax_age: 86400\n")
			expect(t, rt.Deliver(t.Context(), request("example.net", "a@example.net")), "a@example.net "+tc.want)
			if len(rogue.Messages()) != tc.rogue || len(good.Messages()) != tc.good {
				t.Errorf("rogue got %d, listed MX got %d", len(rogue.Messages()), len(good.Messages()))
			}
			if tc.mode == "enforce" && rogue.Sessions() != 0 {
				t.Error("connected to an MX host the enforced policy does not list")
			}
			var outcomes []string
			for _, r := range log.results() {
				outcomes = append(outcomes, string(r.Policy)+" "+r.FailureReason)
			}
			if strings.Join(outcomes, "|") != strings.Join(tc.outcomes, "|") {
				t.Errorf("TLS outcomes %q, want %q", outcomes, tc.outcomes)
			}
			// Every result under the policy carries it, as the report's
			// policy-string and mx-host (RFC 8460 section 4.4).
			wantPolicy := "version: STSv1|mode: " + tc.mode + "|mx: mx.example.net|max_age: 86400"
			for _, r := range log.results() {
				if r.Policy != TLSPolicySTS {
					continue
				}
				if strings.Join(r.PolicyStrings, "|") != wantPolicy || strings.Join(r.PolicyMX, "|") != "mx.example.net" {
					t.Errorf("%s result: policy %q, mx %q; want %q", r.MXHost, r.PolicyStrings, r.PolicyMX, wantPolicy)
				}
			}
		})
	}
}

func TestRequireTLSWithoutVerifiedTLS(t *testing.T) {
	cert := (*tlstest.CA)(nil).Issue(t, "mx.example.net")
	srv := smtptest.Start(t, smtptest.Config{Extensions: []string{"REQUIRETLS"},
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	// Unsigned zone, no MTA-STS: opportunistic TLS only, which REQUIRETLS
	// does not accept (RFC 8689 section 4.2.1).
	rt, _ := newTransport(t, "example.net. MX 10 mx.example.net.\nmx.example.net. A 127.0.0.2\n", testNet{"127.0.0.2": srv.Addr()})
	req := request("example.net", "a@example.net")
	req.Item.RequireTLS = true
	got := rt.Deliver(t.Context(), req)
	expect(t, got, "a@example.net failed 5.7.10")
	if srv.Sessions() != 0 {
		t.Errorf("%d sessions opened for a REQUIRETLS message without an authenticated path", srv.Sessions())
	}
}

func TestDeliverIntoAQueueTransportContract(t *testing.T) {
	// Every requested recipient gets exactly one result, in order, even
	// when nothing could be tried.
	rt := &RemoteTransport{}
	got := rt.Deliver(t.Context(), request("example.net", "a@example.net", "b@example.net"))
	expect(t, got, "a@example.net deferred 4.3.5", "b@example.net deferred 4.3.5")
}

func TestShuffleEqualPreferences(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < 2; i++ {
		mxs := []dnsx.MX{{Host: "c.", Pref: 20}, {Host: "a.", Pref: 10}, {Host: "b.", Pref: 10}}
		shuffleEqual(mxs)
		if mxs[2].Host != "c." {
			t.Fatalf("preference order broken: %v", mxs)
		}
		seen[mxs[0].Host+mxs[1].Host] = true
	}
	if !seen["a.b."] || !seen["b.a."] {
		t.Errorf("equal preferences never reordered: %v", seen)
	}
}
