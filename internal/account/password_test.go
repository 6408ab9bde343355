package account

import (
	"errors"
	"strings"
	"testing"
)

// cheap keeps the tests fast; the parameters are stored in each hash, so
// nothing else changes.
var cheap = Hasher{Time: 1, MemoryKiB: 64, Threads: 1}

// TestVerifyReference checks hashes made by the reference implementation
// of argon2 (the "argon2" command of the Debian package, version 20171227),
// so Sealpost reads what other tools write and the other way round.
func TestVerifyReference(t *testing.T) {
	const (
		// echo -n "correct horse battery staple" | argon2 sealpostsalt16b -id -t 2 -m 10 -p 1 -l 32 -e
		ref1 = "$argon2id$v=19$m=1024,t=2,p=1$c2VhbHBvc3RzYWx0MTZi$GAHiusz5wdf8LzAFl+JQx7ziJq/y5pQWeNNJrwBzOzM"
		// echo -n "correct horse battery staple" | argon2 anothersalt -id -t 1 -m 6 -p 2 -l 16 -e
		ref2 = "$argon2id$v=19$m=64,t=1,p=2$YW5vdGhlcnNhbHQ$puIxGfAcASNugVx++deVWg"
		// printf 'p\xc3\xa4ssw\xc3\xb6rd unicode' | argon2 sealpostsalt16b -id -t 3 -m 8 -p 1 -l 32 -e
		ref3 = "$argon2id$v=19$m=256,t=3,p=1$c2VhbHBvc3RzYWx0MTZi$nOMApM/s3TzpKNwqDZqP1cmXVJ+MMnIpnz8o8pTf2gg"
	)
	tests := []struct {
		phc, pw string
		want    bool
	}{
		{ref1, "correct horse battery staple", true},
		{ref1, "correct horse battery staplf", false},
		{ref1, "Correct horse battery staple", false},
		{ref1, "", false},
		{ref2, "correct horse battery staple", true},
		{ref2, "correct horse battery staple ", false},
		{ref3, "pässwörd unicode", true},
		{ref3, "pa\u0308sswo\u0308rd unicode", true}, // decomposed: NFC makes it match
		{ref3, "passwörd unicode", false},
	}
	for _, tt := range tests {
		got, err := cheap.Verify(tt.phc, tt.pw)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%s, %q) = %v, %v; want %v", tt.phc, tt.pw, got, err, tt.want)
		}
	}
}

func TestHashVerify(t *testing.T) {
	const pw = "a sturdy passphrase"
	h1, err := cheap.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := cheap.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not in PHC format with the hasher's parameters", h1)
	}
	if h1 == h2 {
		t.Errorf("two hashes of the same password are equal: salt not random")
	}
	for _, h := range []string{h1, h2} {
		if ok, err := cheap.Verify(h, pw); !ok || err != nil {
			t.Errorf("Verify(%s, right) = %v, %v", h, ok, err)
		}
		if ok, err := cheap.Verify(h, pw+"x"); ok || err != nil {
			t.Errorf("Verify(%s, wrong) = %v, %v", h, ok, err)
		}
	}
}

func TestVerifyUsesStoredParameters(t *testing.T) {
	old := Hasher{Time: 2, MemoryKiB: 128, Threads: 2}
	h, err := old.Hash("an older passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cheap.Verify(h, "an older passphrase"); !ok || err != nil {
		t.Errorf("hash made with other parameters does not verify: %v, %v", ok, err)
	}
	if !cheap.NeedsRehash(h) {
		t.Errorf("NeedsRehash(%s) = false for other parameters", h)
	}
	if old.NeedsRehash(h) {
		t.Errorf("NeedsRehash(%s) = true for its own parameters", h)
	}
	if !cheap.NeedsRehash("garbage") {
		t.Errorf("NeedsRehash(garbage) = false")
	}
}

func TestVerifyMalformed(t *testing.T) {
	const salt, key = "c2VhbHBvc3RzYWx0MTZi", "GAHiusz5wdf8LzAFl+JQx7ziJq/y5pQWeNNJrwBzOzM"
	for _, phc := range []string{
		"",
		"plaintext",
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt,
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key + "$",
		"argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key + "$",
		"$argon2i$v=19$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$m=1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=1024,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=01024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+1024,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=2,p=1,k=3$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=2,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=4,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=1000000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "=$" + key,
		"$argon2id$v=19$m=1024,t=2,p=1$c2FsdA$" + key,           // 4-octet salt
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$c2hvcnQ",    // 5-octet hash
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key[1:], // bad base64 length
		"$argon2id$v=19$m=1024,t=2,p=1$" + salt + "$" + key + "!",
	} {
		ok, err := cheap.Verify(phc, "correct horse battery staple")
		if err == nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want an error", phc, ok, err)
		}
	}
}

func TestHashBadParameters(t *testing.T) {
	for _, h := range []Hasher{
		{},
		{Time: 1, MemoryKiB: 64},
		{Time: 0, MemoryKiB: 64, Threads: 1},
		{Time: 1, MemoryKiB: 7, Threads: 1},
		{Time: 1, MemoryKiB: 15, Threads: 2},
		{Time: 1, MemoryKiB: 8 << 20, Threads: 1},
	} {
		if phc, err := h.Hash("whatever it is"); err == nil {
			t.Errorf("%+v.Hash = %q, want an error", h, phc)
		}
	}
	if err := DefaultHasher().check(); err != nil {
		t.Errorf("DefaultHasher: %v", err)
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		pw     string
		minLen int
		ok     bool
	}{
		{"twelve chars", 12, true},
		{"eleven char", 12, false},
		{"eleven char", 0, false}, // default minimum is 12
		{"twelve chars", 0, true},
		{"ünïcödé-wörd", 12, true},              // 12 characters, more octets
		{"u\u0308ni\u0308co\u0308de", 9, false}, // 7 characters once composed
		{"sprig", 5, true},                      // short but allowed at minLen 5 (not in the common list; "brief" is)
		{"", 1, false},
		{"            ", 4, false},
		{" \t  \u00a0  \u3000  ", 4, false},
		{"password with\nnewline", 8, false},
		{"trailing newline\n", 8, false},
		{"nul\x00inside-pw", 8, false},
		{"bad utf8 \xff\xfe here", 8, false},
		{strings.Repeat("x", MaxPasswordLength), 12, true},
		{strings.Repeat("x", MaxPasswordLength+1), 12, false},
		{"  spaces around are fine  ", 12, true},
	}
	for _, tt := range tests {
		err := CheckPassword(tt.pw, tt.minLen)
		if tt.ok != (err == nil) {
			t.Errorf("CheckPassword(%q, %d) = %v, want ok %v", tt.pw, tt.minLen, err, tt.ok)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("CheckPassword(%q) error %v does not wrap ErrInvalid", tt.pw, err)
			}
			if tt.pw != "" && strings.Contains(err.Error(), tt.pw) {
				t.Errorf("CheckPassword error %q contains the password", err)
			}
		}
	}
}

func TestCheckPasswordFor(t *testing.T) {
	a, err := ParseAddress("longusername@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pw string
		ok bool
	}{
		{"longusername@example.com", false},
		{"LongUserName@Example.com", false},
		{" longusername ", false},
		{"longusername", false},
		{"example.com", false},
		{"longusername@example.com!", true},
		{"shrt", false},
	} {
		err := CheckPasswordFor(a, tt.pw, 5)
		if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckPasswordFor(%q) = %v, want ok %v", tt.pw, err, tt.ok)
		}
	}
}

// BenchmarkHash measures one hash with the default parameters; the figure
// is quoted in DefaultHasher's documentation.
func BenchmarkHash(b *testing.B) {
	h := DefaultHasher()
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
