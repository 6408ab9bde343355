package mailauth

import (
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/mimeinfo"
)

// FuzzFromDomains compares the From domains found by plainFromDomain, for
// the usual forms of the field, with those mimeinfo's parser reads.
func FuzzFromDomains(f *testing.F) {
	for _, s := range []string{" Joe <joe@bench.example>\r\n", " joe@example.com\r\n", " <a@b>\r\n", " \"Joe\" <j@x.example>\r\n",
		" a@b, c@d\r\n", " Joe (work) <j@x>\r\n", " g: a@b;\r\n", " Joe\r\n <j@x.example>\r\n", " <@route:a@b>\r\n", " a@@b\r\n",
		" <a@MISSING_DOMAIN>\r\n", " =?utf-8?q?J=C3=B6?= <j@x.example>\r\n", " <a@b> x\r\n", " x<a@b>\r\n", " @b\r\n", " a@\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		raw := []byte("From:" + value)
		want := func() []string {
			var out []string
			for _, a := range mimeinfo.ParseAddressList(unfold(value)) {
				if !a.Group && a.Host != "" && a.Host != mimeinfo.MissingDomain {
					out = append(out, a.Host)
				}
			}
			return out
		}()
		h := header{fields: dkim.Header{{Name: "From", Raw: raw}}}
		if got := h.fromDomains(); !slices.Equal(got, want) {
			t.Fatalf("fromDomains = %q, the parser reads %q", got, want)
		}
	})
}

// FuzzIsName compares isName, which tells lengths first, with
// strings.EqualFold, and hasARCField with arc.Present.
func FuzzIsName(f *testing.F) {
	for _, s := range []string{"From", "from", "\xc5\xbfrom", "FROM ", "ARC-\xc5\xbfeal", "arc-seal", "Authentication-Results", "\xe2\x84\xaaey"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		for _, name := range []string{"From", "Authentication-Results", arc.SealField, arc.MessageSigField, arc.AuthResultsField, "Key"} {
			if got, want := isName(field, name), strings.EqualFold(field, name); got != want {
				t.Fatalf("isName(%q, %q) = %v, EqualFold %v", field, name, got, want)
			}
		}
		h := dkim.Header{{Name: "To"}, {Name: field}}
		if got, want := hasARCField(h), arc.Present(h); got != want {
			t.Fatalf("hasARCField(%q) = %v, arc.Present %v", field, got, want)
		}
	})
}
