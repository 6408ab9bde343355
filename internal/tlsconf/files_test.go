package tlsconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
)

// TestReload checks the SIGHUP path: a connection open before Reload keeps
// working on the old certificate, new handshakes get the new one, and a
// failed reload leaves the last good certificate in service.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	oldKP := makeKeyPair(t, "ecdsa", "old", "mail.sealpost.test")
	newKP := makeKeyPair(t, "rsa", "new", "mail.sealpost.test")
	certFile, keyFile := writePair(t, dir, oldKP)

	p, err := New(Options{Mode: ModeFiles, CertFile: certFile, KeyFile: keyFile,
		Hostnames: []string{"mail.sealpost.test"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serveEcho(t, p.Config())
	client := &tls.Config{ServerName: "mail.sealpost.test", RootCAs: poolOf(oldKP.leaf, newKP.leaf)}
	served := func(c *tls.Conn) string { return c.ConnectionState().PeerCertificates[0].Subject.CommonName }

	before, err := dialTLS(t, addr, client)
	if err != nil {
		t.Fatal(err)
	}
	echo(t, before, "before reload")
	if got := served(before); got != "old" {
		t.Fatalf("first connection got %q, want old", got)
	}

	writePair(t, dir, newKP)
	if err := p.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	after, err := dialTLS(t, addr, client)
	if err != nil {
		t.Fatal(err)
	}
	if got := served(after); got != "new" {
		t.Errorf("connection after reload got %q, want new", got)
	}
	echo(t, after, "after reload")
	echo(t, before, "old connection still alive")

	bad := []struct {
		name       string
		cert, key  []byte
		removeCert bool
	}{
		{name: "garbage certificate", cert: []byte("not a certificate\n"), key: newKP.keyPEM},
		{name: "key of another certificate", cert: newKP.certPEM, key: oldKP.keyPEM},
		{name: "certificate file missing", removeCert: true},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if b.removeCert {
				if err := os.Remove(certFile); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.WriteFile(certFile, b.cert, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(keyFile, b.key, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Reload(); err == nil {
				t.Fatal("Reload succeeded, want error")
			}
			c, err := dialTLS(t, addr, client)
			if err != nil {
				t.Fatal(err)
			}
			if got := served(c); got != "new" {
				t.Errorf("after failed reload got %q, want the last good (new)", got)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	kp := makeKeyPair(t, "ecdsa", "a", "a.sealpost.test")
	certFile, keyFile := writePair(t, dir, kp)
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name string
		opts Options
	}{
		{"unknown mode", Options{Mode: "manual"}},
		{"empty mode", Options{}},
		{"TLS 1.1 minimum", Options{Mode: ModeFiles, CertFile: certFile, KeyFile: keyFile, MinVersion: tls.VersionTLS11}},
		{"files without key", Options{Mode: ModeFiles, CertFile: certFile}},
		{"files with missing cert", Options{Mode: ModeFiles, CertFile: missing, KeyFile: keyFile}},
		{"files with cert as key", Options{Mode: ModeFiles, CertFile: certFile, KeyFile: certFile}},
		{"empty hostname", Options{Mode: ModeSelfSigned, Dir: dir, Hostnames: []string{"a.sealpost.test", " "}}},
		{"duplicate hostname", Options{Mode: ModeSelfSigned, Dir: dir, Hostnames: []string{"a.sealpost.test", "A.sealpost.test."}}},
		{"self-signed without hostnames", Options{Mode: ModeSelfSigned, Dir: dir}},
		{"self-signed without dir", Options{Mode: ModeSelfSigned, Hostnames: []string{"a.sealpost.test"}}},
		{"acme without hostnames", Options{Mode: ModeACME, Dir: dir}},
		{"acme without dir", Options{Mode: ModeACME, Hostnames: []string{"a.sealpost.test"}}},
		{"acme for an IP", Options{Mode: ModeACME, Dir: dir, Hostnames: []string{"192.0.2.1"}}},
		{"acme for a single label", Options{Mode: ModeACME, Dir: dir, Hostnames: []string{"localhost"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.opts, nil)
			if err == nil {
				t.Fatalf("New succeeded (%+v), want error", p.opts)
			}
		})
	}
}
