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
	"os"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

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
