package dkim

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// fakeDNS is an in-memory dnsx.Resolver for the table-driven suites: TXT
// records by name, and names that fail.
type fakeDNS struct {
	txt     map[string][]string
	tempErr map[string]bool
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{txt: map[string][]string{}, tempErr: map[string]bool{}}
}

func (f *fakeDNS) add(name, txt string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	f.txt[name] = append(f.txt[name], txt)
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, dnsx.Result, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if f.tempErr[name] {
		return nil, dnsx.Result{}, fmt.Errorf("%w: SERVFAIL", dnsx.ErrTemporary)
	}
	txts, ok := f.txt[name]
	if !ok {
		return nil, dnsx.Result{}, fmt.Errorf("%w: %s", dnsx.ErrNotFound, name)
	}
	return txts, dnsx.Result{}, nil
}

func (f *fakeDNS) LookupMX(context.Context, string) ([]dnsx.MX, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupIP(context.Context, string) ([]netip.Addr, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupAddr(context.Context, netip.Addr) ([]string, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupTLSA(context.Context, int, string, string) ([]dnsx.TLSA, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupCNAME(context.Context, string) (string, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupSRV(context.Context, string) ([]dnsx.SRV, dnsx.Result, error) {
	panic("not used")
}

// readPEMKey reads an RSA private key in PKCS #1 or PKCS #8 PEM.
func readPEMKey(t testing.TB, path string) *rsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k.(*rsa.PrivateKey)
}

// readEd25519Seed reads a base64 Ed25519 seed, dkimpy's key file format.
func readEd25519Seed(t testing.TB, path string) ed25519.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("%s: not an Ed25519 seed", path)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// verifyBytes verifies msg with r.
func verifyBytes(t testing.TB, r dnsx.Resolver, msg string) []Result {
	t.Helper()
	v := &Verifier{Resolver: r}
	res, err := v.Verify(context.Background(), bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func statuses(res []Result) []Status {
	out := make([]Status, len(res))
	for i, r := range res {
		out[i] = r.Status
	}
	return out
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func newDNSClient(t testing.TB, addr string) *dnsx.Client {
	t.Helper()
	c, err := dnsx.NewClient(addr, dnsx.ClientConfig{Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// crypto2 picks the RSA key for selector "rsa", the Ed25519 key otherwise.
func crypto2(ed ed25519.PrivateKey, r *rsa.PrivateKey, selector string) crypto.Signer {
	if selector == "rsa" {
		return r
	}
	return ed
}
