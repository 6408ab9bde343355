package tlsconf

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
	"golang.org/x/crypto/acme"
)

// acmeHost is the name certified in the ACME tests. It exists only in the
// test's own DNS server.
const acmeHost = "mail.sealpost.test"

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDNS serves, over TCP on loopback (Pebble's VA queries over TCP),
// a zone in which each of names has the single address 127.0.0.1. It returns the
// server address and a count of queries answered.
func startDNS(t *testing.T, names ...string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var queries atomic.Int32
	handler := func(w dns.ResponseWriter, r *dns.Msg) {
		queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if len(r.Question) != 1 || !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(r.Question[0].Name, dns.Fqdn(n)) }) {
			m.Rcode = dns.RcodeNameError
		} else if q := r.Question[0]; q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A:   net.IPv4(127, 0, 0, 1),
			})
		}
		w.WriteMsg(m)
	}
	started := make(chan struct{})
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(handler), NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("DNS server did not start")
	}
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String(), &queries
}

// testCA is a Pebble ACME server running inside the test.
type testCA struct {
	directoryURL string
	apiRoots     *x509.CertPool // trust for Pebble's HTTPS API
	root         *x509.Certificate
	intermediate *x509.Certificate
}

// startPebble runs Pebble's CA, VA and WFE in-process. Its VA resolves
// names through dnsAddr and validates HTTP-01 on httpPort and TLS-ALPN-01
// on tlsPort, both on the address the DNS server gives.
func startPebble(t *testing.T, dnsAddr string, httpPort, tlsPort int) *testCA {
	t.Helper()
	// Validate at once, never reject a good nonce, never reuse an
	// authorization: fast and the same every run.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0")

	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Pebble log:\n%s", logs)
		}
	})
	logger := log.New(logs, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, tlsPort, false, dnsAddr, store)
	frontend := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)

	srv := httptest.NewUnstartedServer(frontend.Handler())
	srv.Config.ErrorLog = logger
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &testCA{
		directoryURL: srv.URL + wfe.DirectoryPath,
		apiRoots:     poolOf(srv.Certificate()),
		root:         authority.GetRootCert(0).Cert,
		intermediate: authority.GetIntermediateCert(0).Cert,
	}
}

// closedPort returns a loopback port with nothing listening on it.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// acmeProvider builds an acme-mode provider against the test CA, logging
// into a buffer shown if the test fails.
func acmeProvider(t *testing.T, dir string, pebble *testCA) *Provider {
	t.Helper()
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("provider log:\n%s", logs)
		}
	})
	p, err := New(Options{
		Mode:      ModeACME,
		Hostnames: []string{acmeHost, "imap.sealpost.test"},
		Dir:       dir,
		ACME: ACMEOptions{
			DirectoryURL: pebble.directoryURL,
			Email:        "postmaster@sealpost.test",
			RootCAs:      pebble.apiRoots,
		},
	}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkIssued asserts that c was served a certificate for acmeHost issued
// by the test CA's intermediate and chaining to its root.
func checkIssued(t *testing.T, pebble *testCA, c *tls.Conn) *x509.Certificate {
	t.Helper()
	st := c.ConnectionState()
	leaf := st.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != acmeHost {
		t.Errorf("leaf names %q, want [%s]", leaf.DNSNames, acmeHost)
	}
	if err := leaf.CheckSignatureFrom(pebble.intermediate); err != nil {
		t.Errorf("leaf not signed by Pebble's intermediate %q: %v", pebble.intermediate.Subject, err)
	}
	if !bytes.Equal(leaf.RawIssuer, pebble.intermediate.RawSubject) {
		t.Errorf("leaf issuer %q, want %q", leaf.Issuer, pebble.intermediate.Subject)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		DNSName:       acmeHost,
		Roots:         poolOf(pebble.root),
		Intermediates: poolOf(st.PeerCertificates[1:]...),
	})
	if err != nil {
		t.Fatalf("served chain does not verify to Pebble's root: %v", err)
	}
	if top := chains[0][len(chains[0])-1]; !top.Equal(pebble.root) {
		t.Errorf("chain ends at %q, want Pebble's root", top.Subject)
	}
	return leaf
}

// TestACMETLSALPN obtains a certificate from Pebble through the first
// handshake to our listener, with domain control proven by TLS-ALPN-01 on
// that same listener (RFC 8737).
func TestACMETLSALPN(t *testing.T) {
	dnsAddr, queries := startDNS(t, acmeHost)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	pebble := startPebble(t, dnsAddr, closedPort(t), port)
	dir := t.TempDir()
	p := acmeProvider(t, dir, pebble)

	// The listener speaks its own protocols; the challenge must be
	// answered all the same.
	cfg := p.Config()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	var challenges atomic.Int32
	serveEchoOn(t, tls.NewListener(ln, cfg), func(st tls.ConnectionState) {
		if st.NegotiatedProtocol == acme.ALPNProto {
			challenges.Add(1)
		}
	})
	addr := ln.Addr().String()

	start := time.Now()
	c, err := dialTLS(t, addr, &tls.Config{ServerName: acmeHost, RootCAs: poolOf(pebble.root)})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	t.Logf("certificate obtained in %v", time.Since(start).Round(time.Millisecond))
	leaf := checkIssued(t, pebble, c)
	echo(t, c, "over an ACME certificate")
	if challenges.Load() == 0 {
		t.Error("no acme-tls/1 handshake reached the listener")
	}
	if queries.Load() == 0 {
		t.Error("Pebble never asked the test DNS server")
	}

	// Clients with no or an unknown server name get the primary name's
	// certificate instead of a failed handshake.
	for _, name := range []string{"", "unknown.sealpost.test"} {
		c, err := dialTLS(t, addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("handshake with server name %q: %v", name, err)
		}
		if got := c.ConnectionState().PeerCertificates[0]; !got.Equal(leaf) {
			t.Errorf("server name %q got %q serial %s, want the primary certificate", name, got.DNSNames, got.SerialNumber)
		}
	}

	// The certificate is cached on disk; a restarted server serves it
	// without asking the CA (its directory now points nowhere).
	if _, err := os.Stat(filepath.Join(dir, acmeCacheName, acmeHost)); err != nil {
		t.Fatalf("certificate not cached: %v", err)
	}
	restarted, err := New(Options{
		Mode: ModeACME, Hostnames: []string{acmeHost}, Dir: dir,
		ACME: ACMEOptions{DirectoryURL: "https://127.0.0.1:1/dir", RootCAs: pebble.apiRoots},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The client offers an ALPN protocol the listener does not list: with
	// no NextProtos of its own the listener ignores ALPN, as in the other
	// modes, rather than refusing the client.
	c2, err := dialTLS(t, serveEcho(t, restarted.Config()),
		&tls.Config{ServerName: acmeHost, RootCAs: poolOf(pebble.root), NextProtos: []string{"imap"}})
	if err != nil {
		t.Fatalf("handshake after restart: %v", err)
	}
	st := c2.ConnectionState()
	if got := st.PeerCertificates[0]; !got.Equal(leaf) {
		t.Errorf("restart served serial %s, want cached %s", got.SerialNumber, leaf.SerialNumber)
	}
	if st.NegotiatedProtocol != "" {
		t.Errorf("negotiated ALPN %q, want none", st.NegotiatedProtocol)
	}
}

// TestACMEHTTP01 proves domain control over plain HTTP (RFC 8555 section
// 8.3) through HTTPHandler. TLS-ALPN-01 is tried first and fails, as
// Pebble is pointed at a closed port for it.
func TestACMEHTTP01(t *testing.T) {
	dnsAddr, _ := startDNS(t, acmeHost)
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pebble := startPebble(t, dnsAddr, httpLn.Addr().(*net.TCPAddr).Port, closedPort(t))
	p := acmeProvider(t, t.TempDir(), pebble)

	var answered atomic.Int32
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "fallback")
	})
	inner := p.HTTPHandler(fallback)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			inner.ServeHTTP(rec, r)
			if strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") && rec.status == http.StatusOK {
				answered.Add(1)
			}
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(httpLn)
	t.Cleanup(func() { srv.Close() })

	tlsAddr := serveEcho(t, p.Config())
	c, err := dialTLS(t, tlsAddr, &tls.Config{ServerName: acmeHost, RootCAs: poolOf(pebble.root)})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	checkIssued(t, pebble, c)
	if answered.Load() == 0 {
		t.Error("no HTTP-01 challenge was answered")
	}

	resp, err := http.Get("http://" + httpLn.Addr().String() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "fallback" {
		t.Errorf("non-challenge request answered %q, want the fallback", body)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// TestACMEOnDemand: a name OnDemand accepts gets a certificate of its own
// at its first handshake; one it refuses gets the primary certificate and
// is never asked of the CA.
func TestACMEOnDemand(t *testing.T) {
	const added, refused = "mta-sts.added.test", "mta-sts.other.test"
	dnsAddr, _ := startDNS(t, acmeHost, added, refused)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pebble := startPebble(t, dnsAddr, closedPort(t), ln.Addr().(*net.TCPAddr).Port)
	var asked sync.Map
	p, err := New(Options{
		Mode: ModeACME, Hostnames: []string{acmeHost}, Dir: t.TempDir(),
		ACME: ACMEOptions{DirectoryURL: pebble.directoryURL, RootCAs: pebble.apiRoots},
		OnDemand: func(_ context.Context, name string) bool {
			asked.Store(name, true)
			return name == added
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	serveEchoOn(t, tls.NewListener(ln, p.Config()), func(tls.ConnectionState) {})
	addr := ln.Addr().String()

	c, err := dialTLS(t, addr, &tls.Config{ServerName: "MTA-STS.Added.Test.", RootCAs: poolOf(pebble.root)})
	if err != nil {
		t.Fatalf("handshake for the on-demand name: %v", err)
	}
	if leaf := c.ConnectionState().PeerCertificates[0]; !slices.Equal(leaf.DNSNames, []string{added}) {
		t.Errorf("on-demand name got a certificate for %q", leaf.DNSNames)
	}
	c, err = dialTLS(t, addr, &tls.Config{ServerName: refused, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake for a refused name: %v", err)
	}
	if leaf := c.ConnectionState().PeerCertificates[0]; !slices.Equal(leaf.DNSNames, []string{acmeHost}) {
		t.Errorf("refused name got a certificate for %q, want the primary", leaf.DNSNames)
	}
	for _, name := range []string{added, refused} {
		if _, ok := asked.Load(name); !ok {
			t.Errorf("OnDemand was not asked about %s", name)
		}
	}
}
