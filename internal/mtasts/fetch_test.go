package mtasts

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

// response is what the test policy server answers for one domain.
type response struct {
	status   int // 0 means 200
	ctype    string
	body     string
	location string
}

// policyServer is an HTTPS server on loopback answering policy requests by
// Host header, counting them.
type policyServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	resp map[string]response // by host name, mta-sts.<domain>
	hits map[string]int
}

func startPolicyServer(t *testing.T, cert tls.Certificate) *policyServer {
	t.Helper()
	ps := &policyServer{resp: map[string]response{}, hits: map[string]int{}}
	ps.srv = httptest.NewUnstartedServer(http.HandlerFunc(ps.serve))
	ps.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ps.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	ps.srv.StartTLS()
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *policyServer) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	resp, ok := ps.resp[r.Host]
	ps.hits[r.Host]++
	ps.mu.Unlock()
	if !ok || r.URL.Path != wellKnownPath {
		http.NotFound(w, r)
		return
	}
	if resp.location != "" {
		w.Header().Set("Location", resp.location)
	}
	ctype := resp.ctype
	if ctype == "" {
		ctype = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	status := resp.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, resp.body)
}

func (ps *policyServer) set(domain string, r response) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.resp["mta-sts."+domain] = r
}

func (ps *policyServer) hitCount(domain string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.hits["mta-sts."+domain]
}

func (ps *policyServer) port(t *testing.T) int {
	_, p, err := net.SplitHostPort(ps.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const (
	enforceText = "version: STSv1\r\nmode: enforce\r\nmx: mx.enforce.test\r\nmx: *.backup.enforce.test\r\nmax_age: 86400\r\n"
	testingText = "version: STSv1\nmode: testing\nmx: mx.testing.test\nmax_age: 3600\n"
	noneText    = "version: STSv1\nmode: none\nmax_age: 600\n"
)

// fetchWorld is the DNS and HTTPS world of the fetch tests: every
// mta-sts.<domain>.test name of the zone points at 127.0.0.1, where one
// server has a certificate from ca for all of them.
type fetchWorld struct {
	ca       *tlstest.CA
	resolver dnsx.Resolver
	server   *policyServer
}

var fetchDomains = []string{"enforce.test", "testing.test", "none.test", "redirect.test", "big.test",
	"html.test", "notfound.test", "invalid.test", "notype.test", "wrongname.test"}

func newFetchWorld(t *testing.T) *fetchWorld {
	t.Helper()
	var zone strings.Builder
	var names []string
	for _, d := range fetchDomains {
		zone.WriteString("mta-sts." + d + ". A 127.0.0.1\n")
		zone.WriteString("_mta-sts." + d + ". TXT \"v=STSv1; id=1\"\n")
		if d != "wrongname.test" { // served, but the certificate does not name it
			names = append(names, "mta-sts."+d)
		}
	}
	zone.WriteString("mta-sts.unreachable.test. A 127.0.0.1\n")
	zone.WriteString("_mta-sts.unreachable.test. TXT \"v=STSv1; id=1\"\n")
	srv := dnstest.Start(t, zone.String())
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA(t, "Sealpost test CA")
	ps := startPolicyServer(t, ca.Issue(t, names...))
	ps.set("enforce.test", response{body: enforceText})
	ps.set("testing.test", response{body: testingText, ctype: "text/plain"})
	ps.set("none.test", response{body: noneText})
	ps.set("redirect.test", response{status: http.StatusMovedPermanently, location: "https://mta-sts.enforce.test" + wellKnownPath})
	ps.set("big.test", response{body: enforceText + strings.Repeat("x-pad: 0123456789abcdef\n", 3000)})
	ps.set("html.test", response{body: enforceText, ctype: "text/html"})
	ps.set("notype.test", response{body: enforceText, ctype: "application/octet-stream"})
	ps.set("invalid.test", response{body: "version: STSv1\nmode: sometimes\n"})
	ps.set("wrongname.test", response{body: enforceText})
	return &fetchWorld{ca: ca, resolver: r, server: ps}
}

func (w *fetchWorld) fetcher(t *testing.T) *Fetcher {
	return &Fetcher{Resolver: w.resolver, RootCAs: w.ca.Pool(), Timeout: 5 * time.Second, Port: w.server.port(t)}
}

func TestFetch(t *testing.T) {
	w := newFetchWorld(t)
	tests := []struct {
		domain   string
		wantMode Mode
		wantErr  string // substring; empty means success
		certErr  bool   // the error must be a certificate verification error
	}{
		{domain: "enforce.test", wantMode: ModeEnforce},
		{domain: "Enforce.Test.", wantMode: ModeEnforce},
		{domain: "testing.test", wantMode: ModeTesting},
		{domain: "none.test", wantMode: ModeNone},
		{domain: "redirect.test", wantErr: "301"},
		{domain: "big.test", wantErr: "larger than"},
		{domain: "html.test", wantErr: "text/html"},
		{domain: "notype.test", wantErr: "application/octet-stream"},
		{domain: "notfound.test", wantErr: "404"},
		{domain: "invalid.test", wantErr: "unknown mode"},
		{domain: "wrongname.test", certErr: true, wantErr: "certificate"},
		{domain: "nxdomain.test", wantErr: "not found"},
		{domain: "bad domain", wantErr: "invalid domain"},
	}
	f := w.fetcher(t)
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			p, err := f.Fetch(context.Background(), tc.domain)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Fetch = %+v, %v; want error with %q", p, err, tc.wantErr)
				}
				var cve *tls.CertificateVerificationError
				if tc.certErr != errors.As(err, &cve) {
					t.Errorf("certificate verification error: %v, want %v (%v)", !tc.certErr, tc.certErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if p.Mode != tc.wantMode {
				t.Errorf("mode %q, want %q", p.Mode, tc.wantMode)
			}
		})
	}
	if n := w.server.hitCount("enforce.test"); n != 2 {
		t.Errorf("enforce.test fetched %d times, want 2: the redirect must not be followed", n)
	}
}

// TestFetchUntrustedCA checks PKIX validation against the configured roots:
// a certificate from another authority is refused.
func TestFetchUntrustedCA(t *testing.T) {
	w := newFetchWorld(t)
	f := w.fetcher(t)
	f.RootCAs = tlstest.NewCA(t, "Other CA").Pool()
	_, err := f.Fetch(context.Background(), "enforce.test")
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Fatalf("Fetch with untrusted CA: %v, want a certificate verification error", err)
	}
	if w.server.hitCount("enforce.test") != 0 {
		t.Error("the request was sent despite the refused certificate")
	}
}

// TestFetchTimeout checks that a server that never answers is given up on.
func TestFetchTimeout(t *testing.T) {
	w := newFetchWorld(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		// Accept one connection and say nothing until the test ends.
		c, err := l.Accept()
		if err != nil {
			return
		}
		<-done
		c.Close()
	}()
	f := w.fetcher(t)
	f.Port = l.Addr().(*net.TCPAddr).Port
	f.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err = f.Fetch(context.Background(), "unreachable.test")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch from a silent server: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Fetch took %v with a 300ms timeout", d)
	}
}

// TestFetchMaxSize checks a lower configured size limit.
func TestFetchMaxSize(t *testing.T) {
	w := newFetchWorld(t)
	f := w.fetcher(t)
	f.MaxSize = int64(len(enforceText) - 1)
	if _, err := f.Fetch(context.Background(), "enforce.test"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Fetch over MaxSize: %v", err)
	}
	f.MaxSize = int64(len(enforceText))
	if _, err := f.Fetch(context.Background(), "enforce.test"); err != nil {
		t.Fatalf("Fetch at MaxSize: %v", err)
	}
}
