package dkim

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func canonBody(t testing.TB, c Canon, body string, chunks []int) string {
	t.Helper()
	var out bytes.Buffer
	bc := NewBodyCanonicalizer(c, &out)
	p := []byte(body)
	for _, n := range chunks {
		n = min(n, len(p))
		bc.Write(p[:n])
		p = p[n:]
	}
	bc.Write(p)
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestBodyCanon(t *testing.T) {
	for _, tc := range []struct {
		in, simple, relaxed string
	}{
		{"", "\r\n", ""},
		{"\r\n", "\r\n", ""},
		{"\r\n\r\n\r\n", "\r\n", ""},
		{"a", "a\r\n", "a\r\n"},
		{"a\r\n", "a\r\n", "a\r\n"},
		{"a\r\n\r\n", "a\r\n", "a\r\n"},
		{"a\n\nb\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
		{" C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
		{"a  \t b\t\r\n \t\r\nc", "a  \t b\t\r\n \t\r\nc\r\n", "a b\r\n\r\nc\r\n"},
		{"x\r\n \r\n\t\r\n", "x\r\n \r\n\t\r\n", "x\r\n"},
		{"bare\rcr\r\n", "bare\rcr\r\n", "bare\rcr\r\n"},
		{"end cr\r", "end cr\r\r\n", "end cr\r\r\n"},
		{"trail   ", "trail   \r\n", "trail\r\n"},
		{"a\r\n\r\nb\r\n\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
	} {
		if got := canonBody(t, Simple, tc.in, nil); got != tc.simple {
			t.Errorf("simple(%q) = %q, want %q", tc.in, got, tc.simple)
		}
		if got := canonBody(t, Relaxed, tc.in, nil); got != tc.relaxed {
			t.Errorf("relaxed(%q) = %q, want %q", tc.in, got, tc.relaxed)
		}
	}
}

// referenceBody is RFC 6376 sections 3.4.3 and 3.4.4 done the obvious way
// on a whole string, to check the streaming canonicalizer against.
func referenceBody(c Canon, body string) string {
	body = regexp.MustCompile(`\r?\n`).ReplaceAllString(body, "\r\n")
	if c == Relaxed {
		lines := strings.Split(body, "\r\n")
		for i, l := range lines {
			l = regexp.MustCompile(`[ \t]+`).ReplaceAllString(l, " ")
			lines[i] = strings.TrimRight(l, " ")
		}
		body = strings.Join(lines, "\r\n")
	}
	// Only line ends go: a bare CR before the last one is content.
	for strings.HasSuffix(body, "\r\n") {
		body = strings.TrimSuffix(body, "\r\n")
	}
	if body == "" {
		if c == Simple {
			return "\r\n"
		}
		return ""
	}
	return body + "\r\n"
}

// TestBodyCanonStreaming compares random bodies, written in random chunks,
// with the reference.
func TestBodyCanonStreaming(t *testing.T) {
	alphabet := []string{"a", "b", " ", "  ", "\t", "\r\n", "\n", "xyz", "\r\n\r\n"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		body := b.String()
		var chunks []int
		for range rng.IntN(6) {
			chunks = append(chunks, rng.IntN(8))
		}
		for _, c := range []Canon{Simple, Relaxed} {
			if got, want := canonBody(t, c, body, chunks), referenceBody(c, body); got != want {
				t.Fatalf("%s(%q) in chunks %v = %q, want %q", c, body, chunks, got, want)
			}
		}
	}
}

func TestCanonHeader(t *testing.T) {
	for _, tc := range []struct{ in, relaxed string }{
		{"Subject: Hello\r\n", "subject:Hello\r\n"},
		{"SubJect  :   Hello  World \t\r\n", "subject:Hello World\r\n"},
		{"To: a,\r\n\tb ,\r\n c\r\n", "to:a, b , c\r\n"},
		{"X-Empty:\r\n", "x-empty:\r\n"},
		{"X-Folded:\r\n value\r\n", "x-folded:value\r\n"},
	} {
		if got := string(CanonHeader(nil, Relaxed, []byte(tc.in))); got != tc.relaxed {
			t.Errorf("relaxed(%q) = %q, want %q", tc.in, got, tc.relaxed)
		}
		if got := string(CanonHeader(nil, Simple, []byte(tc.in))); got != tc.in {
			t.Errorf("simple(%q) = %q", tc.in, got)
		}
	}
}

func TestParseCanon(t *testing.T) {
	for in, want := range map[string][2]Canon{
		"": {Simple, Simple}, "relaxed": {Relaxed, Simple}, "relaxed/relaxed": {Relaxed, Relaxed},
		"simple/relaxed": {Simple, Relaxed}, "Relaxed/Simple": {Relaxed, Simple},
	} {
		h, b, err := ParseCanon(in)
		if err != nil || h != want[0] || b != want[1] {
			t.Errorf("ParseCanon(%q) = %s, %s, %v", in, h, b, err)
		}
	}
	for _, bad := range []string{"loose", "relaxed/", "simple/simple/simple", "/relaxed"} {
		if _, _, err := ParseCanon(bad); err == nil {
			t.Errorf("ParseCanon(%q): no error", bad)
		}
	}
}

func TestSelectFields(t *testing.T) {
	h, err := ReadHeader(bufioReader("From: a\r\nTo: 1\r\nSubject: s\r\nto: 2\r\nX: folded\r\n more\r\n\r\nbody"), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := h.SelectFields([]string{"to", "To", "TO", "x", "from", "missing"})
	want := []string{"to: 2\r\n", "To: 1\r\n", "", "X: folded\r\n more\r\n", "From: a\r\n", ""}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("field %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestReadHeader(t *testing.T) {
	h, err := ReadHeader(bufioReader("A: 1\nB: 2\n  cont\nnot a field\n\nbody\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || string(h[1].Raw) != "B: 2\r\n  cont\r\n" || h[2].Name != "" {
		t.Errorf("got %q", h)
	}
	if _, err := ReadHeader(bufioReader("A: "+strings.Repeat("x", 2000)+"\r\n\r\n"), 1000); err != ErrHeaderTooLarge {
		t.Errorf("large header: got %v", err)
	}
	h, err = ReadHeader(bufioReader("A: 1"), 0)
	if err != nil || len(h) != 1 || string(h[0].Raw) != "A: 1\r\n" {
		t.Errorf("header without line end: %q, %v", h, err)
	}
}

// TestFieldValueKept: the value of a DKIM-Signature field is made when the
// header is read, in the string of the names; Value gives it while Raw
// still ends in it, and what follows the colon otherwise.
func TestFieldValueKept(t *testing.T) {
	tests := []struct {
		header string
		kept   []bool // by field: Value made when read
	}{
		{"From: a\r\nDKIM-Signature: v=1;\r\n b=x\r\nTo: b\r\n\r\n", []bool{false, true, false}},
		{"dkim-signature : v=1; b=x\r\nDKIM-Signature:\r\nX-DKIM-Signature: y\r\n\r\n", []bool{true, true, false}},
		{"DKIM-Signature: a\r\nDKIM-Signature: b: c\r\nno colon\r\n\r\n", []bool{true, true, false}},
	}
	var fields Header
	for _, tt := range tests {
		// The fields of the previous message are reused: a kept value
		// must not outlive its field.
		h, _, err := ReadHeaderInto(bufioReader(tt.header), 0, nil, fields[:0])
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range h {
			want := ""
			if _, v, ok := strings.Cut(string(f.Raw), ":"); ok {
				want = v
			}
			if got := f.Value(); got != want {
				t.Errorf("%q field %d: Value %q, want %q", tt.header, i, got, want)
			}
			if kept := f.value != ""; kept != tt.kept[i] {
				t.Errorf("%q field %d: value kept %v, want %v", tt.header, i, kept, tt.kept[i])
			}
			f.Raw = []byte(f.Name + ": changed\r\n")
			if got := f.Value(); got != " changed\r\n" {
				t.Errorf("%q field %d changed: Value %q", tt.header, i, got)
			}
		}
		fields = h
	}
}

func TestStripSignatureValue(t *testing.T) {
	for in, want := range map[string]string{
		"DKIM-Signature: v=1; b=abc\r\n def; bh=x\r\n":     "DKIM-Signature: v=1; b=; bh=x\r\n",
		"DKIM-Signature: v=1; bh=x;\r\n b=abc\r\n def\r\n": "DKIM-Signature: v=1; bh=x;\r\n b=\r\n",
		"DKIM-Signature: v=1; b = abc ;x=1\r\n":            "DKIM-Signature: v=1; b =;x=1\r\n",
	} {
		got, err := StripSignatureValue([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("StripSignatureValue(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := StripSignatureValue([]byte("DKIM-Signature: v=1; bh=x\r\n")); err == nil {
		t.Error("no b=: no error")
	}
}

// referenceHeader is section 3.4.2 done the obvious way.
func referenceHeader(field string) string {
	name, value, ok := strings.Cut(field, ":")
	if !ok {
		return field
	}
	crlf := strings.HasSuffix(value, "\r\n")
	value = strings.NewReplacer("\r", "", "\n", "").Replace(value)
	value = strings.Trim(regexp.MustCompile(`[ \t]+`).ReplaceAllString(value, " "), " ")
	lower := []byte(strings.TrimRight(name, " \t"))
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A' // ASCII only: names are ASCII
		}
	}
	out := string(lower) + ":" + value
	if crlf {
		out += "\r\n"
	}
	return out
}

func FuzzCanonHeader(f *testing.F) {
	f.Add("Subject:  a \t b\r\n\tc \r\n")
	f.Add("DKIM-Signature: v=1; a=rsa-sha256;\r\n b=abc\r\n")
	f.Fuzz(func(t *testing.T, field string) {
		if got, want := string(CanonHeader(nil, Relaxed, []byte(field))), referenceHeader(field); got != want {
			t.Fatalf("CanonHeader(%q) = %q, want %q", field, got, want)
		}
	})
}
