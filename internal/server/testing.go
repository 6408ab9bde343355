package server

import (
	"crypto/x509"
	"fmt"
	"os"

	"sealpost.dev/sealpost/internal/config"
)

// testOverrides are the [testing] settings as outbound delivery takes them.
// Zero values leave the standard behaviour: port 25, port 443, the
// system's roots.
type testOverrides struct {
	smtpPort, mtastsPort int
	roots                *x509.CertPool
}

// testingOverrides reads the [testing] table. Config validation accepts
// its keys only with testing.enabled, and every start with it set is
// logged as a warning, so a production server cannot carry them unnoticed.
func (s *Server) testingOverrides() (testOverrides, error) {
	t := s.cfg.Testing
	if !t.Enabled {
		return testOverrides{}, nil
	}
	s.log.Warn("TESTING SETTINGS ARE ON: outbound delivery uses test ports and extra trusted roots; never run a real server with testing.enabled",
		"smtp_port", t.SMTPPort, "mtasts_port", t.MTASTSPort, "ca_file", t.CAFile)
	o := testOverrides{smtpPort: t.SMTPPort, mtastsPort: t.MTASTSPort}
	if t.CAFile != "" {
		roots, err := extraRoots(t)
		if err != nil {
			return testOverrides{}, err
		}
		o.roots = roots
	}
	return o, nil
}

// extraRoots returns the system's roots plus those of testing.ca_file.
func extraRoots(t config.Testing) (*x509.CertPool, error) {
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, fmt.Errorf("testing.ca_file: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("testing.ca_file: no PEM certificate in %s", t.CAFile)
	}
	return roots, nil
}
