package account

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/store"
)

// Every domain signs with two DKIM keys at once, Ed25519 (RFC 8463) and
// RSA: receivers that do not know Ed25519 yet verify the RSA signature.
const dkimRSABits = 2048

// DefaultDKIMOverlap is how long a replaced key stays published after the
// new one starts signing: mail signed with it may still be in queues, and
// some receivers verify late.
const DefaultDKIMOverlap = 7 * 24 * time.Hour

// GenerateDKIMKeys makes a domain's pair of DKIM keys in the given state,
// with selectors of the form spYYYYMMDDe and spYYYYMMDDr (e for Ed25519, r
// for RSA) that none of taken already uses. It is the usual
// Service.DKIMKeyGen.
func GenerateDKIMKeys(now time.Time, state store.DKIMKeyState, taken []string) ([]store.DKIMKey, error) {
	used := map[string]bool{}
	for _, s := range taken {
		used[s] = true
	}
	base := "sp" + now.UTC().Format("20060102")
	for i := 2; used[base+"e"] || used[base+"r"]; i++ {
		base = fmt.Sprintf("sp%sn%d", now.UTC().Format("20060102"), i)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate Ed25519 DKIM key: %w", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, dkimRSABits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA DKIM key: %w", err)
	}
	var keys []store.DKIMKey
	for _, k := range []struct {
		suffix, alg string
		key         crypto.Signer
	}{{"e", "ed25519", edKey}, {"r", "rsa", rsaKey}} {
		der, err := x509.MarshalPKCS8PrivateKey(k.key)
		if err != nil {
			return nil, fmt.Errorf("encode DKIM key: %w", err)
		}
		keys = append(keys, store.DKIMKey{Selector: base + k.suffix, Algorithm: k.alg, PrivateKey: der, State: state, Created: now.UTC()})
	}
	return keys, nil
}

// DKIMRecord returns the TXT record that publishes k's public key at
// k.Selector._domainkey.<domain> (RFC 6376 section 3.6.1, RFC 8463).
func DKIMRecord(k store.DKIMKey) (string, error) {
	priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("DKIM key %s: %w", k.Selector, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return "", fmt.Errorf("DKIM key %s: unexpected key type %T", k.Selector, priv)
	}
	rec, err := dkim.KeyRecordText(signer.Public())
	if err != nil {
		return "", fmt.Errorf("DKIM key %s: %w", k.Selector, err)
	}
	return rec, nil
}

// DKIMKeys returns a domain's keys, leaving out those whose retirement
// time has passed (AdvanceDKIM deletes them, and logs it).
func (s *Service) DKIMKeys(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	d, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	keys, err := s.Store.ListDKIMKeys(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("DKIM keys of %s: %w", d, err)
	}
	now := s.now()
	return slices.DeleteFunc(keys, func(k store.DKIMKey) bool {
		return k.State == store.DKIMRetiring && k.RetireAt.Before(now)
	}), nil
}

// RotateDKIM starts a rotation of a domain's DKIM keys: it makes a new pair
// under new selectors, pending (to be published in DNS) while the current
// pair goes on signing; ActivateDKIM, or the server's AdvanceDKIM once DNS
// has shown the pair long enough, completes it. A domain without an
// active key gets an active pair at once. It fails with store.ErrExists
// while an earlier rotation waits for activation.
func (s *Service) RotateDKIM(ctx context.Context, domain string) ([]store.DKIMKey, error) {
	d, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	keys, err := s.Store.ListDKIMKeys(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("DKIM keys of %s: %w", d, err)
	}
	state := store.DKIMActive
	var taken []string // every stored selector, retired ones too
	for _, k := range keys {
		switch k.State {
		case store.DKIMPending:
			return nil, fmt.Errorf("rotate DKIM keys of %s: selector %s is pending, activate it first: %w", d, k.Selector, store.ErrExists)
		case store.DKIMActive:
			state = store.DKIMPending
		}
		taken = append(taken, k.Selector)
	}
	fresh, err := s.dkimKeyGen()(s.now(), state, taken)
	if err != nil {
		return nil, err
	}
	if err := s.Store.AddDKIMKeys(ctx, d, fresh); err != nil {
		return nil, fmt.Errorf("rotate DKIM keys of %s: %w", d, err)
	}
	return fresh, nil
}

// ActivateDKIM completes a rotation: the pending keys start signing and
// the keys they replace stay published for overlap (0 means
// DefaultDKIMOverlap), then go. It fails with store.ErrNotFound when no
// rotation is pending.
func (s *Service) ActivateDKIM(ctx context.Context, domain string, overlap time.Duration) error {
	d, err := s.hostedDomain(ctx, domain)
	if err != nil {
		return err
	}
	if overlap <= 0 {
		overlap = DefaultDKIMOverlap
	}
	if err := s.Store.ActivateDKIMKeys(ctx, d, s.now().Add(overlap)); err != nil {
		return fmt.Errorf("activate DKIM keys of %s: %w", d, err)
	}
	return nil
}

// addDomainKeys gives a new domain its first, active pair of keys.
func (s *Service) addDomainKeys(ctx context.Context, domain string) error {
	if s.DKIMKeyGen == nil {
		return nil
	}
	keys, err := s.DKIMKeyGen(s.now(), store.DKIMActive, nil)
	if err == nil {
		err = s.Store.AddDKIMKeys(ctx, domain, keys)
	}
	if err != nil {
		return fmt.Errorf("domain %s added without DKIM keys (run 'sealpost dkim rotate %s'): %w", domain, domain, err)
	}
	return nil
}

func (s *Service) dkimKeyGen() func(time.Time, store.DKIMKeyState, []string) ([]store.DKIMKey, error) {
	if s.DKIMKeyGen != nil {
		return s.DKIMKeyGen
	}
	return GenerateDKIMKeys
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// signerCacheTTL is how long a domain's parsed signing keys are reused: a
// key activated from the command line (another process) signs within it.
const signerCacheTTL = time.Minute

type cachedSigners struct {
	signers []*dkim.Signer
	loaded  time.Time
}

// DKIMSigners returns signers for a hosted domain's active keys, RSA
// first (every receiver verifies RSA; Ed25519 is the stronger second
// signature), or none when the domain has no active key. Parsed keys are
// kept for signerCacheTTL.
func (s *Service) DKIMSigners(ctx context.Context, domain string) ([]*dkim.Signer, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return nil, err
	}
	s.signersMu.Lock()
	c, ok := s.signers[d]
	s.signersMu.Unlock()
	if ok && s.now().Sub(c.loaded) < signerCacheTTL {
		return c.signers, nil
	}
	keys, err := s.Store.ListDKIMKeys(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("DKIM keys of %s: %w", d, err)
	}
	var signers []*dkim.Signer
	for _, k := range keys {
		if k.State != store.DKIMActive {
			continue
		}
		priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("DKIM key %s of %s: %w", k.Selector, d, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("DKIM key %s of %s: a %T cannot sign", k.Selector, d, priv)
		}
		sg := &dkim.Signer{Domain: d, Selector: k.Selector, Key: signer}
		if k.Algorithm == "rsa" {
			signers = append([]*dkim.Signer{sg}, signers...)
		} else {
			signers = append(signers, sg)
		}
	}
	s.signersMu.Lock()
	if s.signers == nil {
		s.signers = map[string]cachedSigners{}
	}
	s.signers[d] = cachedSigners{signers, s.now()}
	s.signersMu.Unlock()
	return signers, nil
}

// SignDKIM reads a message and returns the DKIM-Signature fields of the
// domain's active keys, to be put on top of it, RSA first; "" when the
// domain has no active key (the message is not read then).
func (s *Service) SignDKIM(ctx context.Context, domain string, msg io.Reader) (string, error) {
	signers, err := s.DKIMSigners(ctx, domain)
	if err != nil || len(signers) == 0 {
		return "", err
	}
	fields, err := dkim.SignAll(msg, signers)
	if err != nil {
		return "", err
	}
	return strings.Join(fields, ""), nil
}
