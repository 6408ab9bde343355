package account

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	long64 := long63 + "a"
	at254 := long64 + "@" + long63 + "." + long63 + "." + strings.Repeat("b", 57) + ".com"
	over255 := long64 + "@" + long63 + "." + long63 + "." + strings.Repeat("b", 58) + ".com"
	if len(at254) != MaxAddressLength || len(over255) != MaxAddressLength+1 {
		t.Fatalf("length rows are %d and %d octets", len(at254), len(over255))
	}
	tests := []struct {
		in   string
		want string // normalised String(); "" means an error is expected
	}{
		// Plain and case.
		{"user@example.com", "user@example.com"},
		{"User@Example.COM", "user@example.com"},
		{"first.last+tag@sub.example.org", "first.last+tag@sub.example.org"},
		{"!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~@example.com"},
		// IDN domains become A-labels; A-labels stay.
		{"user@bücher.example", "user@xn--bcher-kva.example"},
		{"user@BÜCHER.example", "user@xn--bcher-kva.example"},
		{"user@XN--BCHER-KVA.example", "user@xn--bcher-kva.example"},
		{"user@straße.de", "user@xn--strae-oqa.de"}, // IDNA 2008: ß is kept, not mapped to ss
		{"user@ＥＸＡＭＰＬＥ.com", "user@example.com"},    // full-width mapped by UTS #46
		// UTF-8 local parts (RFC 6531): lower-cased and NFC-normalised.
		{"Jürgen@example.com", "jürgen@example.com"},
		{"ju\u0308rgen@example.com", "jürgen@example.com"}, // decomposed ü composed
		{"ÅSA@example.com", "åsa@example.com"},
		{"用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"},
		// Quoted local parts: unquoted when a dot-atom, else kept quoted.
		{`"user"@example.com`, "user@example.com"},
		{`"John Doe"@example.com`, `"john doe"@example.com`},
		{`"a@b"@example.com`, `"a@b"@example.com`},
		{`"a\"b"@example.com`, `"a\"b"@example.com`},
		{`"a\\b"@example.com`, `"a\\b"@example.com`},
		{`"\a"@example.com`, "a@example.com"},
		{`"a..b"@example.com`, `"a..b"@example.com`},
		{`".a"@example.com`, `".a"@example.com`},
		// Lengths.
		{long64 + "@example.com", long64 + "@example.com"},
		{long63 + "aa@example.com", ""},
		{`"` + long63 + `"@example.com`, long63 + "@example.com"},
		{`"` + long63 + ` "@example.com`, ""}, // 66 octets once quoted
		{"a@" + long63 + ".com", "a@" + long63 + ".com"},
		{"a@" + long63 + "a.com", ""},
		{"a@" + strings.Repeat(long63+".", 4) + "com", ""}, // domain of 259 octets
		{at254, at254},
		{over255, ""},
		{"A" + at254[1:], at254},
		{strings.Repeat("x", 5000) + "@example.com", ""},
		// Empty and missing parts.
		{"", ""},
		{"@", ""},
		{"user@", ""},
		{"@example.com", ""},
		{`""@example.com`, ""},
		{"user", ""},
		// Spaces and control characters.
		{" user@example.com", ""},
		{"user@example.com ", ""},
		{"us er@example.com", ""},
		{"user@exa mple.com", ""},
		{"us\x00er@example.com", ""},
		{"us\ter@example.com", ""},
		{"user\r\n@example.com", ""},
		{"\"us\ter\"@example.com", ""},
		{"\"us\x7fer\"@example.com", ""},
		{"us\u0085er@example.com", ""}, // C1 control
		{"us\u200ber@example.com", ""}, // zero-width space
		{"us\u00a0er@example.com", ""}, // no-break space
		{"us\xffer@example.com", ""},   // not UTF-8
		// Dots.
		{".user@example.com", ""},
		{"user.@example.com", ""},
		{"us..er@example.com", ""},
		{"user@example..com", ""},
		{"user@.example.com", ""},
		{"user@example.com.", ""},
		// More than one @, stray quotes and brackets.
		{"a@b@c", ""},
		{"a@b@example.com", ""},
		{`"a"b@example.com`, ""},
		{`"ab@example.com`, ""},
		{`a"b"@example.com`, ""},
		{`"a\`, ""},
		{"<user@example.com>", ""},
		{"user(comment)@example.com", ""},
		// Domains that are not hosted names.
		{"user@[192.0.2.1]", ""},
		{"user@[IPv6:2001:db8::1]", ""},
		{"user@192.0.2.1", ""},
		{"user@localhost", ""},
		{"user@example.123", ""},
		{"user@-example.com", ""},
		{"user@example-.com", ""},
		{"user@exa_mple.com", ""},
		{"user@xn--zz.com", ""},
		{"user@ab--cd.com", ""},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseAddress(%q) = %q, want error", tt.in, got)
			} else if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseAddress(%q) error %v does not wrap ErrInvalid", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAddress(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParseAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got.IsCatchAll() {
			t.Errorf("ParseAddress(%q) is a catch-all", tt.in)
		}
		again, err := ParseAddress(got.String())
		if err != nil || again != got {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
}

func TestAddressFields(t *testing.T) {
	a, err := ParseAddress(`"John Doe"@Bücher.Example`)
	if err != nil {
		t.Fatal(err)
	}
	want := Address{Local: "john doe", Domain: "xn--bcher-kva.example"}
	if a != want {
		t.Errorf("got %+v, want %+v", a, want)
	}
}

func TestParseCatchAll(t *testing.T) {
	tests := []struct{ in, want string }{
		{"@example.com", "@example.com"},
		{"@Bücher.Example", "@xn--bcher-kva.example"},
		{"example.com", ""},
		{"@", ""},
		{"@@example.com", ""},
		{"a@example.com", ""},
		{"@[192.0.2.1]", ""},
		{"@example.com.", ""},
		{"@exa mple.com", ""},
	}
	for _, tt := range tests {
		got, err := ParseCatchAll(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseCatchAll(%q) = %+v, %v; want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got.String() != tt.want || !got.IsCatchAll() {
			t.Errorf("ParseCatchAll(%q) = %q (catch-all %v), %v; want %q", tt.in, got, got.IsCatchAll(), err, tt.want)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"a。b.example", "a.b.example"}, // ideographic full stop is a dot (UTS #46)
		{"mail.example.test", "mail.example.test"},
		{"1password.com", "1password.com"},
		{"", ""},
		{".", ""},
		{"example.com..", ""},
		{"com", ""},
		{"localhost.", ""},
		{"[192.0.2.1]", ""},
		{"192.0.2.1", ""},
		{"::1", ""},
		{"2001:db8::1", ""},
		{"example.42", ""},
		{"exa mple.com", ""},
		{"exa_mple.com", ""},
		{"exa@mple.com", ""},
		{"example.com/x", ""},
		{"-example.com", ""},
		{strings.Repeat("a", 64) + ".com", ""},
		{strings.Repeat("a.", 127) + "com", ""}, // 257 octets
		{"\u200d.com", ""},
		{"ex\xffample.com", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeDomain(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestErrorsQuoteInput(t *testing.T) {
	// Errors are shown to administrators and logged: control characters in
	// the input must come out escaped, never raw.
	_, err := ParseAddress("a\r\nb@example.com")
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("error %q contains raw control characters", err)
	}
}
