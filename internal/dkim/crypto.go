package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
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

// signedHeaderDigest appends to dst what HeaderHash computes for a
// signature over h: the fields that names select (as SelectFields does),
// then sigField, with its b= value removed when strip is set. Everything is
// canonicalized into one buffer, *scratch, and hashed at once; with
// SHA-256, the hash of every signature that can pass, nothing is allocated.
// The caller keeps scratch between messages (a bodyHasher's), grown as
// needed: a fresh 4 KiB buffer on the stack, zeroed at every call, cost
// more than its use.
func signedHeaderDigest(dst []byte, scratch *[]byte, alg Algorithm, c Canon, h Header, names []string, sigField []byte, strip bool) ([]byte, error) {
	if strip {
		var arr [1024]byte
		stripped, err := appendStripped(arr[:0], sigField)
		if err != nil {
			return nil, err
		}
		sigField = stripped
	}
	if alg.Hash() != crypto.SHA256 {
		return append(dst, HeaderHash(alg.Hash().New(), c, h.SelectFields(names), sigField)...), nil
	}
	buf := appendSelectedCanon((*scratch)[:0], c, h, names)
	buf = CanonHeader(buf, c, sigField)
	sum := sha256.Sum256(bytes.TrimSuffix(buf, []byte("\r\n")))
	*scratch = buf[:0]
	return append(dst, sum[:]...), nil
}

// appendSelectedCanon appends the canonical form of the fields that names
// select from h, in the order and by the rule of SelectFields.
func appendSelectedCanon(dst []byte, c Canon, h Header, names []string) []byte {
	// Each field's name length and first letter, lower-cased, in one
	// word (nameKey), so that a name is compared with each field in one
	// step before EqualFold; taken marks a field taken.
	var arr [64]uint64
	var keys []uint64
	if len(h) <= len(arr) {
		keys = arr[:len(h)]
	} else {
		keys = make([]uint64, len(h))
	}
	// present has a bit for each key of a field (keyBit): a name whose
	// bit is not set names no field, and the fields are not looked
	// through for it. Most names of an oversigned h= are of fields the
	// message does not have.
	var present uint64
	for j, f := range h {
		keys[j] = nameKey(f.Name)
		present |= keyBit(keys[j])
	}
	// An oversigned h= names thirty fields and more, most of them absent,
	// each present one twice in a row. The same name again takes the
	// next field of that name above the one just taken, if there is one:
	// every field below was taken already.
	prev, below := "", len(h)
	for _, name := range names {
		from := len(h) - 1
		if name == prev {
			from = below - 1
		}
		below = -1
		// (The names are ASCII; a field name that is not cannot match
		// one of the same length, and so neither one of another key.)
		k := nameKey(name)
		if present&keyBit(k) == 0 {
			prev = name
			continue
		}
		for j := from; j >= 0; j-- {
			if keys[j] == k && k != 0 && (h[j].Name == name || strings.EqualFold(h[j].Name, name)) {
				keys[j], below = taken, j
				dst = CanonHeader(dst, c, h[j].Raw)
				break
			}
		}
		prev = name
	}
	return dst
}

// nameKey is a field name's length and first letter, lower-cased, in one
// word: names that differ in it are not equal. An empty name is 0.
func nameKey(name string) uint64 {
	if name == "" {
		return 0
	}
	return uint64(len(name))<<8 | uint64(name[0]|0x20)
}

// keyBit is a bit of a word for the key k: equal keys have the same bit.
// The first letter's low six bits with the length mixed in tell most
// names of a header apart.
func keyBit(k uint64) uint64 {
	return 1 << ((k ^ k>>8) & 63)
}

// taken is the key of a field already selected: no name has it.
const taken = 1<<64 - 1

// SignHash signs digest, made with alg's hash, with key. RSA uses
// PKCS #1 v1.5 (RFC 6376 section 3.3.1); Ed25519 signs the digest itself
// as its message, as RFC 8463 section 3 specifies.
func SignHash(key crypto.Signer, alg Algorithm, digest []byte) ([]byte, error) {
	keyAlg, err := algorithmFor(key)
	if err != nil {
		return nil, err
	}
	switch keyAlg {
	case RSASHA256:
		if alg.KeyType() != "rsa" {
			return nil, fmt.Errorf("dkim: RSA key for %s", alg)
		}
		return key.Sign(rand.Reader, digest, alg.Hash())
	default:
		if alg != Ed25519SHA256 {
			return nil, fmt.Errorf("dkim: Ed25519 key for %s", alg)
		}
		return key.Sign(rand.Reader, digest, crypto.Hash(0))
	}
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
	// The usual keys are told apart by their own type: Public copies an
	// Ed25519 key.
	switch key.(type) {
	case *rsa.PrivateKey:
		return RSASHA256, nil
	case ed25519.PrivateKey:
		return Ed25519SHA256, nil
	}
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

// bodyHasher computes one body hash while the body streams by. The
// canonicalizer, the counting hash, the canonicalizer's output buffer and
// the room for the sum are one allocation.
type bodyHasher struct {
	key    bodyHashKey
	canon  BodyCanonicalizer
	count  LimitHash
	digest []byte // the body hash, once hashBodies is done
	// Scratch for the header hash of a signature over this body: the
	// canonical fields, and the signature field without its b= value.
	// Kept with the hasher, they are neither allocated nor zeroed per
	// message.
	header, field []byte
	buf           [canonBufSize]byte
	sum           [64]byte
}

// bodyHasherPool keeps body hashers between messages: each is over 4 KiB
// with its hash, and none is referred to once the message's signatures are
// checked or made (see bodyHashers.release). A sync.Pool is safe for
// concurrent use, and the garbage collector bounds it.
var bodyHasherPool = sync.Pool{New: func() any { return new(bodyHasher) }}

func newBodyHasher(k bodyHashKey) *bodyHasher {
	bh := bodyHasherPool.Get().(*bodyHasher)
	h := bh.count.Hash
	if h == nil || bh.key.hash != k.hash {
		h = k.hash.New()
	} else {
		h.Reset()
	}
	bh.key, bh.digest = k, nil
	bh.count = LimitHash{Hash: h, Limit: k.length}
	bh.canon = BodyCanonicalizer{canon: k.canon, out: &bh.count, buf: bh.buf[:0]}
	return bh
}

// maxKeptScratch bounds the scratch buffers a pooled bodyHasher keeps.
const maxKeptScratch = 16 << 10

// bodyHashers are the body hashes one message needs, rarely more than one.
type bodyHashers []*bodyHasher

// add returns the hasher for k, and hs with it added when it was not
// there. (A method on *bodyHashers would make the caller's array escape.)
func (hs bodyHashers) add(k bodyHashKey) (bodyHashers, *bodyHasher) {
	for _, bh := range hs {
		if bh.key == k {
			return hs, bh
		}
	}
	bh := newBodyHasher(k)
	return append(hs, bh), bh
}

// release returns the hashers to the pool; their digests may no longer be
// used.
func (hs bodyHashers) release() {
	for _, bh := range hs {
		bh.canon.out = nil
		// A buffer grown for an unusually large header is not kept.
		if cap(bh.header) > maxKeptScratch {
			bh.header = nil
		}
		if cap(bh.field) > maxKeptScratch {
			bh.field = nil
		}
		bodyHasherPool.Put(bh)
	}
}

// hashBodies streams body through every body hash once, and sets their
// digests.
func hashBodies(body io.Reader, hs bodyHashers) error {
	var err error
	switch len(hs) {
	case 0:
		_, err = io.Copy(io.Discard, body)
	case 1:
		_, err = io.Copy(&hs[0].canon, body)
	default:
		ws := make([]io.Writer, len(hs))
		for i, bh := range hs {
			ws[i] = &bh.canon
		}
		_, err = io.Copy(io.MultiWriter(ws...), body)
	}
	if err != nil {
		return err
	}
	for _, bh := range hs {
		if err := bh.canon.Close(); err != nil {
			return err
		}
		bh.digest = bh.count.Hash.Sum(bh.sum[:0])
	}
	return nil
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
