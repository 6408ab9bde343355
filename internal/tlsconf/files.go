package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

func (p *Provider) initFiles() error {
	if p.opts.CertFile == "" || p.opts.KeyFile == "" {
		return errors.New("tlsconf: files mode needs both a certificate file and a key file")
	}
	return p.loadFiles()
}

// loadFiles reads the key pair and, only if it parses, makes it the served
// certificate.
func (p *Provider) loadFiles() error {
	c, err := tls.LoadX509KeyPair(p.opts.CertFile, p.opts.KeyFile)
	if err != nil {
		return fmt.Errorf("tlsconf: loading %s and %s: %w", p.opts.CertFile, p.opts.KeyFile, err)
	}
	leaf, err := leafOf(&c)
	if err != nil {
		return fmt.Errorf("tlsconf: %s: %w", p.opts.CertFile, err)
	}
	p.checkLeaf(leaf, time.Now())
	p.cert.Store(&c)
	p.log.Info("certificate loaded", "file", p.opts.CertFile, "subject", leaf.Subject.String(),
		"names", leaf.DNSNames, "not_after", leaf.NotAfter)
	return nil
}

// leafOf returns the parsed leaf of c, parsing it if the loader did not.
func leafOf(c *tls.Certificate) (*x509.Certificate, error) {
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	if len(c.Certificate) == 0 {
		return nil, errors.New("no certificate in chain")
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parsing leaf certificate: %w", err)
	}
	c.Leaf = leaf
	return leaf, nil
}

// checkLeaf warns about an operator's certificate that is expired or does
// not cover the configured names. It is a warning, not an error: a
// slightly wrong certificate still beats no TLS for opportunistic STARTTLS,
// and the operator may be mid-way through replacing it.
func (p *Provider) checkLeaf(leaf *x509.Certificate, now time.Time) {
	if now.After(leaf.NotAfter) {
		p.log.Warn("certificate has expired", "file", p.opts.CertFile, "not_after", leaf.NotAfter)
	} else if now.Before(leaf.NotBefore) {
		p.log.Warn("certificate is not yet valid", "file", p.opts.CertFile, "not_before", leaf.NotBefore)
	}
	for _, h := range p.opts.Hostnames {
		if err := leaf.VerifyHostname(h); err != nil {
			p.log.Warn("certificate does not cover hostname", "file", p.opts.CertFile, "hostname", h)
		}
	}
}
