package account

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAddress checks that ParseAddress never panics, rejects only with
// ErrInvalid, and that its output is a fixed point: parsing String() gives
// the same Address, within the length limits. The seed corpus is in
// testdata/fuzz/FuzzParseAddress.
func FuzzParseAddress(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseAddress(%q): error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		out := a.String()
		if a.IsCatchAll() || len(out) > MaxAddressLength || !utf8.ValidString(out) {
			t.Fatalf("ParseAddress(%q) = %q: empty local part, too long or not UTF-8", s, out)
		}
		b, err := ParseAddress(out)
		if err != nil {
			t.Fatalf("ParseAddress(%q) = %q, which does not parse: %v", s, out, err)
		}
		if b != a || b.String() != out {
			t.Fatalf("ParseAddress(%q) = %+v, but ParseAddress(%q) = %+v", s, a, out, b)
		}
		if d, err := NormalizeDomain(a.Domain); err != nil || d != a.Domain {
			t.Fatalf("NormalizeDomain(%q) = %q, %v", a.Domain, d, err)
		}
		if c, err := ParseCatchAll("@" + a.Domain); err != nil || c.Domain != a.Domain {
			t.Fatalf("ParseCatchAll(@%s) = %+v, %v", a.Domain, c, err)
		}
	})
}

// FuzzCredentialCode checks how typed app passwords and recovery codes are
// read: normalizeCode is idempotent, never panics, keeps nothing of the
// separators; a code has the generated shape only if it is made of the
// alphabet; and hyphens, spaces and case never change the hash.
func FuzzCredentialCode(f *testing.F) {
	for _, s := range []string{randomCode(appPasswordLetters), randomCode(recoveryCodeLetters), "ABCD EFGH", "", "-- --", "café-\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeCode(s)
		if normalizeCode(n) != n {
			t.Fatalf("normalizeCode(%q) = %q, not a fixed point", s, n)
		}
		for _, r := range n {
			if r == '-' || r == ' ' || ('A' <= r && r <= 'Z') {
				t.Fatalf("normalizeCode(%q) = %q keeps %q", s, n, r)
			}
		}
		for _, letters := range []int{appPasswordLetters, recoveryCodeLetters} {
			if looksGenerated(s, letters) && (len(n) != letters || strings.Trim(n, credentialAlphabet) != "") {
				t.Fatalf("looksGenerated(%q, %d) for %q", s, letters, n)
			}
		}
		upper := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, n)
		if string(credentialHash(s)) != string(credentialHash(upper)) {
			t.Fatalf("hash of %q differs from that of %q", s, upper)
		}
	})
}
