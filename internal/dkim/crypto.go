package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"hash"
)

// ErrBadSignature reports a signature that does not verify.
var ErrBadSignature = errors.New("dkim: signature did not verify")

// HeaderHash computes the hash that a DKIM signature (or an ARC-Seal or
// ARC-Message-Signature) signs (RFC 6376 section 3.7): the selected fields
// in order, each canonicalized with c, then the signature field itself with
// its b= value removed (see StripSignatureValue), canonicalized, without its
// final CRLF. A nil entry in fields (a name with no field left) adds
// nothing.
func HeaderHash(h hash.Hash, c Canon, fields [][]byte, sigField []byte) []byte {
	buf := make([]byte, 0, 1024)
	for _, f := range fields {
		if f != nil {
			buf = CanonHeader(buf[:0], c, f)
			h.Write(buf)
		}
	}
	buf = CanonHeader(buf[:0], c, sigField)
	h.Write(bytes.TrimSuffix(buf, []byte("\r\n")))
	return h.Sum(nil)
}

// SignHash signs digest, made with alg's hash, with key. RSA uses
// PKCS #1 v1.5 (RFC 6376 section 3.3.1); Ed25519 signs the digest itself
// as its message, as RFC 8463 section 3 specifies.
func SignHash(key crypto.Signer, alg Algorithm, digest []byte) ([]byte, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		if alg.KeyType() != "rsa" {
			return nil, fmt.Errorf("dkim: RSA key for %s", alg)
		}
		return key.Sign(rand.Reader, digest, alg.Hash())
	case ed25519.PublicKey:
		if alg != Ed25519SHA256 {
			return nil, fmt.Errorf("dkim: Ed25519 key for %s", alg)
		}
		return key.Sign(rand.Reader, digest, crypto.Hash(0))
	}
	return nil, fmt.Errorf("dkim: unsupported key type %T", key.Public())
}

// VerifyHash checks sig over digest with key, for alg. It returns
// ErrBadSignature when the signature is wrong, and another error when key
// and alg do not go together.
func VerifyHash(key *Key, alg Algorithm, digest, sig []byte) error {
	if key.Type != alg.KeyType() {
		return fmt.Errorf("dkim: key type %s cannot check %s", key.Type, alg)
	}
	switch pub := key.PublicKey.(type) {
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pub, alg.Hash(), digest, sig) != nil {
			return ErrBadSignature
		}
		return nil
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, digest, sig) {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("dkim: unsupported key type %T", key.PublicKey)
}

// algorithmFor returns the algorithm that a signing key makes.
func algorithmFor(key crypto.Signer) (Algorithm, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return RSASHA256, nil
	case ed25519.PublicKey:
		return Ed25519SHA256, nil
	}
	return "", fmt.Errorf("dkim: unsupported key type %T", key.Public())
}

// bodyHashKey identifies a body hash that several signatures can share.
type bodyHashKey struct {
	canon  Canon
	hash   crypto.Hash
	length int64 // -1: whole body
}

// bodyHasher computes one body hash while the body streams by.
type bodyHasher struct {
	canon *BodyCanonicalizer
	count *LimitHash
}

func newBodyHasher(k bodyHashKey) *bodyHasher {
	lw := &LimitHash{Hash: k.hash.New(), Limit: k.length}
	return &bodyHasher{canon: NewBodyCanonicalizer(k.canon, lw), count: lw}
}

// LimitHash hashes the first Limit bytes written to it (all when Limit
// is negative) and counts them all in N: the body hash of a signature
// with l= (RFC 6376 section 3.5), whose N - Limit bytes are unsigned.
type LimitHash struct {
	Hash  hash.Hash
	Limit int64
	N     int64
}

func (w *LimitHash) Write(p []byte) (int, error) {
	take := p
	if w.Limit >= 0 {
		room := max(w.Limit-w.N, 0)
		take = p[:min(int64(len(p)), room)]
	}
	w.Hash.Write(take)
	w.N += int64(len(p))
	return len(p), nil
}
