package dkim

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"testing"
)

// TestKeyCache: a record parsed once is reused; bad records are not kept;
// the cache empties itself when full.
func TestKeyCache(t *testing.T) {
	c := &keyCache{m: map[string]*Key{}}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := KeyRecordText(pub)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.parse(rec)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := c.parse(rec); err != nil || b != a {
		t.Errorf("the same record parsed again: %p %p, %v", a, b, err)
	}
	if _, err := c.parse("v=DKIM1; k=ed25519; p=!!"); err == nil || len(c.m) != 1 {
		t.Errorf("a bad record: %v, %d kept", err, len(c.m))
	}
	for i := range maxParsedKeys {
		c.m[fmt.Sprint(i)] = a
	}
	if _, err := c.parse(rec + " "); err != nil || len(c.m) != 1 {
		t.Errorf("when full: %v, %d kept", err, len(c.m))
	}
}
