package arc

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

// benchChain returns a message with three ARC sets by three sealers using
// key, a 10 KiB body, and the in-memory DNS holding their keys.
func benchChain(b *testing.B, key crypto.Signer) (string, *dnsfake.TXT) {
	dns := dnsfake.NewTXT()
	msg := testMessage + strings.Repeat("A line of body text, long enough to look like mail.\r\n", 10<<10/53)
	for i := 1; i <= 3; i++ {
		msg = forward(b, dns, newHop(b, dns, fmt.Sprintf("fwd%d.example", i), key), msg, nil)
	}
	return msg, dns
}

// BenchmarkValidate3Sets validates a three-set chain: six signature checks
// (AMS 3, AS 3 to 1, then AMS 2 and 1 for the oldest pass), one body hash,
// three key lookups in memory.
func BenchmarkValidate3Sets(b *testing.B) {
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"rsa2048", testRSAKey(b)}, {"ed25519", testEd25519Key()}} {
		b.Run(k.name, func(b *testing.B) {
			msg, dns := benchChain(b, k.key)
			v := &Validator{Resolver: dns}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := v.Validate(context.Background(), strings.NewReader(msg))
				if err != nil || res.Status != StatusPass {
					b.Fatal(err, res.Status, res.Reason)
				}
			}
		})
	}
}

// BenchmarkRawChecks is the floor under BenchmarkValidate3Sets: the six
// signature checks and one SHA-256 of the message, nothing else.
func BenchmarkRawChecks(b *testing.B) {
	digest := sha256.Sum256([]byte("x"))
	rk := testRSAKey(b)
	rsaSig, _ := rk.Sign(nil, digest[:], crypto.SHA256)
	ek := testEd25519Key()
	edSig := ed25519.Sign(ek, digest[:])
	msg, _ := benchChain(b, ek)
	for _, k := range []struct {
		name  string
		check func() bool
	}{
		{"rsa2048", func() bool { return rsa.VerifyPKCS1v15(&rk.PublicKey, crypto.SHA256, digest[:], rsaSig) == nil }},
		{"ed25519", func() bool { return ed25519.Verify(ek.Public().(ed25519.PublicKey), digest[:], edSig) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				sha256.Sum256([]byte(msg))
				for range 6 {
					if !k.check() {
						b.Fatal("bad signature")
					}
				}
			}
		})
	}
}

// BenchmarkSeal adds a fourth set to a three-set chain.
func BenchmarkSeal(b *testing.B) {
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"rsa2048", testRSAKey(b)}, {"ed25519", testEd25519Key()}} {
		b.Run(k.name, func(b *testing.B) {
			msg, dns := benchChain(b, k.key)
			chain := validate(b, dns, msg)
			s := &Sealer{Domain: "fwd4.example", Selector: "arc", Key: k.key}
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Seal(strings.NewReader(msg), "mx.fwd4.example", "dmarc=pass", chain); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
