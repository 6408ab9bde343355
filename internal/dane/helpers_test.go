package dane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strconv"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// certKey is a certificate with its private key.
type certKey struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

type certOpts struct {
	names     []string
	ca        bool
	notBefore time.Time
	notAfter  time.Time
}

// makeCert creates a certificate signed by parent, or self-signed if parent
// is nil.
func makeCert(t testing.TB, cn string, parent *certKey, o certOpts) *certKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              o.names,
		NotBefore:             o.notBefore,
		NotAfter:              o.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  o.ca,
	}
	if o.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &certKey{cert: cert, key: key}
}

// pki is the certificate world of the tests: a root, an intermediate, and
// leaves for mx.example.test issued by the intermediate.
type pki struct {
	root, inter          *certKey
	leaf, expired, other *certKey
	wildcard, selfSigned *certKey
	unrelated            *certKey // a CA that signed nothing here
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{}
	p.root = makeCert(t, "Test Root", nil, certOpts{ca: true})
	p.inter = makeCert(t, "Test Intermediate", p.root, certOpts{ca: true})
	p.leaf = makeCert(t, "mx.example.test", p.inter, certOpts{names: []string{"mx.example.test"}})
	p.expired = makeCert(t, "mx.example.test", p.inter, certOpts{
		names:     []string{"mx.example.test"},
		notBefore: time.Now().Add(-48 * time.Hour),
		notAfter:  time.Now().Add(-24 * time.Hour),
	})
	p.other = makeCert(t, "other.example.test", p.inter, certOpts{names: []string{"other.example.test"}})
	p.wildcard = makeCert(t, "wildcard", p.inter, certOpts{names: []string{"*.example.test"}})
	p.selfSigned = makeCert(t, "mx.example.test", nil, certOpts{names: []string{"mx.example.test"}})
	p.unrelated = makeCert(t, "Unrelated CA", nil, certOpts{ca: true})
	return p
}

// chain returns leaf, the intermediate and the root, as a server that
// includes its trust anchor sends them.
func (p *pki) chain(leaf *certKey) []*x509.Certificate {
	return []*x509.Certificate{leaf.cert, p.inter.cert, p.root.cert}
}

// tlsa makes the record of usage, selector and matching type for c.
func tlsa(t testing.TB, usage, selector, mtype uint8, c *certKey) dnsx.TLSA {
	t.Helper()
	data, err := Association(c.cert, selector, mtype)
	if err != nil {
		t.Fatal(err)
	}
	return dnsx.TLSA{Usage: usage, Selector: selector, MatchingType: mtype, Data: data}
}

// zoneTLSA renders r as zone file text owned by name.
func zoneTLSA(name string, r dnsx.TLSA) string {
	return name + " TLSA " + itoa(r.Usage) + " " + itoa(r.Selector) + " " + itoa(r.MatchingType) + " " + hex.EncodeToString(r.Data) + "\n"
}

func itoa(u uint8) string { return strconv.Itoa(int(u)) }

// tlsCert returns c with the given chain as a tls.Certificate.
func tlsCert(c *certKey, chain ...*certKey) tls.Certificate {
	out := tls.Certificate{Certificate: [][]byte{c.cert.Raw}, PrivateKey: c.key, Leaf: c.cert}
	for _, x := range chain {
		out.Certificate = append(out.Certificate, x.cert.Raw)
	}
	return out
}
