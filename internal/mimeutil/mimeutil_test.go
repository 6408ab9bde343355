package mimeutil

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in   string
		body int
		want Header
	}{
		{"Subject: a\r\n b\r\n\r\nbody", 18, Header{{"Subject", "a b"}}},
		{"Subject:\r\n  x\r\nTo: y\n\n", 22, Header{{"Subject", "x"}, {"To", "y"}}},
		{"From: a\r\n\t\r\nnot a field\r\nTo : b\r\n", 33, Header{{"From", "a"}, {"To", "b"}}},
		{"no header here\r\nFrom: a\r\n\r\n", 0, nil},
		{"\r\nbody", 2, nil},
		{"", 0, nil},
		{" leading: continuation\n", 23, nil},
	}
	for _, tc := range tests {
		body, h := ParseHeader([]byte(tc.in))
		if body != tc.body || !reflect.DeepEqual(h, tc.want) {
			t.Errorf("ParseHeader(%q) = %d, %q; want %d, %q", tc.in, body, h, tc.body, tc.want)
		}
	}
}

func TestParseHeaderBound(t *testing.T) {
	var b strings.Builder
	for range MaxFields + 5 {
		b.WriteString("X-A: 1\r\n cont\r\n")
	}
	b.WriteString("\r\n")
	body, h := ParseHeader([]byte(b.String()))
	if body != b.Len() || len(h) != MaxFields || h[len(h)-1].Value != "1 cont" {
		t.Fatalf("got %d fields, body at %d, last %q", len(h), body, h[len(h)-1])
	}
}

func TestHeaderGet(t *testing.T) {
	h := Header{{"Subject", "one"}, {"subject", "two"}}
	if h.Get("SUBJECT") != "one" || h.Get("To") != "" || !h.Has("subJect") || h.Has("To") {
		t.Fatalf("Get/Has on %q", h)
	}
}

func TestDecodeWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"=?utf-8?q?J=C3=B6rg?= <j@x>", "Jörg <j@x>"},
		{"=?iso-8859-1?q?foo_b=E4r?=", "foo bär"},
		{"=?windows-1252?B?gA==?=", "€"},
		{"=?x-unknown?q?a?=", "=?x-unknown?q?a?="},
		{"=?utf-8?q?broken", "=?utf-8?q?broken"},
	}
	for _, tc := range tests {
		if got := DecodeWords(tc.in); got != tc.want {
			t.Errorf("DecodeWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestToUTF8(t *testing.T) {
	tests := []struct{ cs, in, want string }{
		{"ISO-8859-1", "caf\xe9", "café"},
		{" koi8-r ", "\xf0\xd2\xc9", "При"},
		{"", "caf\xe9", "caf\xe9"},
		{"utf-8", "é", "é"},
		{"no-such-charset", "x\xff", "x\xff"},
	}
	for _, tc := range tests {
		if got := string(ToUTF8(tc.cs, []byte(tc.in))); got != tc.want {
			t.Errorf("ToUTF8(%q, %q) = %q, want %q", tc.cs, tc.in, got, tc.want)
		}
	}
}

func TestTransferReader(t *testing.T) {
	tests := []struct {
		cte, in, want string
		fails         bool
	}{
		{"base64", "aGVs\r\nbG8g\r\n d29y bGQ=\r\n", "hello world", false},
		{" Base64", "aGVsbG8=", "hello", false},
		{"quoted-printable", "caf=C3=A9 =\r\nau lait", "café au lait", false},
		{"7bit", "as =3D is", "as =3D is", false},
		{"x-unknown", "raw", "raw", false},
		{"base64", "aGVs!!bG8*=", "hello", false},
		{"base64", "aGVsbG8=\r\nZm9v\r\n", "hello", true},
		{"base64", "aGVsbG8", "hel", true}, // a cut quantum is lost
		{"base64", "aGVsbG8gd29ybGQ", "hello wor", true},
	}
	for _, tc := range tests {
		got, err := io.ReadAll(TransferReader(tc.cte, strings.NewReader(tc.in)))
		if string(got) != tc.want || (err != nil) != tc.fails {
			t.Errorf("TransferReader(%q, %q) = %q, %v; want %q", tc.cte, tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseHeader checks that any input splits without panicking, into a
// body offset within it and at most MaxFields fields without line ends.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"A: b\r\n c\r\n\r\nbody", "x\n", ":\n :\n\n", "A:\n\tb\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		body, h := ParseHeader(b)
		if body < 0 || body > len(b) || len(h) > MaxFields {
			t.Fatalf("body at %d of %d, %d fields", body, len(b), len(h))
		}
		for _, f := range h {
			if strings.Contains(f.Value, "\n") || bytes.Contains([]byte(f.Name), []byte("\n")) {
				t.Fatalf("field with a line break: %q", f)
			}
		}
	})
}
