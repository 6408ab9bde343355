package reports

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

// reportEndpoint is an HTTPS server on loopback that takes TLS reports
// the way RFC 8460 section 3 sends them, and answers with status.
type reportEndpoint struct {
	mu       sync.Mutex
	status   int
	stall    bool // wait for the client to give up
	requests int
	reports  []*TLSReport
	problems []string
}

func (e *reportEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.requests++
	status, stall := e.status, e.stall
	e.mu.Unlock()
	if stall {
		// The body read, the server notices the client leaving. It
		// never answers: returning would write an implicit 200, which a
		// request context ended early (a loaded machine) turned into a
		// report accepted; the connection is dropped instead.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		panic(http.ErrAbortHandler)
	}
	problem := func(f string, args ...any) {
		e.mu.Lock()
		e.problems = append(e.problems, fmt.Sprintf(f, args...))
		e.mu.Unlock()
		http.Error(w, "bad report", http.StatusBadRequest)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/tlsrpt" {
		problem("%s %s", r.Method, r.URL.Path)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/tlsrpt+gzip" {
		problem("Content-Type %q", ct)
		return
	}
	zr, err := gzip.NewReader(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		problem("not gzip: %v", err)
		return
	}
	doc, err := io.ReadAll(zr)
	if err != nil {
		problem("gunzip: %v", err)
		return
	}
	rep, err := ParseTLSReport(doc)
	if err != nil {
		problem("report: %v", err)
		return
	}
	e.mu.Lock()
	e.reports = append(e.reports, rep)
	e.mu.Unlock()
	w.WriteHeader(status)
}

func (e *reportEndpoint) set(status int, stall bool) {
	e.mu.Lock()
	e.status, e.stall = status, stall
	e.mu.Unlock()
}

// startEndpoint serves e on 127.0.0.1 with a certificate for host from
// its own CA, and returns the port and the CA.
func startEndpoint(t *testing.T, e *reportEndpoint, host string) (int, *x509.CertPool) {
	t.Helper()
	ca := tlstest.NewCA(t, "Report Test CA")
	pool, cert := ca.Pool(), ca.Issue(t, host)
	srv := httptest.NewUnstartedServer(e)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port, pool
}

// TestSendTLSByHTTPS: a TLS report goes to an https rua by POST with the
// right media type, and the body gunzips to a report that parses. Failures
// that may pass postpone the report; others drop the destination.
func TestSendTLSByHTTPS(t *testing.T) {
	const host = "tlsrpt.tls.example"
	tests := []struct {
		name       string
		status     int
		stall      bool
		trustCA    bool
		public     bool // refuse the endpoint's loopback address, as in production
		maxPost    int
		wantPosted bool
		wantTried  bool // the endpoint saw a request
		wantAgain  bool // the report is tried again at the next call
	}{
		{name: "accepted", status: http.StatusOK, trustCA: true, wantPosted: true, wantTried: true},
		{name: "accepted with 202", status: http.StatusAccepted, trustCA: true, wantPosted: true, wantTried: true},
		{name: "server error postpones", status: http.StatusServiceUnavailable, trustCA: true, wantTried: true, wantAgain: true},
		{name: "timeout postpones", stall: true, trustCA: true, wantTried: true, wantAgain: true},
		{name: "refused for good", status: http.StatusForbidden, trustCA: true, wantTried: true},
		{name: "redirect not followed", status: http.StatusFound, trustCA: true, wantTried: true},
		{name: "untrusted certificate", status: http.StatusOK, trustCA: false},
		{name: "too large", status: http.StatusOK, trustCA: true, maxPost: 10},
		{name: "not a public address", status: http.StatusOK, trustCA: true, public: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &reportEndpoint{}
			e.set(tc.status, tc.stall)
			port, pool := startEndpoint(t, e, host)
			uri := fmt.Sprintf("https://%s:%d/tlsrpt", host, port)
			r := resolver(t, fmt.Sprintf("_smtp._tls.tls.example. TXT \"v=TLSRPTv1; rua=%s\"\n%s. A 127.0.0.1\n", uri, host))
			st := openStore(t)
			if err := (&TLSRecorder{Store: st}).Record(t.Context(), tlsResult("tls.example", false, "certificate-expired")); err != nil {
				t.Fatal(err)
			}
			spy := &queueSpy{Store: st}
			sched := scheduler(spy, r)
			sched.PostTimeout, sched.MaxPostSize = 500*time.Millisecond, tc.maxPost
			sched.AllowPrivate = !tc.public
			if tc.trustCA {
				sched.RootCAs = pool
			}
			sent, err := sched.SendDue(t.Context(), day.Add(25*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(spy.items) != 0 {
				t.Errorf("a mail was queued for an https destination: %+v", spy.items)
			}
			posted := len(sent) == 1 && len(sent[0].Posted) == 1 && sent[0].Posted[0] == uri && sent[0].QueueID == 0
			if posted != tc.wantPosted || !tc.wantPosted && len(sent) != 0 {
				t.Errorf("sent %+v, want posted %v", sent, tc.wantPosted)
			}
			e.mu.Lock()
			tried, problems, reports := e.requests > 0, e.problems, e.reports
			e.mu.Unlock()
			if tried != tc.wantTried || len(problems) > 0 {
				t.Errorf("endpoint saw a request: %v, want %v; problems %q", tried, tc.wantTried, problems)
			}
			if tc.wantTried && !tc.stall && (len(reports) != 1 || reports[0].Policies[0].Policy.Domain != "tls.example" ||
				reports[0].Policies[0].Summary.Failed != 1) {
				t.Errorf("reports received %+v", reports)
			}

			// The next call: a postponed report goes out once the endpoint
			// takes it; any other is not sent again.
			e.set(http.StatusOK, false)
			again, err := sched.SendDue(t.Context(), day.Add(26*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if (len(again) == 1 && len(again[0].Posted) == 1) != tc.wantAgain || !tc.wantAgain && len(again) != 0 {
				t.Errorf("next call sent %+v, want a POST: %v", again, tc.wantAgain)
			}
		})
	}
}

// TestSendTLSMailAndHTTPS: a record with both kinds of URI gets the mail
// and the POST; a failed POST does not hold the mail back.
func TestSendTLSMailAndHTTPS(t *testing.T) {
	const host = "tlsrpt.tls.example"
	e := &reportEndpoint{}
	e.set(http.StatusServiceUnavailable, false)
	port, pool := startEndpoint(t, e, host)
	uri := fmt.Sprintf("https://%s:%d/tlsrpt", host, port)
	r := resolver(t, fmt.Sprintf("_smtp._tls.tls.example. TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@tls.example,%s\"\n%s. A 127.0.0.1\n", uri, host))
	st := openStore(t)
	if err := (&TLSRecorder{Store: st}).Record(t.Context(), tlsResult("tls.example", true, "")); err != nil {
		t.Fatal(err)
	}
	spy := &queueSpy{Store: st}
	sched := scheduler(spy, r)
	sched.RootCAs, sched.AllowPrivate = pool, true
	sent, err := sched.SendDue(t.Context(), day.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sent[0].QueueID == 0 || len(sent[0].Posted) != 0 || len(spy.items) != 1 {
		t.Fatalf("sent %+v, %d mails", sent, len(spy.items))
	}
	_, doc := attachment(t, spy.bodies[0])
	if !bytes.Contains(doc, []byte(`"policy-domain": "tls.example"`)) {
		t.Errorf("mailed report:\n%s", doc)
	}
	e.set(http.StatusOK, false)
	if again, _ := sched.SendDue(t.Context(), day.Add(26*time.Hour)); len(again) != 0 {
		t.Errorf("sent again: %+v", again)
	}
}

func TestPublicOnly(t *testing.T) {
	for addr, public := range map[string]bool{
		"192.0.2.10:443": true, "[2001:db8::1]:443": true, "8.8.8.8:443": true,
		"127.0.0.1:443": false, "[::1]:443": false, "10.1.2.3:443": false, "172.16.0.1:443": false,
		"192.168.1.1:443": false, "169.254.169.254:80": false, "[fe80::1]:443": false, "[fd00::1]:443": false,
		"0.0.0.0:443": false, "0.1.2.3:443": false, "100.64.0.1:443": false, "224.0.0.1:443": false,
		"[::ffff:127.0.0.1]:443": false,
	} {
		err := publicOnly("tcp", addr, nil)
		if (err == nil) != public || err != nil && !errors.Is(err, errNotPublic) {
			t.Errorf("publicOnly(%s) = %v, want public %v", addr, err, public)
		}
	}
}
