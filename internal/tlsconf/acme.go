package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// acmeCacheName is the subdirectory of Options.Dir holding the ACME
// account key and issued certificates.
const acmeCacheName = "acme"

func (p *Provider) initACME() error {
	if len(p.opts.Hostnames) == 0 {
		return errors.New("tlsconf: acme mode needs at least one hostname")
	}
	if p.opts.Dir == "" {
		return errors.New("tlsconf: acme mode needs a directory")
	}
	for _, h := range p.opts.Hostnames {
		if net.ParseIP(h) != nil {
			return fmt.Errorf("tlsconf: acme mode cannot certify IP address %s", h)
		}
		if !strings.Contains(h, ".") {
			return fmt.Errorf("tlsconf: acme mode needs fully qualified names, not %q", h)
		}
	}
	cacheDir := filepath.Join(p.opts.Dir, acmeCacheName)
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return fmt.Errorf("tlsconf: creating ACME cache: %w", err)
	}

	dirURL := p.opts.ACME.DirectoryURL
	if dirURL == "" {
		dirURL = autocert.DefaultACMEDirectory
	}
	client := &acme.Client{DirectoryURL: dirURL, UserAgent: "sealpost"}
	if p.opts.ACME.RootCAs != nil {
		client.HTTPClient = &http.Client{
			Timeout: time.Minute,
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				TLSClientConfig:     &tls.Config{RootCAs: p.opts.ACME.RootCAs, MinVersion: tls.VersionTLS12},
				TLSHandshakeTimeout: 10 * time.Second,
			},
		}
	}

	p.mgr = &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cacheDir),
		HostPolicy: p.hostPolicy,
		Client:     client,
		Email:      p.opts.ACME.Email,
	}
	p.log.Info("ACME enabled", "directory", dirURL, "names", p.opts.Hostnames, "cache", cacheDir)
	return nil
}

// hostPolicy allows issuance only for the configured names and those
// OnDemand accepts. The HTTP-01
// handler passes the request's Host header, which may carry a port
// (RFC 9110 section 7.2), so one is stripped first.
func (p *Provider) hostPolicy(ctx context.Context, host string) error {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !p.allows(ctx, host) {
		return fmt.Errorf("tlsconf: %q is not a configured hostname", host)
	}
	return nil
}

// acmeCertificate asks the manager for the certificate of the requested
// name. A client that sends no server name, or one neither in Hostnames nor
// accepted by OnDemand, gets the primary name's certificate instead of a
// failed handshake. Challenge
// handshakes from the CA are passed through untouched.
func (p *Provider) acmeCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if !isChallengeHello(hello) && !p.allows(hello.Context(), hello.ServerName) {
		h := *hello
		h.ServerName = p.opts.Hostnames[0]
		hello = &h
	}
	c, err := p.mgr.GetCertificate(hello)
	if err != nil {
		p.log.Warn("no certificate for handshake", "server_name", hello.ServerName, "err", err)
		return nil, fmt.Errorf("tlsconf: %w", err)
	}
	return c, nil
}

// isChallengeHello reports whether the handshake is a TLS-ALPN-01
// validation, which offers exactly "acme-tls/1" (RFC 8737 section 3).
func isChallengeHello(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}
