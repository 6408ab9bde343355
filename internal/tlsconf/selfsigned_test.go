package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// readKept parses the self-signed certificate kept in dir.
func readKept(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, selfSignedCertName), filepath.Join(dir, selfSignedKeyName))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := leafOf(&c)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestSelfSignedGenerated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	names := []string{"mail.sealpost.test", "localhost", "127.0.0.1", "::1"}
	p, err := New(Options{Mode: ModeSelfSigned, Dir: dir, Hostnames: names}, nil)
	if err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(filepath.Join(dir, selfSignedKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	leaf := readKept(t, dir)
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if got, want := leaf.DNSNames, []string{"mail.sealpost.test", "localhost"}; !slices.Equal(got, want) {
		t.Errorf("DNS SANs %q, want %q", got, want)
	}
	if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !leaf.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IP SANs %v, want [127.0.0.1 ::1]", leaf.IPAddresses)
	}
	if leaf.Subject.CommonName != "mail.sealpost.test" {
		t.Errorf("common name %q, want the primary name", leaf.Subject.CommonName)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life < 364*24*time.Hour || life > 367*24*time.Hour {
		t.Errorf("validity %v, want about one year", life)
	}
	if leaf.IsCA || !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("IsCA=%v ExtKeyUsage=%v, want a server leaf", leaf.IsCA, leaf.ExtKeyUsage)
	}

	// Every name, DNS or IP, verifies over a real handshake.
	addr := serveEcho(t, p.Config())
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c, err := dialTLS(t, addr, &tls.Config{ServerName: name, RootCAs: poolOf(leaf)})
			if err != nil {
				t.Fatalf("handshake for %s: %v", name, err)
			}
			echo(t, c, name)
		})
	}
}

func TestSelfSignedKept(t *testing.T) {
	names := []string{"mail.sealpost.test"}
	now := time.Now()
	tests := []struct {
		name string
		// prepare sets up dir as a previous run would have left it.
		prepare  func(t *testing.T, dir string)
		hosts    []string
		wantKept bool
	}{
		{
			name:     "valid and covering is reused",
			prepare:  func(t *testing.T, dir string) { keep(t, dir, names, now) },
			hosts:    names,
			wantKept: true,
		},
		{
			name: "subset of the names is reused",
			prepare: func(t *testing.T, dir string) {
				keep(t, dir, []string{"mail.sealpost.test", "imap.sealpost.test"}, now)
			},
			hosts:    names,
			wantKept: true,
		},
		{
			name:    "new name regenerates",
			prepare: func(t *testing.T, dir string) { keep(t, dir, names, now) },
			hosts:   []string{"mail.sealpost.test", "imap.sealpost.test"},
		},
		{
			name:    "expired regenerates",
			prepare: func(t *testing.T, dir string) { keep(t, dir, names, now.Add(-400*24*time.Hour)) },
			hosts:   names,
		},
		{
			name:    "expiring within the renewal window regenerates",
			prepare: func(t *testing.T, dir string) { keep(t, dir, names, now.Add(-350*24*time.Hour)) },
			hosts:   names,
		},
		{
			name:    "not yet valid regenerates",
			prepare: func(t *testing.T, dir string) { keep(t, dir, names, now.Add(48*time.Hour)) },
			hosts:   names,
		},
		{
			name: "corrupt key regenerates",
			prepare: func(t *testing.T, dir string) {
				keep(t, dir, names, now)
				if err := os.WriteFile(filepath.Join(dir, selfSignedKeyName), []byte("junk"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			hosts: names,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.prepare(t, dir)
			before, _ := os.ReadFile(filepath.Join(dir, selfSignedCertName))

			if _, err := New(Options{Mode: ModeSelfSigned, Dir: dir, Hostnames: tt.hosts}, nil); err != nil {
				t.Fatal(err)
			}
			after, err := os.ReadFile(filepath.Join(dir, selfSignedCertName))
			if err != nil {
				t.Fatal(err)
			}
			if kept := string(before) == string(after); kept != tt.wantKept {
				t.Fatalf("certificate kept = %v, want %v", kept, tt.wantKept)
			}
			leaf := readKept(t, dir)
			if err := usableSelfSigned(leaf, tt.hosts, time.Now()); err != nil {
				t.Errorf("certificate in place is not usable: %v", err)
			}
		})
	}
}

// keep writes a self-signed pair for names, generated as if at time at.
func keep(t *testing.T, dir string, names []string, at time.Time) {
	t.Helper()
	certPEM, keyPEM, err := generateSelfSigned(names, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKeyPair(dir, certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
}

// TestSelfSignedRestart checks that a second start serves the same
// certificate, so clients that pinned it keep working.
func TestSelfSignedRestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Mode: ModeSelfSigned, Dir: dir, Hostnames: []string{"mail.sealpost.test"}}
	var serials []string
	for range 2 {
		p, err := New(opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.getCertificate(&tls.ClientHelloInfo{ServerName: "mail.sealpost.test"})
		if err != nil {
			t.Fatal(err)
		}
		serials = append(serials, c.Leaf.SerialNumber.String())
	}
	if serials[0] != serials[1] {
		t.Errorf("serials %v differ across restarts", serials)
	}
}
