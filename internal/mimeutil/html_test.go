package mimeutil

import (
	"strings"
	"testing"
)

func TestHTMLText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>Hello</p><p>world</p>", "Hello world"},
		{"wor<b>ld</b> &amp; <I>more</I>", "world & more"},
		{"<html><head><title>t</title></head><body>x</body>", "x"},
		{"a<script>var s = '<p>';</script>b", "a b"},
		{"a<STYLE>p {}</style >b", "a b"},
		{"a<!-- <p>hidden</p> -->b", "ab"},
		{"a<!-- never closed", "a"},
		{"a<style>p { color: red", "a"},
		{"caf&eacute;&nbsp;&#233;", "café é"},
		{"x <br/> y", "x y"},
		{"x < y", "x"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := HTMLText(tc.in); got != tc.want {
			t.Errorf("HTMLText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzHTMLText checks that any input reduces without panicking to text
// with its white space collapsed.
func FuzzHTMLText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<script>x", "<!--", "&amp;<b>c</B>", "<style>a</style"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := HTMLText(s)
		if got != strings.Join(strings.Fields(got), " ") {
			t.Fatalf("white space not collapsed: %q", got)
		}
	})
}
