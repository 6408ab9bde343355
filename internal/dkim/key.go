package dkim

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/textcache"
)

// MinRSABits is the smallest RSA key that can give a pass (RFC 8301
// section 3.2).
const MinRSABits = 1024

// Errors about key records. Lookups also return errors wrapping
// dnsx.ErrTemporary.
var (
	// ErrNoKey: no key record at the selector (NXDOMAIN, or no TXT
	// record that is a DKIM key).
	ErrNoKey = errors.New("dkim: no key record")
	// ErrKeyRevoked: the record has an empty p= (RFC 6376 section 3.6.1).
	ErrKeyRevoked = errors.New("dkim: key revoked")
	// ErrKeyTooShort: an RSA key under MinRSABits (RFC 8301 section 3.2).
	ErrKeyTooShort = errors.New("dkim: RSA key too short")
	// ErrKeyMismatch: the key cannot check the signature's algorithm (its
	// type differs, or its h= leaves the hash out).
	ErrKeyMismatch = errors.New("dkim: key does not fit the algorithm")
)

// Key is a parsed DKIM key record (RFC 6376 section 3.6.1).
type Key struct {
	Type      string           // k=: "rsa" or "ed25519"
	PublicKey crypto.PublicKey // *rsa.PublicKey or ed25519.PublicKey
	// Bits is the RSA modulus size, 256 for Ed25519.
	Bits int
	// Hashes is h=, the hash algorithms the key may be used with, nil
	// meaning all.
	Hashes []string
	// Services is s=, nil meaning all ("*").
	Services []string
	// Testing is t=y: the domain is testing DKIM; verifiers must not
	// treat its messages differently from unsigned ones.
	Testing bool
	// Strict is t=s: i= must be in d= exactly, not a subdomain.
	Strict bool
	Tags   TagList
}

// ParseKeyRecord parses the text of a DKIM key TXT record. An empty p=
// returns ErrKeyRevoked; other faults wrap ErrSyntax.
func ParseKeyRecord(txt string) (*Key, error) {
	tags, err := ParseTagList(txt)
	if err != nil {
		return nil, err
	}
	// v=, when present, must be the first tag and be DKIM1.
	if v, ok := tags.Lookup("v"); ok && (v != "DKIM1" || tags[0].Name != "v") {
		return nil, syntaxErr("key record v=%s", v)
	}
	k := &Key{Tags: tags, Type: "rsa"}
	if t, ok := tags.Lookup("k"); ok {
		k.Type = strings.ToLower(t)
	}
	if h, ok := tags.Lookup("h"); ok {
		k.Hashes = lowerAll(splitColonList(h))
	}
	if s, ok := tags.Lookup("s"); ok {
		k.Services = lowerAll(splitColonList(s))
		if !slices.Contains(k.Services, "*") && !slices.Contains(k.Services, "email") {
			return nil, syntaxErr("key record s=%s is not for email", s)
		}
	}
	if t, ok := tags.Lookup("t"); ok {
		for _, flag := range splitColonList(t) {
			k.Testing = k.Testing || flag == "y"
			k.Strict = k.Strict || flag == "s"
		}
	}
	p, ok := tags.Lookup("p")
	if !ok {
		return nil, syntaxErr("key record has no p=")
	}
	if removeFWS(p) == "" {
		return nil, ErrKeyRevoked
	}
	raw, err := DecodeBase64(p)
	if err != nil {
		return nil, syntaxErr("key record p= is not base64")
	}
	if err := k.setPublicKey(raw); err != nil {
		return nil, err
	}
	return k, nil
}

func lowerAll(s []string) []string {
	for i := range s {
		s[i] = strings.ToLower(s[i])
	}
	return s
}

func (k *Key) setPublicKey(raw []byte) error {
	switch k.Type {
	case "ed25519":
		if len(raw) != ed25519.PublicKeySize {
			return syntaxErr("ed25519 key of %d bytes", len(raw))
		}
		k.PublicKey, k.Bits = ed25519.PublicKey(raw), 256
		return nil
	case "rsa":
		pub, err := parseRSAPublicKey(raw)
		if err != nil {
			return err
		}
		k.PublicKey, k.Bits = pub, pub.N.BitLen()
		return nil
	}
	return syntaxErr("unknown key type k=%s", k.Type)
}

// parseRSAPublicKey accepts SubjectPublicKeyInfo, which RFC 6376 section
// 3.6.1 specifies, and the bare RSAPublicKey that some signers publish.
func parseRSAPublicKey(der []byte) (*rsa.PublicKey, error) {
	if pub, err := x509.ParsePKIXPublicKey(der); err == nil {
		rsaPub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, syntaxErr("k=rsa but p= holds a %T", pub)
		}
		return rsaPub, nil
	}
	pub, err := x509.ParsePKCS1PublicKey(der)
	if err != nil {
		return nil, syntaxErr("p= is not an RSA public key")
	}
	return pub, nil
}

// CheckAlgorithm reports whether the key may check signatures made with
// alg: the key type must match, the key's h= must allow alg's hash, and an
// RSA key must have at least MinRSABits. The errors wrap ErrKeyMismatch or
// ErrKeyTooShort.
func (k *Key) CheckAlgorithm(alg Algorithm) error {
	switch {
	case k.Type != alg.KeyType():
		return fmt.Errorf("%w: key type %s, a=%s", ErrKeyMismatch, k.Type, alg)
	case k.Hashes != nil && !slices.Contains(k.Hashes, alg.HashName()):
		return fmt.Errorf("%w: key record h= does not allow %s", ErrKeyMismatch, alg.HashName())
	case k.Type == "rsa" && k.Bits < MinRSABits:
		return fmt.Errorf("%w: %d bits (RFC 8301)", ErrKeyTooShort, k.Bits)
	}
	return nil
}

// KeyName returns the DNS name of a key: selector._domainkey.domain.
func KeyName(selector, domain string) string {
	return selector + "._domainkey." + strings.TrimSuffix(domain, ".")
}

// LookupKey fetches and parses the key record for selector and domain. It
// returns an error wrapping ErrNoKey when the name does not exist or holds
// no record that parses as a key, ErrKeyRevoked, ErrSyntax, or
// dnsx.ErrTemporary when DNS failed. When several TXT records are there, the
// first that parses is used.
func LookupKey(ctx context.Context, r dnsx.Resolver, selector, domain string) (*Key, error) {
	return lookupKeyNamed(ctx, r, KeyName(selector, domain))
}

// lookupKeyNamed is LookupKey for the key's DNS name (KeyName).
func lookupKeyNamed(ctx context.Context, r dnsx.Resolver, name string) (*Key, error) {
	txts, _, err := r.LookupTXT(ctx, name)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return nil, fmt.Errorf("%w at %s", ErrNoKey, name)
	case err != nil:
		if !errors.Is(err, dnsx.ErrTemporary) {
			err = fmt.Errorf("%w: %w", dnsx.ErrTemporary, err)
		}
		return nil, err
	case len(txts) == 0:
		return nil, fmt.Errorf("%w at %s (no TXT record)", ErrNoKey, name)
	}
	var firstErr error
	for _, txt := range txts {
		k, err := parsedKeys.Parse(txt)
		if err == nil {
			return k, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("key record at %s: %w", name, firstErr)
}

// KeyRecordText returns the TXT record text that publishes pub, an
// ed25519.PublicKey or *rsa.PublicKey: "v=DKIM1; k=ed25519; p=...".
func KeyRecordText(pub crypto.PublicKey) (string, error) {
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	}
	return "", fmt.Errorf("dkim: unsupported public key type %T", pub)
}

// parsedKeys keeps parsed key records by their text, shared by all
// verifiers: parsing an RSA key from DER was a sixth of the time of
// verifying a small message, and a few keys sign most mail.
var parsedKeys = textcache.New(4096, ParseKeyRecord)
