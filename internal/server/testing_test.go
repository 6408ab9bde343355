package server

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

func TestTestingOverrides(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	ca := tlstest.NewCA(t, "Sealpost test CA").Cert
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(notPEM, []byte("nothing here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		testing   config.Testing
		wantErr   string
		wantWarn  bool
		wantPorts [2]int
		wantRoots bool
	}{
		{name: "off", testing: config.Testing{}},
		{name: "ports", testing: config.Testing{Enabled: true, SMTPPort: 2525, MTASTSPort: 8443},
			wantWarn: true, wantPorts: [2]int{2525, 8443}},
		{name: "roots", testing: config.Testing{Enabled: true, CAFile: caFile}, wantWarn: true, wantRoots: true},
		{name: "missing file", testing: config.Testing{Enabled: true, CAFile: filepath.Join(dir, "none.pem")},
			wantWarn: true, wantErr: "testing.ca_file"},
		{name: "no certificate", testing: config.Testing{Enabled: true, CAFile: notPEM},
			wantWarn: true, wantErr: "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := config.Default()
			cfg.Testing = tc.testing
			s := &Server{cfg: cfg, log: slog.New(slog.NewTextHandler(&logs, nil))}
			o, err := s.testingOverrides()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(logs.String(), "TESTING SETTINGS ARE ON"); got != tc.wantWarn {
				t.Errorf("warning logged = %v, want %v: %s", got, tc.wantWarn, logs.String())
			}
			if got := [2]int{o.smtpPort, o.mtastsPort}; got != tc.wantPorts {
				t.Errorf("ports = %v, want %v", got, tc.wantPorts)
			}
			if tc.wantRoots {
				if _, err := ca.Verify(x509.VerifyOptions{Roots: o.roots}); err != nil {
					t.Errorf("the CA from testing.ca_file is not trusted: %v", err)
				}
			} else if o.roots != nil {
				t.Errorf("roots set without testing.ca_file")
			}
		})
	}
}
