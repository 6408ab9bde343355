package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"sealpost.dev/sealpost/internal/atomicfile"
)

// File names of the self-signed certificate inside Options.Dir.
const (
	selfSignedCertName = "selfsigned-cert.pem"
	selfSignedKeyName  = "selfsigned-key.pem"
)

const (
	selfSignedValidity = 365 * 24 * time.Hour
	// selfSignedRenewBefore is how close to expiry a kept certificate is
	// replaced at start or Reload, so a running server is not caught out.
	selfSignedRenewBefore = 30 * 24 * time.Hour
)

func (p *Provider) initSelfSigned() error {
	if len(p.opts.Hostnames) == 0 {
		return errors.New("tlsconf: self-signed mode needs at least one hostname")
	}
	if p.opts.Dir == "" {
		return errors.New("tlsconf: self-signed mode needs a directory")
	}
	return p.loadSelfSigned()
}

// loadSelfSigned serves the kept certificate if it is still good for the
// configured names, and generates and keeps a new one otherwise.
func (p *Provider) loadSelfSigned() error {
	certPath := filepath.Join(p.opts.Dir, selfSignedCertName)
	keyPath := filepath.Join(p.opts.Dir, selfSignedKeyName)
	now := time.Now()

	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		var leaf *x509.Certificate
		leaf, err = leafOf(&c)
		if err == nil {
			err = usableSelfSigned(leaf, p.opts.Hostnames, now)
		}
		if err == nil {
			p.cert.Store(&c)
			p.log.Info("self-signed certificate reused", "file", certPath, "not_after", leaf.NotAfter)
			return nil
		}
	}
	if !errors.Is(err, os.ErrNotExist) {
		p.log.Info("self-signed certificate replaced", "file", certPath, "reason", err)
	}

	certPEM, keyPEM, err := generateSelfSigned(p.opts.Hostnames, now)
	if err != nil {
		return err
	}
	c, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("tlsconf: generated key pair: %w", err)
	}
	if err := writeKeyPair(p.opts.Dir, certPEM, keyPEM); err != nil {
		return err
	}
	p.cert.Store(&c)
	p.log.Info("self-signed certificate generated", "file", certPath, "names", p.opts.Hostnames)
	return nil
}

// usableSelfSigned says why a kept certificate cannot be reused, or nil.
func usableSelfSigned(leaf *x509.Certificate, hostnames []string, now time.Time) error {
	if now.Before(leaf.NotBefore) {
		return errors.New("not yet valid")
	}
	if now.Add(selfSignedRenewBefore).After(leaf.NotAfter) {
		return fmt.Errorf("expires %s", leaf.NotAfter.Format(time.RFC3339))
	}
	for _, h := range hostnames {
		if err := leaf.VerifyHostname(h); err != nil {
			return fmt.Errorf("does not cover %s", h)
		}
	}
	return nil
}

// generateSelfSigned makes a P-256 certificate, valid from an hour before
// now (for clock skew) for one year, naming hostnames as SANs; the first is
// also the subject common name for clients that still show it.
func generateSelfSigned(hostnames []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: generating serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostnames[0], Organization: []string{"Sealpost self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hostnames {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsconf: encoding key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// writeKeyPair stores the pair in dir. The key is written first and each
// file is renamed into place, so a crash leaves either the old pair, or a
// new key beside the old certificate, which fails to load as a pair and
// is regenerated at the next start.
func writeKeyPair(dir string, certPEM, keyPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tlsconf: creating %s: %w", dir, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, selfSignedKeyName), keyPEM, 0o600); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, selfSignedCertName), certPEM, 0o644); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	return nil
}
