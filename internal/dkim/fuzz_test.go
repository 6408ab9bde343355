package dkim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

func FuzzParseSignature(f *testing.F) {
	f.Add("v=1; a=rsa-sha256; c=relaxed/simple; d=example.com; s=sel; h=from:to; bh=AAAA; b=AAAA")
	f.Add("v=1; a=ed25519-sha256; d=a.b; i=x@a.b; s=s; h=From; bh=AA==; b=AA==; l=10; t=1; x=2; q=dns/txt")
	f.Add("v=1;;; a = x ;\r\n\tb=\r\n AAAA")
	f.Add("v=1; a=rsa-sha256; d=example.org; s=s; h=From:\x7fTo; bh=AAAA; b=AA\r\n\x00AA")
	f.Add("v=1; a=rsa-sha256; d=example.org; s=s; h = from :\r\n subject ; bh=AAAA; b=AA\r\n\tAA; c=simple; q=DNS/TXT:x")
	f.Add("From:From:Content-Transfer-Encoding:List-Unsubscribe-Post :\r\n Message-ID:To")
	f.Add("Content-Transfer-Encoding:List-Unsu\x7fbscribe:Sub:ject")
	f.Fuzz(func(t *testing.T, value string) {
		sig, err := ParseSignature(value)
		ref, refOK := refParseSignature(value)
		if _, tagErr := ParseTagList(value); (tagErr == nil) != func() bool { _, ok := refParseTagList(value); return ok }() {
			t.Fatalf("ParseTagList: %v, the plain definition disagrees", tagErr)
		}
		if (err == nil) != refOK {
			t.Fatalf("ParseSignature: %v, the plain definition: ok=%v", err, refOK)
		}
		if err == nil && !reflect.DeepEqual(sig, ref) {
			t.Fatalf("ParseSignature:\n%+v\nthe plain definition:\n%+v", sig, ref)
		}
		if names, err := ParseHeaderNames(value); func() bool {
			want, ok := refHeaderNames(value)
			return ok != (err == nil) || ok && !slices.Equal(names, want)
		}() {
			t.Fatalf("ParseHeaderNames = %q, %v; the plain definition disagrees", names, err)
		}
		if i, want := indexBelow(value, 0x21), strings.IndexFunc(value, func(r rune) bool { return r < 0x21 }); i != want {
			t.Fatalf("indexBelow = %d, want %d", i, want)
		}
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error not wrapping ErrSyntax: %v", err)
			}
			return
		}
		if sig.Domain == "" || len(sig.Headers) == 0 || !IsSubdomain(identityDomain(sig.Identity), sig.Domain) {
			t.Fatalf("accepted an incomplete signature: %+v", sig)
		}
	})
}

func FuzzParseKeyRecord(f *testing.F) {
	f.Add("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	f.Add("v=DKIM1; k=rsa; t=y:s; h=sha256; s=email; p=")
	if data, err := os.ReadFile(filepath.Join(conformanceDir, "dns-zone.txt")); err == nil {
		for line := range strings.Lines(string(data)) {
			if _, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
				f.Add(v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, txt string) {
		k, err := ParseKeyRecord(txt)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrKeyRevoked) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if k.PublicKey == nil || (k.Type != "rsa" && k.Type != "ed25519") {
			t.Fatalf("accepted a record without a usable key: %+v", k)
		}
	})
}

// FuzzVerify runs the verifier on arbitrary messages. Keys are whatever the
// shared zone holds; the point is that no input crashes, hangs or gives a
// pass to a signature whose h= lacks From.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(testMessage))
	f.Add([]byte("DKIM-Signature: v=1; a=ed25519-sha256; d=example.net; s=test; h=from; bh=AA==; b=AA==; l=3\r\nFrom: x\r\n\r\nbody"))
	for _, name := range []string{"dkimpy-data/rfc6376.signed.msg", "oracle-vectors/rsa-ltag-appended.eml", "dkimpy-data/test2.message"} {
		if data, err := os.ReadFile(filepath.Join(conformanceDir, name)); err == nil {
			f.Add(data)
		}
	}
	dns := dnsfake.NewTXT()
	if data, err := os.ReadFile(filepath.Join(conformanceDir, "dns-zone.txt")); err == nil {
		for line := range strings.Lines(string(data)) {
			if n, v, ok := strings.Cut(strings.TrimSpace(line), " "); ok && !strings.HasPrefix(n, "#") {
				dns.Add(n, v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		v := &Verifier{Resolver: dns, MaxHeaderSize: 64 << 10}
		res, err := v.Verify(context.Background(), bytes.NewReader(msg))
		if err != nil {
			return
		}
		for _, r := range res {
			if r.Status == "" {
				t.Fatalf("result without status: %+v", r)
			}
			if r.Status == StatusPass && r.Signature == nil {
				t.Fatalf("pass without a parsed signature: %+v", r)
			}
		}
	})
}

// FuzzBase64 compares the one-pass decoder of the usual b= and bh= values
// with the plain definition (whitespace removed, then the standard
// decoder): whatever it accepts must decode alike.
func FuzzBase64(f *testing.F) {
	for _, s := range []string{"", "AAAA", "AA==", "AAA=", "A===", "AB\r\n\tCD", "AB=\r\n =", "AB==CD", "A", "AB", "ABC",
		"Zm9v YmFy", "Zm9vYg==\r\n", "Zm9vYmE= ", "Zm9v=mE=", "Zm\x00", "Zh==", "Zm9=", "////", "+/+/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantOK := refBase64(s)
		got, err := appendBase64([]byte("x"), s)
		if (err == nil) != wantOK || err == nil && !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("appendBase64(%q) = %q, %v; want %q, ok=%v", s, got, err, want, wantOK)
		}
		if fast, ok := appendBase64Usual(nil, s); ok && (!wantOK || !bytes.Equal(fast, want)) {
			t.Fatalf("appendBase64Usual(%q) = %q; want %q, ok=%v", s, fast, want, wantOK)
		}
	})
}

// FuzzStripSpan checks that removing b= where parsing the tag list found
// it gives what StripSignatureValue gives.
func FuzzStripSpan(f *testing.F) {
	f.Add("v=1; a=rsa-sha256; b=AAAA; bh=AAAA\r\n")
	f.Add(" v=1; bh=AA==;\r\n\tb=\r\n AAAA\r\n")
	f.Add("b = AA ; c=x")
	f.Add("b=;")
	f.Fuzz(func(t *testing.T, value string) {
		_, b, err := parseTagListSpan(value, nil)
		if err != nil || b == (span{}) {
			return
		}
		field := []byte("DKIM-Signature:" + value)
		want, err := StripSignatureValue(field)
		if err != nil {
			t.Fatalf("StripSignatureValue: %v, though the tag list has b=", err)
		}
		if got := appendStrippedSpan(nil, field, b); !bytes.Equal(got, want) {
			t.Fatalf("appendStrippedSpan = %q, StripSignatureValue = %q", got, want)
		}
	})
}

// FuzzReadHeader compares reading a header section from what is buffered
// (bufferedHeader) with reading it line by line: the same fields, the same
// error, the reader left at the same byte.
func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{"From: a\r\nTo: b\r\n folded\r\n\r\nbody", "A: 1\nB: 2\r\n\r\n", " lead\r\nA: 1\r\n\r\n",
		"\r\nbody", "A: 1\r\n", "A: 1\r\n\n", "A: 1\r\r\n\r\n", "no colon\r\n\r\nx", "A: " + strings.Repeat("x", 80) + "\r\n\r\n"} {
		f.Add(s, 0)
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, msg string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		fast := bufio.NewReaderSize(strings.NewReader(msg), 1<<16)
		h, _, err := ReadHeaderBuf(fast, max, nil)
		slow := bufio.NewReaderSize(strings.NewReader(msg), 1<<16)
		if max <= 0 {
			max = MaxHeaderSize
		}
		want, _, wantErr := readHeaderLines(slow, max, nil, nil)
		if !errors.Is(err, wantErr) && err != wantErr {
			t.Fatalf("error %v, line by line %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(h, want) {
			t.Fatalf("fields %q, line by line %q", h, want)
		}
		for _, f := range h {
			if _, v, ok := strings.Cut(string(f.Raw), ":"); f.Value() != v || !ok && f.Value() != "" {
				t.Fatalf("field %q: Value %q", f.Raw, f.Value())
			}
		}
		rest, _ := io.ReadAll(fast)
		wantRest, _ := io.ReadAll(slow)
		if !bytes.Equal(rest, wantRest) {
			t.Fatalf("body %q, line by line %q", rest, wantRest)
		}
	})
}

// FuzzSelectFields compares the selection of the fields a signature
// covers, as the header hash makes it (appendSelectedCanon), with the rule
// of RFC 6376 section 5.4.2 written plainly (refSelectFields).
func FuzzSelectFields(f *testing.F) {
	f.Add("From: a\r\nTo: b\r\nto: c\r\nSubject: s\r\n\r\n", "From:From:To:To:to:Subject:Cc:Cc:TO")
	f.Add("from: a\r\nFROM: b\r\nX: 1\r\n\r\n", "From:x:FROM:from:From:X:X")
	f.Add("\xc5\xbf\xc5\xbfk: a\r\nssK: b\r\n\r\n", "ssK:ssk:SSK")
	f.Fuzz(func(t *testing.T, header, list string) {
		h, err := ReadHeader(bufio.NewReader(strings.NewReader(header)), 0)
		if err != nil {
			return
		}
		names, err := ParseHeaderNames(list)
		if err != nil {
			return
		}
		for _, c := range []Canon{Simple, Relaxed} {
			var want []byte
			for _, f := range refSelectFields(h, names) {
				if f != nil {
					want = CanonHeader(want, c, f)
				}
			}
			if got := appendSelectedCanon(nil, c, h, names); !bytes.Equal(got, want) {
				t.Fatalf("%s: appendSelectedCanon = %q, the plain rule %q", c, got, want)
			}
		}
	})
}

// FuzzHeaderList compares the h= list a signer writes (oversigning) with
// the plain definition, for the default names and for names of its own.
func FuzzHeaderList(f *testing.F) {
	f.Add("From: a\r\nTo: b\r\nto: c\r\nSubject: s\r\nX-Y: 1\r\n\r\n", "")
	f.Add("FROM: a\r\nfrom: b\r\nList-Id: x\r\n\r\n", "To:x-y:TO:From:X-Y")
	f.Add("\xc5\xbfubject: a\r\nSubject: b\r\n\r\n", "subject")
	f.Fuzz(func(t *testing.T, header, list string) {
		h, err := ReadHeader(bufio.NewReader(strings.NewReader(header)), 0)
		if err != nil {
			return
		}
		s := &Signer{}
		if list != "" {
			if s.Headers, err = ParseHeaderNames(list); err != nil {
				return
			}
		}
		if got, want := s.headerList(h), refHeaderList(s, h); !slices.Equal(got, want) {
			t.Fatalf("headerList = %q, the plain definition %q", got, want)
		}
	})
}

// FuzzValidLabels compares validLabels with the labels split plainly.
func FuzzValidLabels(f *testing.F) {
	for _, s := range []string{"example.com", "a..b", ".a", "a.", "", "x_y.z", "-a.b", strings.Repeat("a", 64) + ".b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, underscore := range []bool{false, true} {
			want := !slices.ContainsFunc(strings.Split(s, "."), func(l string) bool { return !validLabel(l, underscore) })
			if got := validLabels(s, underscore); got != want {
				t.Fatalf("validLabels(%q, %v) = %v, want %v", s, underscore, got, want)
			}
		}
	})
}

// FuzzIsSignatureField checks the length test before EqualFold.
func FuzzIsSignatureField(f *testing.F) {
	for _, s := range []string{"DKIM-Signature", "dkim-signature", "DKIM-Signatur", "D\u212aIM-\u017fignature", "From", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got, want := isSignatureField(name), strings.EqualFold(name, "DKIM-Signature"); got != want {
			t.Fatalf("isSignatureField(%q) = %v, want %v", name, got, want)
		}
	})
}

// FuzzHeaderInPlace: HeaderInPlace finds, when it finds anything, the
// fields reading the message line by line finds, and leaves the same body.
func FuzzHeaderInPlace(f *testing.F) {
	for _, s := range []string{"From: a\r\nTo: b\r\n folded\r\n\r\nbody", "A: 1\nB: 2\r\n\r\n", " lead\r\nA: 1\r\n\r\n",
		"\r\nbody", "A: 1\r\n", "A: 1\r\n\n", "A: 1\r\r\n\r\n", "no colon\r\n\r\nx", "A: 1\r\n\r\n", "",
		"A: 1\r\nB: 2\nC: 3\r\n\r\nx", "A: 1\r\n\r\nbare\nLF\r\n", "A: " + strings.Repeat("x", 80) + "\r\n\r\n"} {
		f.Add(s, 0)
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, msg string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		h, body, ok := HeaderInPlace([]byte(msg), max, nil)
		if !ok {
			return
		}
		if max <= 0 {
			max = MaxHeaderSize
		}
		slow := bufio.NewReaderSize(strings.NewReader(msg), 1<<16)
		want, _, err := readHeaderLines(slow, max, nil, nil)
		if err != nil {
			t.Fatalf("in place %q, line by line %v", h, err)
		}
		if !reflect.DeepEqual(h, want) {
			t.Fatalf("fields %q, line by line %q", h, want)
		}
		wantBody, _ := io.ReadAll(slow)
		if !bytes.Equal(body, wantBody) {
			t.Fatalf("body %q, line by line %q", body, wantBody)
		}
	})
}
