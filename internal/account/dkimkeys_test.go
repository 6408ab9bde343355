package account

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// TestDKIMKeyLifecycle: a new domain gets an active Ed25519 and RSA-2048
// pair; a rotation adds a pending pair under new selectors; activation
// swaps them and keeps the old pair published for the overlap, after which
// it goes.
func TestDKIMKeyLifecycle(t *testing.T) {
	ctx := t.Context()
	s := newService(t)
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	s.DKIMKeyGen = GenerateDKIMKeys
	if _, err := s.AddDomain(ctx, "Keys.Example"); err != nil {
		t.Fatal(err)
	}
	selectors := func() map[string]store.DKIMKeyState {
		t.Helper()
		keys, err := s.DKIMKeys(ctx, "keys.example")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]store.DKIMKeyState{}
		for _, k := range keys {
			m[k.Selector] = k.State
		}
		return m
	}
	first := map[string]store.DKIMKeyState{"sp20261122e": store.DKIMActive, "sp20261122r": store.DKIMActive}
	if got := selectors(); !maps.Equal(got, first) {
		t.Fatalf("keys of a new domain: %v, want %v", got, first)
	}

	fresh, err := s.RotateDKIM(ctx, "keys.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != 2 || fresh[0].Selector != "sp20261122n2e" || fresh[1].Selector != "sp20261122n2r" || fresh[0].State != store.DKIMPending {
		t.Fatalf("rotation made %+v", fresh)
	}
	if _, err := s.RotateDKIM(ctx, "keys.example"); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second rotation before activation: %v, want ErrExists", err)
	}
	if err := s.ActivateDKIM(ctx, "keys.example", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	want := map[string]store.DKIMKeyState{"sp20261122e": store.DKIMRetiring, "sp20261122r": store.DKIMRetiring,
		"sp20261122n2e": store.DKIMActive, "sp20261122n2r": store.DKIMActive}
	if got := selectors(); !maps.Equal(got, want) {
		t.Errorf("after activation: %v, want %v", got, want)
	}
	if err := s.ActivateDKIM(ctx, "keys.example", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("activation with nothing pending: %v, want ErrNotFound", err)
	}
	now = now.Add(49 * time.Hour)
	want = map[string]store.DKIMKeyState{"sp20261122n2e": store.DKIMActive, "sp20261122n2r": store.DKIMActive}
	if got := selectors(); !maps.Equal(got, want) {
		t.Errorf("after the overlap: %v, want %v", got, want)
	}
	if _, err := s.DKIMKeys(ctx, "nowhere.example"); !errors.Is(err, ErrInvalid) && !errors.Is(err, store.ErrNotFound) {
		t.Errorf("keys of a domain not hosted: %v", err)
	}
}

// TestDKIMRecord checks the published record against the private key.
func TestDKIMRecord(t *testing.T) {
	keys, err := GenerateDKIMKeys(time.Now(), store.DKIMActive, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		rec, err := DKIMRecord(k)
		if err != nil {
			t.Fatal(err)
		}
		wantPrefix := "v=DKIM1; k=" + k.Algorithm + "; p="
		if !strings.HasPrefix(rec, wantPrefix) {
			t.Fatalf("%s: record %q", k.Selector, rec)
		}
		pub, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(rec, wantPrefix))
		if err != nil {
			t.Fatal(err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		switch key := priv.(type) {
		case ed25519.PrivateKey:
			if !key.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(pub)) {
				t.Errorf("%s: the record's key is not the key's", k.Selector)
			}
		case *rsa.PrivateKey:
			p, err := x509.ParsePKIXPublicKey(pub)
			if err != nil || !key.PublicKey.Equal(p) || key.N.BitLen() != 2048 {
				t.Errorf("%s: the record's key is not the key's (%v, %d bits)", k.Selector, err, key.N.BitLen())
			}
		default:
			t.Errorf("%s: key of type %T", k.Selector, priv)
		}
	}
	if _, err := DKIMRecord(store.DKIMKey{Selector: "x", PrivateKey: []byte("junk")}); err == nil {
		t.Error("a record from junk")
	}
}
