package tlstest

import (
	"crypto/x509"
	"testing"
)

func TestIssued(t *testing.T) {
	ca := NewCA(t, "Test CA")
	cert := ca.Issue(t, "mx.example.net", "127.0.0.1")
	opts := x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, name := range []string{"mx.example.net", "127.0.0.1"} {
		opts.DNSName = name
		if _, err := cert.Leaf.Verify(opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	opts.DNSName = "other.example.net"
	if _, err := cert.Leaf.Verify(opts); err == nil {
		t.Error("the certificate verified for a name it does not have")
	}
	opts.DNSName, opts.Roots = "mx.example.net", NewCA(t, "Other CA").Pool()
	if _, err := cert.Leaf.Verify(opts); err == nil {
		t.Error("the certificate verified under another authority")
	}
}

func TestSelfSigned(t *testing.T) {
	cert, pool := SelfSigned(t, "mx.example.net")
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "mx.example.net"}); err != nil {
		t.Error(err)
	}
	_, other := SelfSigned(t, "mx.example.net")
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: other, DNSName: "mx.example.net"}); err == nil {
		t.Error("verified under another self-signed certificate")
	}
}
