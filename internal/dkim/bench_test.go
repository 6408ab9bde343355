package dkim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

// The benchmarks measure signing and verifying next to the raw operations
// they cannot avoid: SHA-256 over the message and one public key operation.
// The difference is what this package adds (parsing, canonicalization,
// header hashing, key record parsing).

var benchSizes = []struct {
	name string
	size int
}{{"10KiB", 10 << 10}, {"1MiB", 1 << 20}}

// benchMessage is a text message of about size bytes: lines of 72
// characters, as most mail is.
func benchMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: benchmark\r\n" +
		"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	line := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2)[:72] + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

type benchKey struct {
	name string
	key  crypto.Signer
}

// benchNow is the benchmarks' clock: a fixed t= makes the same signatures
// from run to run, and checking an Ed25519 one takes a number of
// instructions that depends on it.
func benchNow() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

// benchRSAKey is a test key, made for these benchmarks.
//
//go:embed testdata/bench-rsa.pem
var benchRSAKey []byte

// benchKeys are the keys the benchmarks sign with. They are fixed, so that
// instruction counts (callgrind) repeat from run to run: generating an RSA
// key takes a random number of them.
func benchKeys(b *testing.B) []benchKey {
	ed := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	block, _ := pem.Decode(benchRSAKey)
	if block == nil {
		b.Fatal("testdata/bench-rsa.pem: no PEM block")
	}
	r, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	return []benchKey{{"ed25519", ed}, {"rsa2048", r.(*rsa.PrivateKey)}}
}

func BenchmarkSign(b *testing.B) {
	for _, k := range benchKeys(b) {
		for _, sz := range benchSizes {
			msg := benchMessage(sz.size)
			s := &Signer{Domain: "example.org", Selector: "s", Key: k.key, Now: benchNow}
			b.Run(fmt.Sprintf("%s/%s", k.name, sz.name), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					if _, err := s.Sign(bytes.NewReader(msg)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, k := range benchKeys(b) {
		for _, sz := range benchSizes {
			msg := benchMessage(sz.size)
			s := &Signer{Domain: "example.org", Selector: "s", Key: k.key, Now: benchNow}
			dns := dnsfake.NewTXT()
			publish(b, dns, s)
			field, err := s.Sign(bytes.NewReader(msg))
			if err != nil {
				b.Fatal(err)
			}
			signed := append([]byte(field), msg...)
			v := &Verifier{Resolver: dns}
			b.Run(fmt.Sprintf("%s/%s", k.name, sz.name), func(b *testing.B) {
				b.SetBytes(int64(len(signed)))
				for b.Loop() {
					res, err := v.Verify(context.Background(), bytes.NewReader(signed))
					if err != nil || res[0].Status != StatusPass {
						b.Fatal(res, err)
					}
				}
			})
		}
	}
}

// BenchmarkRawSHA256 hashes the message bytes once: the least any DKIM
// implementation must do.
func BenchmarkRawSHA256(b *testing.B) {
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				sha256.Sum256(msg)
			}
		})
	}
}

// BenchmarkRawSign and BenchmarkRawVerify are the public key operations on
// a SHA-256 digest.
func BenchmarkRawSign(b *testing.B) {
	digest := sha256.Sum256([]byte("header hash"))
	for _, k := range benchKeys(b) {
		alg, _ := algorithmFor(k.key)
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := SignHash(k.key, alg, digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawVerify(b *testing.B) {
	digest := sha256.Sum256([]byte("header hash"))
	for _, k := range benchKeys(b) {
		alg, _ := algorithmFor(k.key)
		sig, err := SignHash(k.key, alg, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				var ok bool
				switch pub := k.key.Public().(type) {
				case ed25519.PublicKey:
					ok = ed25519.Verify(pub, digest[:], sig)
				case *rsa.PublicKey:
					ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
				}
				if !ok {
					b.Fatal("did not verify")
				}
			}
		})
	}
}

// BenchmarkBodyCanon is the body canonicalization alone, writing to
// io.Discard: the part of the overhead that grows with the message.
func BenchmarkBodyCanon(b *testing.B) {
	msg := benchMessage(1 << 20)
	for _, c := range []Canon{Simple, Relaxed} {
		b.Run(string(c)+"/1MiB", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				bc := NewBodyCanonicalizer(c, io.Discard)
				bc.Write(msg)
				bc.Close()
			}
		})
	}
}

// BenchmarkSignSimple is BenchmarkSign with simple/simple, whose body
// canonicalization has less to check.
func BenchmarkSignSimple(b *testing.B) {
	for _, k := range benchKeys(b) {
		msg := benchMessage(1 << 20)
		s := &Signer{Domain: "example.org", Selector: "s", Key: k.key, HeaderCanon: Simple, BodyCanon: Simple}
		b.Run(k.name+"/1MiB", func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := s.Sign(bytes.NewReader(msg)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignAll is what Sealpost does for each outgoing message: one
// Ed25519 and one RSA-2048 signature over one pass of the body.
func BenchmarkSignAll(b *testing.B) {
	keys := benchKeys(b)
	signers := []*Signer{
		{Domain: "example.org", Selector: "ed", Key: keys[0].key},
		{Domain: "example.org", Selector: "rsa", Key: keys[1].key},
	}
	for _, sz := range benchSizes {
		msg := benchMessage(sz.size)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := SignAll(bytes.NewReader(msg), signers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseSignature parses the DKIM-Signature fields Sealpost makes
// with each key type: part of the fixed cost of every verification.
func BenchmarkParseSignature(b *testing.B) {
	msg := benchMessage(1 << 10)
	for _, k := range benchKeys(b) {
		field, err := (&Signer{Domain: "example.org", Selector: "s", Key: k.key, Now: benchNow}).Sign(bytes.NewReader(msg))
		if err != nil {
			b.Fatal(err)
		}
		_, value, _ := strings.Cut(field, ":")
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseSignature(value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
