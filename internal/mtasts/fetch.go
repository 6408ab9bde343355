package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// DefaultFetchTimeout bounds a policy fetch when Fetcher.Timeout is zero:
// the value RFC 8461 section 3.3 recommends.
const DefaultFetchTimeout = 60 * time.Second

// wellKnownPath is where the policy lives (RFC 8461 section 3.2).
const wellKnownPath = "/.well-known/mta-sts.txt"

// Fetcher fetches policies from https://mta-sts.<domain>/.well-known/mta-sts.txt
// (RFC 8461 section 3.3). It is safe for concurrent use once set up.
type Fetcher struct {
	// Resolver resolves the policy host's addresses. Required: the system
	// resolver is never used.
	Resolver dnsx.Resolver
	// RootCAs are the trust anchors for the policy host's certificate; nil
	// means the system's roots.
	RootCAs *x509.CertPool
	// Timeout bounds a whole fetch; 0 means DefaultFetchTimeout.
	Timeout time.Duration
	// MaxSize bounds the policy body; 0 (or more than MaxPolicySize) means
	// MaxPolicySize.
	MaxSize int64
	// Port, when not 0, replaces port 443 for the connection. It is a test
	// setting, so that tests can serve policies from a loopback server on a
	// random port; RFC 8461 allows no other port than 443. The URL, the
	// Host header and the name checked in the certificate stay the same.
	Port int
}

// Fetch fetches and parses the policy of domain. Errors wrap
// ErrInvalidPolicy when a policy was received but does not parse; a
// certificate that fails validation gives an error for which errors.As
// finds a *tls.CertificateVerificationError.
func (f *Fetcher) Fetch(ctx context.Context, domain string) (Policy, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return Policy{}, err
	}
	if f.Resolver == nil {
		return Policy{}, errors.New("mtasts: Fetcher has no Resolver")
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	body, err := f.get(ctx, "https://mta-sts."+d+wellKnownPath)
	if err != nil {
		return Policy{}, fmt.Errorf("mtasts: fetching policy of %s: %w", d, err)
	}
	p, err := ParsePolicy(body)
	if err != nil {
		return Policy{}, fmt.Errorf("mtasts: policy of %s: %w", d, err)
	}
	return p, nil
}

// get performs the GET with the section 3.3 rules and returns the body.
func (f *Fetcher) get(ctx context.Context, url string) ([]byte, error) {
	tr := &http.Transport{
		Proxy:                  nil, // never an environment proxy
		DialContext:            f.dial,
		TLSClientConfig:        &tls.Config{RootCAs: f.RootCAs, MinVersion: tls.VersionTLS12},
		DisableKeepAlives:      true, // fetches are rare; nothing to reuse
		MaxResponseHeaderBytes: 16 << 10,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// RFC 8461 section 3.3: redirects MUST NOT be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "Sealpost")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// A 3xx lands here too, since redirects are not followed.
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("media type %q, want text/plain", resp.Header.Get("Content-Type"))
	}
	limit := f.MaxSize
	if limit <= 0 || limit > MaxPolicySize {
		limit = MaxPolicySize
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("body larger than %d bytes", limit)
	}
	return body, nil
}

// dial connects through f.Resolver (never the system's), to f.Port when
// it is set.
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if f.Port != 0 {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		addr = net.JoinHostPort(host, strconv.Itoa(f.Port))
	}
	return dnsx.Dial(ctx, f.Resolver, &net.Dialer{}, network, addr)
}
