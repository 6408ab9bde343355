package reports

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// Defaults of the HTTPS POST of TLS reports (RFC 8460 section 3).
const (
	// DefaultPostTimeout bounds one POST, from resolving the host to
	// reading the answer.
	DefaultPostTimeout = time.Minute
	// DefaultMaxPostSize is the largest compressed report POSTed; larger
	// ones go to mailto destinations only.
	DefaultMaxPostSize = 10 << 20
	// maxPostAnswer is what is read of the answer's body, and thrown away,
	// so that a hostile endpoint cannot make us read without end.
	maxPostAnswer = 64 << 10
)

// errPostTemporary marks a POST that may succeed later: the connection
// failed, or the endpoint answered 5xx or 429.
var errPostTemporary = errors.New("reports: HTTPS report destination unavailable")

// httpsURL returns the URL of an https URI, or nil.
func httpsURL(uri string) *url.URL {
	u, err := url.Parse(uri)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil {
		return nil
	}
	return u
}

// post sends a gzipped TLS report to an https destination (RFC 8460
// section 3): a POST with Content-Type application/tlsrpt+gzip, the host
// resolved through the Scheduler's Resolver, its certificate verified
// against RootCAs, redirects not followed, bounded by PostTimeout. Any 2xx
// answer is success.
func (s *Scheduler) post(ctx context.Context, u *url.URL, gz []byte) error {
	timeout := s.PostTimeout
	if timeout <= 0 {
		timeout = DefaultPostTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:                  nil, // never an environment proxy
		DialContext:            s.dial,
		TLSClientConfig:        &tls.Config{RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12},
		DisableKeepAlives:      true, // one POST per destination and day
		MaxResponseHeaderBytes: 16 << 10,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(gz))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/tlsrpt+gzip")
	req.Header.Set("User-Agent", "Sealpost")
	resp, err := client.Do(req)
	if err != nil {
		var verify *tls.CertificateVerificationError
		if errors.As(err, &verify) || errors.Is(err, dnsx.ErrNotFound) || errors.Is(err, dnsx.ErrNoAddress) || errors.Is(err, errNotPublic) {
			return err // not worth retrying until the endpoint changes
		}
		return fmt.Errorf("%w: %v", errPostTemporary, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPostAnswer))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 5 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("%w: HTTP status %s", errPostTemporary, resp.Status)
	}
	return fmt.Errorf("HTTP status %s", resp.Status)
}

// dial connects through the Scheduler's Resolver (never the system's), to
// public addresses only unless AllowPrivate.
func (s *Scheduler) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	if !s.AllowPrivate {
		d.Control = publicOnly
	}
	return dnsx.Dial(ctx, s.Resolver, d, network, addr)
}

// errNotPublic refuses a destination on an address that is not public.
var errNotPublic = errors.New("reports: not a public address")

// sharedSpace is the carrier-grade NAT range (RFC 6598), private in all
// but name.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// publicOnly is a net.Dialer Control that refuses, before connecting,
// addresses that are not on the public internet.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		ip.IsMulticast() || sharedSpace.Contains(ip) || ip.Is4() && ip.As4()[0] == 0 {
		return fmt.Errorf("%w: %s", errNotPublic, ip)
	}
	return nil
}
