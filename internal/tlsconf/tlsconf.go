package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
)

// Certificate sources accepted in Options.Mode.
const (
	ModeFiles      = "files"
	ModeSelfSigned = "self-signed"
	ModeACME       = "acme"
)

// Options says where certificates come from and which TLS versions are
// accepted.
type Options struct {
	// Mode is ModeFiles, ModeSelfSigned or ModeACME.
	Mode string

	// CertFile and KeyFile are PEM files (certificate chain, leaf first,
	// and private key) used in files mode.
	CertFile, KeyFile string

	// Hostnames are the names the certificate must cover; the first is the
	// primary name, served to clients that send no or an unknown server
	// name. Required in self-signed and acme modes. In self-signed mode IP
	// address literals are allowed and become IP SANs.
	Hostnames []string

	// Dir holds the self-signed certificate and the ACME cache. It is
	// created with mode 0700 if missing.
	Dir string

	// ACME configures acme mode.
	ACME ACMEOptions

	// OnDemand, in acme mode, allows names beyond Hostnames: a name for
	// which it returns true gets a certificate of its own at the first
	// handshake that asks for it (Sealpost: the MTA-STS policy and
	// autoconfig hosts of domains added while the server runs). It is
	// called during handshakes with the normalised name, so it must be
	// quick. Nil allows no other name.
	OnDemand func(ctx context.Context, name string) bool

	// MinVersion is tls.VersionTLS12 (the default when zero) or
	// tls.VersionTLS13.
	MinVersion uint16
}

// ACMEOptions configures certificate issuance through ACME (RFC 8555).
type ACMEOptions struct {
	// DirectoryURL is the ACME server's directory; empty means Let's
	// Encrypt production.
	DirectoryURL string

	// Email is the account contact, used by the CA for expiry notices.
	Email string

	// RootCAs is the trust for the ACME server's own HTTPS endpoint; nil
	// means the system roots.
	RootCAs *x509.CertPool
}

// Provider serves certificates under the Sealpost TLS policy. Its methods
// are safe for concurrent use.
type Provider struct {
	opts Options
	log  *slog.Logger

	// cert is the certificate served in files and self-signed modes.
	cert atomic.Pointer[tls.Certificate]
	// reloadMu serialises Reload so two SIGHUPs cannot interleave.
	reloadMu sync.Mutex

	// mgr obtains certificates in acme mode; nil otherwise.
	mgr *autocert.Manager

	base *tls.Config
}

// New validates opts, loads or creates the certificate (files and
// self-signed modes) or prepares the ACME manager (acme mode). A nil log
// discards log output.
func New(opts Options, log *slog.Logger) (*Provider, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.MinVersion == 0 {
		opts.MinVersion = tls.VersionTLS12
	}
	if opts.MinVersion != tls.VersionTLS12 && opts.MinVersion != tls.VersionTLS13 {
		return nil, fmt.Errorf("tlsconf: minimum version %#04x not allowed: use TLS 1.2 or TLS 1.3", opts.MinVersion)
	}
	hosts, err := cleanHostnames(opts.Hostnames)
	if err != nil {
		return nil, err
	}
	opts.Hostnames = hosts

	p := &Provider{opts: opts, log: log.With("component", "tls", "mode", opts.Mode)}
	switch opts.Mode {
	case ModeFiles:
		err = p.initFiles()
	case ModeSelfSigned:
		err = p.initSelfSigned()
	case ModeACME:
		err = p.initACME()
	default:
		err = fmt.Errorf("tlsconf: unknown mode %q (want %q, %q or %q)", opts.Mode, ModeFiles, ModeSelfSigned, ModeACME)
	}
	if err != nil {
		return nil, err
	}
	p.base = p.newConfig()
	return p, nil
}

// cleanHostnames brings the names to the form certificates and server
// names use (lower-case A-labels, no trailing dot) and rejects empty or
// duplicate entries, so comparisons later are plain string equality.
func cleanHostnames(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		c := strings.TrimSuffix(strings.TrimSpace(n), ".")
		if c == "" {
			return nil, fmt.Errorf("tlsconf: empty hostname in %q", names)
		}
		if net.ParseIP(c) == nil {
			a, err := idna.Lookup.ToASCII(c)
			if err != nil {
				return nil, fmt.Errorf("tlsconf: hostname %q: %w", n, err)
			}
			c = a
		}
		if seen[c] {
			return nil, fmt.Errorf("tlsconf: hostname %q listed twice", c)
		}
		seen[c] = true
		out = append(out, c)
	}
	return out, nil
}

// policySuites returns the TLS 1.2 suites allowed: ECDHE for forward
// secrecy, AEAD only (RFC 9325 section 4.2). TLS 1.3 suites are not
// configurable in Go and are all AEAD.
func policySuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// policyCurves returns the key exchange groups: Go's hybrid post-quantum
// group for TLS 1.3, then X25519 and P-256 only.
func policyCurves() []tls.CurveID {
	return []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}
}

func (p *Provider) newConfig() *tls.Config {
	cfg := &tls.Config{
		MinVersion:       p.opts.MinVersion,
		CipherSuites:     policySuites(),
		CurvePreferences: policyCurves(),
		GetCertificate:   p.getCertificate,
	}
	if p.mgr != nil {
		// TLS-ALPN-01 (RFC 8737 section 3) is answered on the same port
		// as normal traffic. Only the CA's validation handshake gets a
		// configuration offering "acme-tls/1"; everyone else gets the
		// listener's own NextProtos, so a mail client sending ALPN is not
		// refused for lack of overlap with a protocol it never asked for.
		challenge := cfg.Clone()
		challenge.NextProtos = []string{acme.ALPNProto}
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if isChallengeHello(hello) {
				return challenge, nil
			}
			return nil, nil
		}
	}
	return cfg
}

// Config returns a new copy of the base configuration for a listener. The
// caller may change it, NextProtos for example, but must keep
// GetCertificate and GetConfigForClient: they serve the certificate and,
// in acme mode, answer TLS-ALPN-01 validations whatever NextProtos says.
func (p *Provider) Config() *tls.Config {
	cfg := p.base.Clone()
	// Clone shares slices; copy them so one listener's edits stay its own.
	cfg.CipherSuites = slices.Clone(cfg.CipherSuites)
	cfg.CurvePreferences = slices.Clone(cfg.CurvePreferences)
	cfg.NextProtos = slices.Clone(cfg.NextProtos)
	return cfg
}

// Reload re-reads the certificate: files mode re-reads CertFile and KeyFile,
// self-signed mode regenerates the certificate if it is due. Handshakes
// started afterwards use the new certificate; open connections are not
// affected. On error the previous certificate stays in service. In acme
// mode renewal is automatic and Reload does nothing.
func (p *Provider) Reload() error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	switch p.opts.Mode {
	case ModeFiles:
		return p.loadFiles()
	case ModeSelfSigned:
		return p.loadSelfSigned()
	}
	return nil
}

// HTTPHandler returns the handler for the plain-HTTP listener on port 80.
// In acme mode it answers HTTP-01 challenges (RFC 8555 section 8.3) and
// enables that challenge type; other requests, and every request in the
// other modes, go to fallback. A nil fallback redirects GET and HEAD to
// HTTPS and refuses other methods.
func (p *Provider) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = http.HandlerFunc(redirectHTTPS)
	}
	if p.mgr != nil {
		return p.mgr.HTTPHandler(fallback)
	}
	return fallback
}

func redirectHTTPS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Use HTTPS", http.StatusBadRequest)
		return
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	target := "https://" + host + r.URL.RequestURI()
	http.Redirect(w, r, target, http.StatusFound)
}

// getCertificate is the GetCertificate hook of every config handed out.
func (p *Provider) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if p.mgr != nil {
		return p.acmeCertificate(hello)
	}
	c := p.cert.Load()
	if c == nil {
		return nil, errors.New("tlsconf: no certificate loaded")
	}
	return c, nil
}

// covers reports whether name is one of the configured host names.
func (p *Provider) covers(name string) bool {
	return slices.Contains(p.opts.Hostnames, normalName(name))
}

// allows reports whether a certificate may be had for name: one of the
// configured names, or one OnDemand accepts.
func (p *Provider) allows(ctx context.Context, name string) bool {
	if p.covers(name) {
		return true
	}
	name = normalName(name)
	return p.opts.OnDemand != nil && name != "" && p.opts.OnDemand(ctx, name)
}

// normalName is a server name in the form of Hostnames: an A-label
// without trailing dot.
func normalName(name string) string {
	name = strings.TrimSuffix(name, ".")
	if a, err := idna.Lookup.ToASCII(name); err == nil {
		name = a
	}
	return name
}
