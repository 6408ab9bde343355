package authres

import (
	"strings"
	"testing"
	"unicode"
)

// refSignaturePrefix is signaturePrefix by its plain definition: all white
// space removed, then the first SignaturePrefix bytes.
func refSignaturePrefix(signature string) string {
	s := strings.TrimLeftFunc(signature, unicode.IsSpace)
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 && i < SignaturePrefix {
		s = strings.Join(strings.Fields(s), "")
	}
	if len(s) > SignaturePrefix {
		s = s[:SignaturePrefix]
	}
	return s
}

func TestSignaturePrefix(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Lq/8w+3aXpYq0r1Kc9Zt", "Lq/8w+3a"},
		{"  \r\n Lq/8w+3aXpYq", "Lq/8w+3a"},
		{"Lq/8\r\n w+3aXpYq", "Lq/8w+3a"},
		{"Lq/8w+3aX p", "Lq/8w+3a"},
		{"Lq/\u00a08w+3aXp", "Lq/8w+3a"},
		{"short", "short"},
		{"", ""},
	} {
		if got := signaturePrefix(tt.in); got != tt.want {
			t.Errorf("signaturePrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSignaturePrefix(f *testing.F) {
	for _, s := range []string{"Lq/8w+3aXpYq0r1K", " a b c d e f g h i", "abc\u2003defghij", "ab\xffcd efgh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := signaturePrefix(s), refSignaturePrefix(s); got != want {
			t.Fatalf("signaturePrefix(%q) = %q, the plain definition %q", s, got, want)
		}
	})
}
