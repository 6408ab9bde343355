package srs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	testSecret = []byte("0123456789abcdef0123456789abcdef")
	oldSecret  = []byte("an older secret, still accepted")
	// testNow is day 20779 since the epoch: 20779 % 1024 = 299 = "JL".
	testNow = time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)
)

func newTest(t *testing.T, now time.Time, secrets ...[]byte) *Rewriter {
	t.Helper()
	if len(secrets) == 0 {
		secrets = [][]byte{testSecret}
	}
	r, err := New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	r.Now = func() time.Time { return now }
	return r
}

// The golden hashes were checked outside Go, with Python's hmac module:
// base64(HMAC-SHA256(testSecret, "jl\x00example.com\x00alice\x00"))[:4] is
// "lIB0", and over "hop1.example\x00=abcd=jl=orig.example=user\x00" it is
// "8hN4". A change to them would break every address in flight.
func TestForward(t *testing.T) {
	r := newTest(t, testNow)
	for _, tc := range []struct {
		sender, ours, want string
		err                error
	}{
		{"", "fwd.example", "", nil},
		{"alice@example.com", "fwd.example", "SRS0=lIB0=JL=example.com=alice@fwd.example", nil},
		{"Alice@Example.COM", "fwd.example", "SRS0=lIB0=JL=Example.COM=Alice@fwd.example", nil},
		{"bob@fwd.example", "fwd.example", "bob@fwd.example", nil},
		{"bob@FWD.example", "fwd.example", "bob@FWD.example", nil},
		{"SRS0=abcd=JL=orig.example=user@hop1.example", "fwd.example", "SRS1=8hN4=hop1.example==abcd=JL=orig.example=user@fwd.example", nil},
		{"SRS1=wxyz=hop1.example==abcd=JL=orig.example=user@hop2.example", "fwd.example", "SRS1=8hN4=hop1.example==abcd=JL=orig.example=user@fwd.example", nil},
		{"SRS1=wxyz=hop1.example@hop2.example", "fwd.example", "", ErrMalformed},
		{`"john doe"@example.com`, "fwd.example", "", ErrUnsupported},
		{"nodomain", "fwd.example", "", ErrUnsupported},
		{"@example.com", "fwd.example", "", ErrUnsupported},
		{"a@exa=mple.com", "fwd.example", "", ErrUnsupported},
		{strings.Repeat("a", 50) + "@example.com", "fwd.example", "", ErrUnsupported},
		{strings.Repeat("a", MaxInput) + "@example.com", "fwd.example", "", ErrUnsupported},
	} {
		got, err := r.Forward(tc.sender, tc.ours)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("Forward(%q, %q) = %q, %v; want %q, %v", tc.sender, tc.ours, got, err, tc.want, tc.err)
		}
	}
}

func TestReverse(t *testing.T) {
	r := newTest(t, testNow)
	for _, tc := range []struct {
		addr, want string
		err        error
	}{
		{"SRS0=lIB0=JL=example.com=alice@fwd.example", "alice@example.com", nil},
		// Sealpost and other servers lower-case addresses on the way back.
		{strings.ToLower("SRS0=lIB0=JL=example.com=alice@fwd.example"), "alice@example.com", nil},
		{"SRS0=lIB0=JL=Example.COM=Alice@fwd.example", "Alice@Example.COM", nil},
		{"srs0+lIB0=jl=example.com=alice@fwd.example", "alice@example.com", nil},
		{"SRS1=8hN4=hop1.example==abcd=JL=orig.example=user@fwd.example", "SRS0=abcd=JL=orig.example=user@hop1.example", nil},
		{"alice@example.com", "", ErrNotSRS},
		{"SRS2=xxxx=JL=example.com=alice@fwd.example", "", ErrNotSRS},
		{"SRS0", "", ErrNotSRS},
		{"SRS0=lIB0=JL=example.com=bob@fwd.example", "", ErrBadHash},
		{"SRS0=AAAA=JL=example.com=alice@fwd.example", "", ErrBadHash},
		{"SRS0=lIB0=JK=example.com=alice@fwd.example", "", ErrBadHash},
		{"SRS0=lIB0X=JL=example.com=alice@fwd.example", "", ErrBadHash},
		{"SRS1=AAAA=hop1.example==abcd=JL=orig.example=user@fwd.example", "", ErrBadHash},
		{"SRS0=lIB0=JL=example.com@fwd.example", "", ErrMalformed},
		{"SRS0=lIB0=J=example.com=alice@fwd.example", "", ErrMalformed},
		{"SRS0=lIB0=JL==alice@fwd.example", "", ErrMalformed},
		{"SRS0=lIB0=JL=example.com=@fwd.example", "", ErrMalformed},
		{"SRS1=8hN4=hop1.example=@fwd.example", "", ErrMalformed},
		{"SRS1=8hN4=hop1.example@fwd.example", "", ErrMalformed},
		{"SRS0=" + strings.Repeat("a", MaxInput) + "@fwd.example", "", ErrMalformed},
	} {
		got, err := r.Reverse(tc.addr)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("Reverse(%q) = %q, %v; want %q, %v", tc.addr, got, err, tc.want, tc.err)
		}
	}
}

func TestAge(t *testing.T) {
	made := newTest(t, testNow)
	addr, err := made.Forward("alice@example.com", "fwd.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		later  time.Duration
		maxAge time.Duration
		err    error
	}{
		{0, 0, nil},
		{21 * day, 0, nil},
		{22 * day, 0, ErrExpired},
		{-day, 0, ErrExpired}, // from the future
		{1023 * day, 0, ErrExpired},
		{1024 * day, 0, nil}, // the stamp wraps, as the scheme accepts
		{2 * day, 48 * time.Hour, nil},
		{3 * day, 48 * time.Hour, ErrExpired},
		{900 * day, 5000 * day, nil},
	} {
		r := newTest(t, testNow.Add(tc.later))
		r.MaxAge = tc.maxAge
		if _, err := r.Reverse(addr); !errors.Is(err, tc.err) {
			t.Errorf("%v later, max age %v: err %v, want %v", tc.later, tc.maxAge, err, tc.err)
		}
	}
}

func TestRotation(t *testing.T) {
	before := newTest(t, testNow, oldSecret)
	addr, err := before.Forward("alice@example.com", "fwd.example")
	if err != nil {
		t.Fatal(err)
	}
	after := newTest(t, testNow, testSecret, oldSecret)
	if got, err := after.Reverse(addr); err != nil || got != "alice@example.com" {
		t.Errorf("after rotation: %q, %v", got, err)
	}
	signed, _ := after.Forward("alice@example.com", "fwd.example")
	if signed != "SRS0=lIB0=JL=example.com=alice@fwd.example" {
		t.Errorf("after rotation the new secret signs: %q", signed)
	}
	dropped := newTest(t, testNow, testSecret)
	if _, err := dropped.Reverse(addr); !errors.Is(err, ErrBadHash) {
		t.Errorf("with the old secret gone: %v, want ErrBadHash", err)
	}
}

// TestRoundTrip forwards through two hops and comes back.
func TestRoundTrip(t *testing.T) {
	hop1 := newTest(t, testNow)
	hop2 := newTest(t, testNow, oldSecret)
	a1, err := hop1.Forward("Carol.Smith@origin.example", "hop1.example")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := hop2.Forward(a1, "hop2.example")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a2, "SRS1=") || !IsSRS(a2) {
		t.Fatalf("second hop: %q", a2)
	}
	b1, err := hop2.Reverse(a2)
	if err != nil || b1 != a1 {
		t.Fatalf("hop2 reverse: %q, %v; want %q", b1, err, a1)
	}
	if _, err := hop1.Reverse(a2); !errors.Is(err, ErrBadHash) {
		t.Errorf("hop1 accepted hop2's address: %v", err)
	}
	orig, err := hop1.Reverse(strings.ToLower(b1))
	if err != nil || orig != "carol.smith@origin.example" {
		t.Fatalf("hop1 reverse: %q, %v", orig, err)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(); err == nil {
		t.Error("no secret accepted")
	}
	if _, err := New(testSecret, []byte("short")); err == nil {
		t.Error("short secret accepted")
	}
}

func TestIsSRS(t *testing.T) {
	for addr, want := range map[string]bool{
		"SRS0=x@d": true, "srs1+x@d": true, "SRS0-x@d": true, "SRS0x@d": false,
		"SRS2=x@d": false, "srs@d": false, "SRS0=x": false, "alice@d": false,
	} {
		if IsSRS(addr) != want {
			t.Errorf("IsSRS(%q) = %v", addr, !want)
		}
	}
}

func TestLoadSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srs.key")
	first, err := LoadSecrets(path)
	if err != nil || len(first) != 1 || len(first[0]) != secretLength {
		t.Fatalf("creating: %v, %d", err, len(first))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v, %v", fi.Mode(), err)
	}
	again, err := LoadSecrets(path)
	if err != nil || len(again) != 1 || string(again[0]) != string(first[0]) {
		t.Fatalf("the secret changed on reload: %v", err)
	}
	data, _ := os.ReadFile(path)
	rotated := "# new first\nbmV3IHNlY3JldCBvZiBzaXh0ZWVuIGJ5dGVz\n\n" + string(data)
	os.WriteFile(path, []byte(rotated), 0o600)
	got, err := LoadSecrets(path)
	if err != nil || len(got) != 2 || string(got[0]) != "new secret of sixteen bytes" {
		t.Fatalf("rotated: %q, %v", got, err)
	}
	for name, text := range map[string]string{
		"empty": "# nothing\n", "not base64": "!!!\n", "short": "c2hvcnQ=\n",
	} {
		os.WriteFile(path, []byte(text), 0o600)
		if _, err := LoadSecrets(path); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
