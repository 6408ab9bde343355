package mailauth

import (
	"slices"
	"testing"

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
