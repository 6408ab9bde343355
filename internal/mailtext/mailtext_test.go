package mailtext

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestExtract(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		// want are substrings of the folded body (or, with "H:", header).
		want []string
		// not must not be found in the folded header or body.
		not []string
	}{
		{
			name: "plain utf-8",
			msg:  "Subject: hi\n\nGrüße aus Köln\n",
			want: []string{"grüsse aus köln"},
		},
		{
			name: "base64 body",
			msg: "Subject: b64\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
				"U2VjcmV0IHBsYW5zIGZvciB0aGUg\nbW9vbiBiYXNl\n",
			want: []string{"secret plans for the moon base"},
			not:  []string{"u2vjcmv0"},
		},
		{
			name: "quoted-printable latin-1",
			msg: "Subject: qp\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" +
				"Caf=E9 cr=E8me, tr=\nes bien\n",
			want: []string{"café crème, tres bien"},
			not:  []string{"=e9"},
		},
		{
			name: "latin-1 8bit",
			msg:  "Content-Type: text/plain; charset=iso-8859-1\n\nna\xefve\n",
			want: []string{"naïve"},
		},
		{
			name: "encoded-word subject",
			msg:  "Subject: =?UTF-8?B?UsOpdW5pb24=?= =?iso-8859-1?q?d=E9cid=E9e?=\nFrom: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>\n\nbody\n",
			want: []string{"H:subject: réuniondécidée", "H:from: jörg <jorg@example.org>"},
			not:  []string{"=?utf-8"},
		},
		{
			name: "html",
			msg: "Content-Type: text/html; charset=utf-8\n\n<html><head><title>t1tle</title><style>p{color:red}</style></head>" +
				"<body><p>Hello&nbsp;<b>wor</b>ld &amp; friends</p><script>var hidden=1</script><!-- secret --></body></html>\n",
			want: []string{"hello world & friends"},
			not:  []string{"color", "hidden", "secret", "t1tle", "<p>"},
		},
		{
			name: "multipart with attachment",
			msg: "Content-Type: multipart/mixed; boundary=XX\n\npreamble\n--XX\nContent-Type: text/plain\n\nfirst part\n--XX\n" +
				"Content-Type: image/png\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.png\nContent-Transfer-Encoding: base64\n\n" +
				"aW1hZ2VieXRlc2luc2lkZQ==\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nsecond =C3=A9t=C3=A9\n--XX--\nepilogue\n",
			want: []string{"first part", "résumé.png", "second été"},
			not:  []string{"imagebytesinside", "preamble", "epilogue"},
		},
		{
			name: "attached message",
			msg:  "Content-Type: message/rfc822\n\nSubject: =?utf-8?q?inner_s=C3=BCbject?=\nContent-Type: text/plain\n\ninner body\n",
			want: []string{"subject: inner sübject", "inner body"},
		},
		{
			name: "not a header",
			msg:  "no header here\njust text\n",
			want: nil,
		},
		{
			name: "unknown charset and NUL",
			msg:  "Content-Type: text/plain; charset=x-unknown\n\nok\x00text \xff\n",
			want: []string{"oktext \ufffd"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ExtractBytes([]byte(crlf(tc.msg))).Fold()
			for _, w := range tc.want {
				if h, ok := strings.CutPrefix(w, "H:"); ok {
					if !strings.Contains(got.Header, h) {
						t.Errorf("header %q lacks %q", got.Header, h)
					}
				} else if !strings.Contains(got.Body, Fold(w)) {
					t.Errorf("body %q lacks %q", got.Body, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got.Body, n) || strings.Contains(got.Header, n) {
					t.Errorf("found %q in %+v", n, got)
				}
			}
		})
	}
}

func TestFields(t *testing.T) {
	got := ExtractBytes([]byte(crlf("From: a@example.org\nTo: b@example.org,\n c@example.org\nCc: =?utf-8?q?Z=C3=BC?= <z@x>\nBcc: q@x\nSubject: one\nSubject: two\n\n")))
	want := Text{Subject: "one", From: "a@example.org", To: "b@example.org, c@example.org", Cc: "Zü <z@x>", Bcc: "q@x"}
	got.Header, got.Body = "", ""
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestValues(t *testing.T) {
	got := ExtractBytes([]byte(crlf("X-Tag: one\nx-tag: =?utf-8?q?two=0Athree?=\nOther: no\n\nbody\n")))
	want := []string{"one", "two three"}
	if v := got.Values("X-TAG"); !slices.Equal(v, want) {
		t.Errorf("Values = %q, want %q", v, want)
	}
	if v := got.Values("Missing"); v != nil {
		t.Errorf("Values(Missing) = %q", v)
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"HELLO", "hello"}, {"Straße", "STRASSE"}, {"ΣΊΣΥΦΟΣ", "σίσυφοσ"}, {"ﬁle", "FILE"}, {"Ｆｕｌｌ", "full"},
	} {
		if Fold(tc.a) != Fold(tc.b) {
			t.Errorf("Fold(%q) = %q, Fold(%q) = %q", tc.a, Fold(tc.a), tc.b, Fold(tc.b))
		}
	}
}

func TestBounds(t *testing.T) {
	// The text kept stops at MaxText.
	big := "Content-Type: text/plain\n\n" + strings.Repeat("word ", MaxText/4)
	got := ExtractBytes([]byte(big))
	if n := len(got.Header) + len(got.Body); n > MaxText {
		t.Errorf("kept %d bytes, more than %d", n, MaxText)
	}
	// Deep nesting stops at MaxDepth instead of recursing without end.
	var b strings.Builder
	for i := range 200 {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i) + "\n\n--b" + strings.Repeat("x", i) + "\n")
	}
	b.WriteString("Content-Type: text/plain\n\ndeepest\n")
	if got := ExtractBytes([]byte(b.String())); strings.Contains(got.Body, "deepest") {
		t.Error("text below MaxDepth was extracted")
	}
	// Many parts stop at MaxParts.
	b.Reset()
	b.WriteString("Content-Type: multipart/mixed; boundary=B\n\n")
	for i := range MaxParts + 10 {
		b.WriteString("--B\n\npart" + strings.Repeat("z", i%3) + "\n")
	}
	got = ExtractBytes([]byte(b.String()))
	if n := strings.Count(got.Body, "part"); n >= MaxParts {
		t.Errorf("%d parts extracted, want fewer than %d", n, MaxParts)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(crlf("Subject: =?utf-8?b?w6k=?=\nContent-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/html; charset=latin1\nContent-Transfer-Encoding: quoted-printable\n\n<p>caf=E9</p>\n--a--\n")))
	f.Add([]byte("Content-Type: message/rfc822\n\nContent-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n//5hAA==\n"))
	f.Add([]byte("Content-Type: text/html\n\n<script>x<style"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got := ExtractBytes(raw)
		for _, s := range []string{got.Header, got.Subject, got.From, got.To, got.Cc, got.Bcc, got.Body} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("invalid text %q", s)
			}
		}
		if len(got.Header)+len(got.Body) > MaxText {
			t.Fatalf("%d bytes kept", len(got.Header)+len(got.Body))
		}
		f := got.Fold()
		if !utf8.ValidString(f.Body) || strings.IndexByte(f.Body, 0) >= 0 {
			t.Fatalf("invalid folded text %q", f.Body)
		}
	})
}
