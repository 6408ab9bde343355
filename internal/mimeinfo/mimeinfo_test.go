package mimeinfo

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const nested = `From: user@domain.org
Mime-Version: 1.0
Content-Type: multipart/mixed; boundary="foo
 bar"

Root MIME prologue

--foo bar
Content-Type: text/x-myown; charset=us-ascii

hello

--foo bar
Content-Type: message/rfc822

From: sub@domain.org
Subject: submsg
Content-Type: multipart/alternative; boundary="sub1"

Sub MIME prologue
--sub1
Content-Type: text/html

<p>Hello world</p>

--sub1
Content-Type: text/plain; charset=utf-8
Content-Disposition: inline; filename="a.txt"

Hello another world

--sub1--
Sub MIME epilogue

--foo bar--
Root MIME epilogue
`

// section returns the bytes of the part at path: header, body.
func section(t *testing.T, s *Summary, raw string, path ...uint32) (string, string) {
	t.Helper()
	p := s.Find(path)
	if p == nil {
		t.Fatalf("no part %v", path)
	}
	return raw[p.Start:p.BodyStart], raw[p.BodyStart:max(p.BodyStart, p.End)]
}

func TestParseNested(t *testing.T) {
	raw := crlf(nested)
	s, err := Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s.Size != int64(len(raw)) || s.Root.Subtype != "mixed" || len(s.Root.Parts) != 2 {
		t.Fatalf("root: %+v", s.Root)
	}
	for _, c := range []struct {
		path       []uint32
		hdr, body  string
		typ, lines string
	}{
		{[]uint32{1}, "Content-Type: text/x-myown; charset=us-ascii\r\n\r\n", "hello\r\n", "text/x-myown", "1"},
		{[]uint32{2}, "Content-Type: message/rfc822\r\n\r\n", raw[strings.Index(raw, "From: sub"):strings.Index(raw, "\r\n--foo bar--")], "message/rfc822", "18"},
		{[]uint32{2, 1}, "Content-Type: text/html\r\n\r\n", "<p>Hello world</p>\r\n", "text/html", "1"},
		{[]uint32{2, 2}, "Content-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline; filename=\"a.txt\"\r\n\r\n", "Hello another world\r\n", "text/plain", "1"},
	} {
		hdr, body := section(t, s, raw, c.path...)
		p := s.Find(c.path)
		if hdr != c.hdr || body != c.body || p.Type+"/"+p.Subtype != c.typ || fmt.Sprint(p.Lines) != c.lines {
			t.Errorf("part %v: header %q body %q type %s/%s lines %d; want %q %q %s %s", c.path, hdr, body, p.Type, p.Subtype, p.Lines, c.hdr, c.body, c.typ, c.lines)
		}
	}
	m := s.Find([]uint32{2}).Message
	if m == nil || m.Envelope == nil || m.Envelope.Subject != "submsg" || m.Envelope.From[0].Mailbox != "sub" {
		t.Fatalf("enclosed message: %+v", m)
	}
	if p := s.Find([]uint32{2, 2}); p.Disposition != "inline" || p.DispParams[0] != (Param{"filename", "a.txt"}) || p.Param("charset") != "utf-8" {
		t.Errorf("part 2.2 fields: %+v", p)
	}
	if s.Preview != "" {
		t.Errorf("preview %q: the text parts are inside an attached message", s.Preview)
	}
	for _, path := range [][]uint32{{3}, {0}, {1, 1}, {2, 3}} {
		if p := s.Find(path); p != nil && len(path) == 1 {
			t.Errorf("part %v exists: %+v", path, p)
		}
	}
}

func TestParseTopLevelMessage(t *testing.T) {
	raw := crlf("From: a@b\nContent-Type: message/rfc822\n\nFrom: c@d\nSubject: in\n\nHello\n")
	s, _ := Parse(strings.NewReader(raw))
	if _, body := section(t, s, raw, 1); body != crlf("From: c@d\nSubject: in\n\nHello\n") {
		t.Errorf("BODY[1] = %q: part 1 of a top-level message/rfc822 is the whole enclosed message", body)
	}
	if _, body := section(t, s, raw, 1, 1); body != "Hello\r\n" {
		t.Errorf("BODY[1.1] = %q", body)
	}
}

func TestParseDigestAndOddities(t *testing.T) {
	for _, c := range []struct {
		name, msg string
		check     func(*Summary, string) string
	}{
		{"digest default type, delimiter with trailing space", "Content-Type: multipart/digest; boundary=\"foo\"\n\nprologue\n\n--foo \n\nFrom: m1@example.com\nSubject: m1\n\nm1 body\n\n--foo--\n", func(s *Summary, raw string) string {
			p := s.Find([]uint32{1})
			if p.Type != "message" || p.Message == nil || p.Message.Envelope.Subject != "m1" {
				return fmt.Sprintf("part 1: %+v", p)
			}
			if got := raw[p.BodyStart:p.End]; got != crlf("From: m1@example.com\nSubject: m1\n\nm1 body\n") {
				return fmt.Sprintf("part 1 body %q", got)
			}
			return ""
		}},
		{"no header", "just a body\nline two", func(s *Summary, raw string) string {
			if s.Root.BodyStart != 0 || s.Root.Lines != 2 || s.Root.Type != "text" {
				return fmt.Sprintf("root %+v", s.Root)
			}
			return ""
		}},
		{"multipart without delimiters", "Content-Type: multipart/mixed; boundary=x\n\nnothing here\n", func(s *Summary, raw string) string {
			if len(s.Root.Parts) != 1 || s.Root.Parts[0].Type != "text" || s.Root.Parts[0].BodySize() != 0 {
				return fmt.Sprintf("parts %+v", s.Root.Parts)
			}
			return ""
		}},
		{"empty part body", "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\n--x--\n", func(s *Summary, raw string) string {
			p := s.Root.Parts[0]
			if p.BodySize() != 0 || p.Lines != 0 || raw[p.Start:p.BodyStart] != "Content-Type: text/plain\r\n\r\n" {
				return fmt.Sprintf("part %+v", p)
			}
			return ""
		}},
		{"blank line before delimiter", "Content-Type: multipart/mixed; boundary=x\n\n--x\n\nhello\n\n--x--\n", func(s *Summary, raw string) string {
			p := s.Root.Parts[0]
			if got := raw[p.BodyStart:p.End]; got != "hello\r\n" || p.Lines != 1 {
				return fmt.Sprintf("body %q lines %d", got, p.Lines)
			}
			return ""
		}},
		{"preview from quoted-printable plain text", "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9   au\n  lait=\n!\n", func(s *Summary, raw string) string {
			if s.Preview != "Café au lait!" {
				return fmt.Sprintf("preview %q", s.Preview)
			}
			return ""
		}},
		{"preview prefers plain to html", "Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<b>bold</b> text\n--b\nContent-Type: text/plain\n\nplain text\n--b--\n", func(s *Summary, raw string) string {
			if s.Preview != "plain text" {
				return fmt.Sprintf("preview %q", s.Preview)
			}
			return ""
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := crlf(c.msg)
			s, _ := Parse(strings.NewReader(raw))
			if msg := c.check(s, raw); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestParseHeaderOnly(t *testing.T) {
	hdr := "From: a@b\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
	s := NewSummarizer()
	s.Write([]byte(hdr + "--x\r\n\r\n"))
	chunk := bytes.Repeat([]byte("0123456789abcdef\r\n"), 1<<16)
	for n := int64(0); n <= MaxParse; n += int64(len(chunk)) {
		s.Write(chunk)
	}
	sum := s.Summary()
	if !sum.HeaderOnly || len(sum.Root.Parts) != 0 || sum.Root.BodyStart != int64(len(hdr)) || sum.Root.End != sum.Size || sum.Root.Envelope.Subject != "big" {
		t.Errorf("summary of a message over MaxParse: %+v %+v", sum, sum.Root)
	}
}

func TestEnvelopeAddresses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"From Real <fromuser@fromdomain.org>", `[{From Real  fromuser fromdomain.org false}]`},
		{"user@domain (Real Name)", `[{Real Name  user domain false}]`},
		{`"Quoted, Name" <a@b>, c@d`, `[{Quoted, Name  a b false} {  c d false}]`},
		{"group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;", `[{  group  true} {  g1 d1.org false} {  g2 d2.org false} {    true} {  group2  true} {  g3 d3.org false} {    true}]`},
		{"group:;, group2: (foo) ;", `[{  group  true} {    true} {  group2  true} {    true}]`},
		{"<@route:user@domain>", `[{ @route user domain false}]`},
		{"<@a, @b:user@domain>", `[{ @a,@b user domain false}]`},
		{"undisclosed", `[{  undisclosed MISSING_DOMAIN false}]`},
		{"", `[]`},
		{"<>", `[{  MISSING_MAILBOX MISSING_DOMAIN false}]`},
		{"=?utf-8?q?J=C3=B6rg?= <j@x>", `[{=?utf-8?q?J=C3=B6rg?=  j x false}]`},
	} {
		got := fmt.Sprint(ParseAddressList(c.in))
		if got != c.want {
			t.Errorf("ParseAddressList(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestChunking checks that how the message is cut into writes changes
// nothing, long lines included.
func TestChunking(t *testing.T) {
	long := strings.Repeat("x", 3*maxLine+5)
	raw := crlf(nested) + long + "\r\n--foo bar\r\n" + long
	whole, _ := Parse(strings.NewReader(raw))
	for _, n := range []int{1, 2, 3, 7, 100, maxLine - 1, maxLine + 1} {
		s := NewSummarizer()
		for i := 0; i < len(raw); i += n {
			s.Write([]byte(raw[i:min(len(raw), i+n)]))
		}
		if got := s.Summary(); !reflect.DeepEqual(got, whole) {
			t.Errorf("writes of %d bytes: summary differs", n)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	s, _ := Parse(strings.NewReader(crlf(nested)))
	b := s.Encode()
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("decoded summary differs:\n%+v\n%+v", got, s)
	}
	b[0] = Version + 1
	if _, err := Decode(b); err != ErrVersion {
		t.Errorf("other version: %v", err)
	}
	for i := range len(b) - 1 {
		if _, err := Decode(append([]byte{Version}, b[1:i+1]...)); err == nil {
			t.Fatalf("truncated to %d bytes: no error", i+1)
		}
	}
}

func TestPreview(t *testing.T) {
	long := strings.Repeat("word ", 100)
	tests := []struct {
		name, msg, want string
	}{
		{"quoted-printable latin-1", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9   au\r\n\r\n\tlait=\r\n !\r\n", "Café au lait !"},
		{"base64", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8s\r\nIHdvcmxk\r\n", "Hello, world"},
		{"html only", "Content-Type: text/html\r\n\r\n<html><head><style>p {color: red}</style></head><body><p>Hi&nbsp;there</p><p>you</p></body></html>\r\n", "Hi there you"},
		{"html as search reads it", "Content-Type: text/html\r\n\r\n<!-- <p>no</p> --><p>caf&eacute; <b>au</b> <i>lait</i></p><style>p {\r\n", "café au lait"},
		{"plain preferred to html", "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n", "plain"},
		{"attachment only", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nfile\r\n--b--\r\n", ""},
		{"cut", "\r\n" + long, strings.TrimSpace(long[:PreviewLen])},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := Parse(strings.NewReader(tc.msg))
			if got := s.Preview; got != tc.want {
				t.Errorf("preview = %q, want %q", got, tc.want)
			}
		})
	}
}

// BenchmarkSummarize measures what Deliver spends describing a 4 KiB
// multipart message as it is stored.
func BenchmarkSummarize(b *testing.B) {
	text := strings.Repeat("A line of text that says little, as lines do. ", 40)
	msg := []byte(crlf("From: A <a@b.test>\nTo: c@d.test\nSubject: hello\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n" +
		text + "\n--b\nContent-Type: text/html\n\n<p>" + text + "</p>\n--b--\n"))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for range b.N {
		s := NewSummarizer()
		s.Write(msg)
		s.Summary().Encode()
	}
}

// TestAddressListLenient reads address lists as mail clients write them,
// broken or not, through what SEARCH and SORT use of an address: its
// decoded name and its spec, without placeholders.
func TestAddressListLenient(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // "name <spec>", "group:" for a group's start, ";" for its end
	}{
		{"user@domain.org", []string{" <user@domain.org>"}},
		{"Real Name <user@domain.org>", []string{"Real Name <user@domain.org>"}},
		{`"Last, First" <u@d>`, []string{"Last, First <u@d>"}},
		{"user@domain.org (Real Name)", []string{"Real Name <user@domain.org>"}},
		{"<user (c)@ (c) domain.org>", []string{"c <user@domain.org>"}},
		{"<@route,@other:user@domain>", []string{" <user@domain>"}},
		{"d", []string{" <d>"}},
		{"<>", []string{" <>"}},
		{"a@b, c@d", []string{" <a@b>", " <c@d>"}},
		{"=?iso-8859-1?q?foo_b=E4r?= <e@f.g>", []string{"foo bär <e@f.g>"}},
		{"group: a@b, c@d;, x@y", []string{"group:", " <a@b>", " <c@d>", ";", " <x@y>"}},
		{"empty:;", []string{"empty:", ";"}},
		{":;", nil},
		{"open: a@b", []string{"open:", " <a@b>", ";"}},
		{"not an address at all:", []string{"not an address at all:", ";"}},
		{"first.last@example.org", []string{" <first.last@example.org>"}},
		{`"unterminated <a@b>`, []string{" <unterminated<a@b>>"}},
		{"", nil},
		{" , ,", nil},
	} {
		var got []string
		for _, a := range ParseAddressList(c.in) {
			switch {
			case a.GroupStart():
				got = append(got, a.LocalPart()+":")
			case a.GroupEnd():
				got = append(got, ";")
			default:
				got = append(got, a.DisplayName()+" <"+a.Spec()+">")
			}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseAddressList(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAddressDisplay(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=?utf-8?q?J=C3=B6rg?= <j@x>", "Jörg"},
		{"j@x", "j@x"},
		{"undisclosed", "undisclosed"},
		{"team: a@b;", "team"},
	} {
		if got := ParseAddressList(c.in)[0].Display(); got != c.want {
			t.Errorf("Display of %q = %q, want %q", c.in, got, c.want)
		}
	}
}
