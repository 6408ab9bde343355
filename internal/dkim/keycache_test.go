package dkim

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
)

// TestKeysShared: a key record looked up twice is parsed once, and the
// verifiers share the parsed key; a bad record is not kept.
func TestKeysShared(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := KeyRecordText(pub)
	if err != nil {
		t.Fatal(err)
	}
	zone := dnsx.NewZone()
	if err := zone.AddDomain("shared.example"); err != nil {
		t.Fatal(err)
	}
	if err := zone.Add("a._domainkey.shared.example. TXT \"" + rec + "\"\nbad._domainkey.shared.example. TXT \"v=DKIM1; k=ed25519; p=!!\"\n"); err != nil {
		t.Fatal(err)
	}
	r := dnsx.NewStub(zone, nil)
	first, err := LookupKey(t.Context(), r, "a", "shared.example")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := LookupKey(t.Context(), r, "a", "shared.example"); err != nil || again != first {
		t.Errorf("looked up again: %p %v, want the shared %p", again, err, first)
	}
	before := parsedKeys.Len()
	if _, err := LookupKey(t.Context(), r, "bad", "shared.example"); err == nil || parsedKeys.Len() != before {
		t.Errorf("a bad record: %v, %d kept (was %d)", err, parsedKeys.Len(), before)
	}
}
