package content

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// summary is what the golden files hold of a parsed message: everything
// but attachment bytes, which are summarised by size and prefix.
type summary struct {
	Header      []Field
	From        []Address `json:",omitempty"`
	ReplyTo     []Address `json:",omitempty"`
	To          []Address `json:",omitempty"`
	Cc          []Address `json:",omitempty"`
	ReturnPath  string    `json:",omitempty"`
	Subject     string
	Text        string
	HTML        string              `json:",omitempty"`
	Links       []Link              `json:",omitempty"`
	Attachments []attachmentSummary `json:",omitempty"`
	Flaws       []string            `json:",omitempty"`
}

type attachmentSummary struct {
	Name, Type        string
	Size              int
	Prefix            string
	Truncated, Inline bool
}

func summarise(m *Message) summary {
	s := summary{
		Header: m.Header, From: m.From, ReplyTo: m.ReplyTo, To: m.To, Cc: m.Cc, ReturnPath: m.ReturnPath,
		Subject: m.Subject, Text: m.Text, HTML: m.HTML, Links: m.Links, Flaws: m.Flaws,
	}
	for _, a := range m.Attachments {
		prefix := a.Data
		if len(prefix) > 16 {
			prefix = prefix[:16]
		}
		s.Attachments = append(s.Attachments, attachmentSummary{a.Name, a.Type, a.Size, string(prefix), a.Truncated, a.Inline})
	}
	return s
}

// TestGolden parses every testdata/*.eml and compares the result with
// the .json beside it (go test -update rewrites them).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(summarise(Parse(raw)), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".eml") + ".json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", f, golden, got)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		check func(t *testing.T, m *Message)
	}{
		{
			name: "addresses and encoded words",
			msg: "From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <Joerg@Example.ORG>\nReply-To: other@Elsewhere.Example\n" +
				"To: a@x.example, \"B, C\" <b@X.example>\nCc: undisclosed-recipients:;\nSubject: =?iso-8859-1?q?d=E9j=E0?= vu\n" +
				"Return-Path: <bounce@x.example>\n\nbody\n",
			check: func(t *testing.T, m *Message) {
				want := []Address{{"Jörg Müller", "Joerg@example.org"}}
				if !slices.Equal(m.From, want) {
					t.Errorf("From = %q, want %q", m.From, want)
				}
				if len(m.ReplyTo) != 1 || m.ReplyTo[0].Addr != "other@elsewhere.example" {
					t.Errorf("ReplyTo = %q", m.ReplyTo)
				}
				if len(m.To) != 2 || m.To[1] != (Address{"B, C", "b@x.example"}) {
					t.Errorf("To = %q", m.To)
				}
				if m.Subject != "déjà vu" {
					t.Errorf("Subject = %q", m.Subject)
				}
				if m.ReturnPath != "bounce@x.example" {
					t.Errorf("ReturnPath = %q", m.ReturnPath)
				}
				if m.Get("SUBJECT") != "déjà vu" || len(m.Values("to")) != 1 {
					t.Errorf("Get/Values wrong: %q %q", m.Get("SUBJECT"), m.Values("to"))
				}
			},
		},
		{
			name: "lenient address",
			msg:  "From: Bank Security <security@bank.example <mailto:x@evil.example>\n\nhi\n",
			check: func(t *testing.T, m *Message) {
				if len(m.From) == 0 || !strings.Contains(m.From[0].Addr, "@") {
					t.Errorf("From = %q", m.From)
				}
				wantFlaw(t, m, FlawBadAddress)
			},
		},
		{
			name: "base64 and quoted-printable",
			msg: "Content-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
				"U2VjcmV0IHBsYW5zIGZvciB0aGUg\nbW9vbiBiYXNl\n--b1\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" +
				"Caf=E9 cr=E8me, tr=\nes bien\n--b1--\n",
			check: func(t *testing.T, m *Message) {
				wantText(t, m, "Secret plans for the moon base", "Café crème, tres bien")
				if len(m.Flaws) != 0 {
					t.Errorf("Flaws = %q", m.Flaws)
				}
			},
		},
		{
			name: "charsets",
			msg: "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n" +
				"--x\nContent-Type: text/plain; charset=\"windows-1252\"\n\n\x93quoted\x94\n--x\nContent-Type: text/plain; charset=shift_jis\n\n\x93\xfa\x96\x7b\n" +
				"--x\nContent-Type: text/plain\n\nunlabelled na\xefve\n--x--\n",
			check: func(t *testing.T, m *Message) {
				wantText(t, m, "Привет", "“quoted”", "日本", "naïve")
				wantFlaw(t, m, FlawBadUTF8)
			},
		},
		{
			// An HTML part without a charset in its Content-Type is read
			// in the one its meta element declares, as a browser reads it;
			// the label wins over the meta, and without either, Latin-1.
			name: "html meta charset",
			msg: "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n" +
				"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body>\xd2\xbb\xcd\xf8</body></html>\n" +
				"--x\nContent-Type: text/html; charset=windows-1252\n\n<meta charset=\"koi8-r\"><p>\x93labelled\x94</p>\n" +
				"--x\nContent-Type: text/html\n\n<p>na\xefve</p>\n--x--\n",
			check: func(t *testing.T, m *Message) {
				wantText(t, m, "一网", "“labelled”", "naïve")
			},
		},
		{
			// A meta charset in which ASCII is not ASCII is not taken:
			// it would hide the text and the links.
			name: "html meta charset hiding the text",
			msg: "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n" +
				"<meta charset=\"iso-2022-kr\"><a href=\"http://evil.example/a\">Pay now</a>\n" +
				"--x\nContent-Type: text/html\n\n<meta charset=\"iso-2022-jp\">\x1b$B<a href=\"http://evil.example/b\">Log in</a>\n--x--\n",
			check: func(t *testing.T, m *Message) {
				wantText(t, m, "Pay now", "Log in")
				var hosts []string
				for _, l := range m.Links {
					hosts = append(hosts, l.Host)
				}
				if len(hosts) != 2 || hosts[0] != "evil.example" || hosts[1] != "evil.example" {
					t.Errorf("links to %q, want both to evil.example", hosts)
				}
			},
		},
		{
			name: "unknown charset",
			msg:  "Content-Type: text/plain; charset=x-martian\n\nok\x00text \xff\n",
			check: func(t *testing.T, m *Message) {
				wantText(t, m, "oktext \ufffd")
				wantFlaw(t, m, FlawUnknownCharset)
			},
		},
		{
			name: "html anchors and forms",
			msg: "Content-Type: text/html; charset=utf-8\n\n<html><head><style>p{}</style></head><body>" +
				"<p>Dear customer, <a href=\" http://evil.example/login?a=1&amp;b=2 \">https://www.paypal.com/</a></p>" +
				"<a href='mailto:x@y.example'>write</a><a href=\"https://XN--80AK6AA92E.com/x\"><img alt=\"Click\" src=\"i.png\"></a>" +
				"<map><area href=\"http://10.0.0.1/\"></map><form action=\"http://harvest.example/post\"><input name=p></form>" +
				"<a name=top>no href</a><a href=\"http://news.\r\n\texample/a?b=\nc\">wrapped</a></body></html>\n",
			check: func(t *testing.T, m *Message) {
				want := []Link{
					{Text: "https://www.paypal.com/", Href: "http://evil.example/login?a=1&b=2", Host: "evil.example", HTML: true},
					{Text: "write", Href: "mailto:x@y.example", HTML: true},
					{Text: "Click", Href: "https://XN--80AK6AA92E.com/x", Host: "аррӏе.com", HTML: true},
					{Href: "http://10.0.0.1/", Host: "10.0.0.1", HTML: true},
					{Href: "http://harvest.example/post", Host: "harvest.example", HTML: true, Form: true},
					// Tabs and line breaks dropped, as browsers do.
					{Text: "wrapped", Href: "http://news.example/a?b=c", Host: "news.example", HTML: true},
				}
				if !slices.Equal(m.Links, want) {
					t.Errorf("Links =\n%+v\nwant\n%+v", m.Links, want)
				}
				wantText(t, m, "Dear customer, https://www.paypal.com/")
				if strings.Contains(m.Text, "<a") || !strings.Contains(m.HTML, "<form") {
					t.Errorf("Text %q / HTML %q", m.Text, m.HTML)
				}
			},
		},
		{
			name: "arrival from the topmost received field",
			msg: "Received: from b.example by a.example (Sealpost) with ESMTPS id x;\n\tTue, 3 Sep 2002 10:00:00 +0100\n" +
				"Received: from c.example by b.example; Mon, 2 Sep 2002 23:00:00 +0000\nSubject: x\n\nbody\n",
			check: func(t *testing.T, m *Message) {
				if want := time.Date(2002, 9, 3, 9, 0, 0, 0, time.UTC); !m.Arrival.Equal(want) {
					t.Errorf("Arrival = %v, want %v", m.Arrival, want)
				}
				for _, bad := range []string{"Subject: x\n\n", "Received: from x by y; yesterday\n\n", "Received: no date\n\n"} {
					if a := Parse([]byte(bad)).Arrival; !a.IsZero() {
						t.Errorf("Arrival of %q = %v, want zero", bad, a)
					}
				}
			},
		},
		{
			name: "bare urls in text",
			msg:  "Subject: x\n\nSee http://Example.COM/a?b=c, or (www.foo.example). Not xwww.bar.example; also HTTPS://bücher.example/.\n",
			check: func(t *testing.T, m *Message) {
				var hosts []string
				for _, l := range m.Links {
					if l.HTML || l.Text != "" {
						t.Errorf("text link marked HTML or with text: %+v", l)
					}
					hosts = append(hosts, l.Host)
				}
				want := []string{"example.com", "www.foo.example", "bücher.example"}
				if !slices.Equal(hosts, want) {
					t.Errorf("hosts = %q, want %q", hosts, want)
				}
			},
		},
		{
			name: "attachments",
			msg: "Content-Type: multipart/mixed; boundary=XX\n\npreamble\n--XX\nContent-Type: text/plain\n\nfirst part\n--XX\n" +
				"Content-Type: application/octet-stream; name=\"invoice.pdf.exe\"\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf.exe\nContent-Transfer-Encoding: base64\n\n" +
				"TVqQAAMAAAAEAAAA\n--XX\nContent-Type: text/plain; name=notes.txt\n\nattached text\n--XX\nContent-Type: image/png\n\n\x89PNG\n--XX--\nepilogue\n",
			check: func(t *testing.T, m *Message) {
				if len(m.Attachments) != 3 {
					t.Fatalf("Attachments = %+v", m.Attachments)
				}
				a := m.Attachments[0]
				if a.Name != "résumé.pdf.exe" || a.Type != "application/octet-stream" || a.Size != 12 || string(a.Data[:2]) != "MZ" || a.Inline {
					t.Errorf("attachment 0 = %+v", a)
				}
				if b := m.Attachments[1]; b.Name != "notes.txt" || b.Type != "text/plain" || !b.Inline || string(b.Data) != "attached text" {
					t.Errorf("attachment 1 = %+v", b)
				}
				if c := m.Attachments[2]; c.Name != "" || c.Type != "image/png" || c.Size != 4 {
					t.Errorf("attachment 2 = %+v", c)
				}
				wantText(t, m, "first part")
				if strings.Contains(m.Text, "attached text") || strings.Contains(m.Text, "preamble") {
					t.Errorf("Text = %q", m.Text)
				}
			},
		},
		{
			name: "forwarded message",
			msg:  "Content-Type: message/rfc822\n\nSubject: =?utf-8?q?inner_s=C3=BCbject?=\nContent-Type: text/html\n\n<a href=http://in.example/>inner</a>\n",
			check: func(t *testing.T, m *Message) {
				wantText(t, m, "inner sübject", "inner")
				if len(m.Links) != 1 || m.Links[0].Host != "in.example" {
					t.Errorf("Links = %+v", m.Links)
				}
			},
		},
		{
			name: "no boundary",
			msg:  "Content-Type: multipart/mixed\n\nvisible text\n",
			check: func(t *testing.T, m *Message) {
				wantFlaw(t, m, FlawBadBoundary)
				wantText(t, m, "visible text")
			},
		},
		{
			name: "boundary never found",
			msg:  "Content-Type: multipart/mixed; boundary=zz\n\n--other\n\ntext\n",
			check: func(t *testing.T, m *Message) {
				wantFlaw(t, m, FlawBadBoundary)
			},
		},
		{
			name: "unclosed multipart and bad base64",
			msg:  "Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Transfer-Encoding: base64\n\naGVsbG8=garbage!!\n",
			check: func(t *testing.T, m *Message) {
				wantFlaw(t, m, FlawNoEnd)
				wantFlaw(t, m, FlawBadBase64)
				wantText(t, m, "hello")
			},
		},
		{
			name: "bad content type",
			msg:  "Content-Type: text/html; charset=\"utf-8\"; ;;=\n\n<b>bold</b>\n",
			check: func(t *testing.T, m *Message) {
				wantFlaw(t, m, FlawBadContentType)
				wantText(t, m, "bold")
			},
		},
		{
			name: "too deep",
			msg:  nested(MaxDepth + 5),
			check: func(t *testing.T, m *Message) {
				wantFlaw(t, m, FlawTooDeep)
			},
		},
		{
			name: "no header",
			msg:  "just text, no header\n",
			check: func(t *testing.T, m *Message) {
				wantFlaw(t, m, FlawNoHeader)
				wantText(t, m, "just text")
			},
		},
		{
			name: "crlf",
			msg:  strings.ReplaceAll("Subject: crlf\nContent-Type: multipart/mixed; boundary=q\n\n--q\n\nline one\n--q--\n", "\n", "\r\n"),
			check: func(t *testing.T, m *Message) {
				if m.Subject != "crlf" || m.Text != "line one\n" || len(m.Flaws) != 0 {
					t.Errorf("Subject %q Text %q Flaws %q", m.Subject, m.Text, m.Flaws)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, Parse([]byte(tt.msg)))
		})
	}
}

func TestBounds(t *testing.T) {
	t.Run("too many parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=p\n\n")
		for range MaxParts + 10 {
			b.WriteString("--p\n\nx\n")
		}
		m := Parse([]byte(b.String()))
		wantFlaw(t, m, FlawTooManyParts)
	})
	t.Run("too many links", func(t *testing.T) {
		m := Parse([]byte("\n" + strings.Repeat("http://a.example/ ", MaxLinks+5)))
		if len(m.Links) != MaxLinks {
			t.Errorf("%d links", len(m.Links))
		}
		wantFlaw(t, m, FlawTooManyLinks)
	})
	t.Run("text", func(t *testing.T) {
		m := Parse([]byte("Content-Type: text/plain\n\n" + strings.Repeat("é", MaxText)))
		if len(m.Text) > MaxText || !utf8.ValidString(m.Text) {
			t.Errorf("Text %d bytes, valid %v", len(m.Text), utf8.ValidString(m.Text))
		}
		wantFlaw(t, m, FlawTextTruncated)
	})
	t.Run("input", func(t *testing.T) {
		m := Parse(append([]byte("Content-Type: application/zip\n\n"), make([]byte, MaxInput)...))
		wantFlaw(t, m, FlawTruncated)
		if len(m.Attachments) != 1 || m.Attachments[0].Size != MaxInput-len("Content-Type: application/zip\n\n") {
			t.Errorf("attachments %d", len(m.Attachments))
		}
	})
}

// nested returns a message of depth nested multiparts.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString("Subject: deep\n")
	for i := range depth {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\n\n")
		b.WriteString("--b" + string(rune('a'+i%26)) + strings.Repeat("x", i) + "\n")
	}
	b.WriteString("\ninnermost\n")
	return b.String()
}

func wantText(t *testing.T, m *Message, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(m.Text, s) {
			t.Errorf("Text %q lacks %q", m.Text, s)
		}
	}
}

func wantFlaw(t *testing.T, m *Message, f string) {
	t.Helper()
	if !slices.Contains(m.Flaws, f) {
		t.Errorf("Flaws %q lack %q", m.Flaws, f)
	}
}

// TestCorpus parses every message of the SpamAssassin corpus: no panic,
// valid UTF-8 everywhere, and most messages give text.
func TestCorpus(t *testing.T) {
	dir := "../../../../shared/conformance/spamassassin"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("corpus missing: %v", err)
		}
		t.Skipf("corpus missing (and CI not set): %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	n, withText := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n++
		m := Parse(raw)
		if m.Text != "" {
			withText++
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) {
			t.Errorf("%s: invalid UTF-8", f)
		}
		for _, l := range m.Links {
			if !utf8.ValidString(l.Text) || strings.ToLower(l.Host) != l.Host {
				t.Errorf("%s: bad link %+v", f, l)
			}
		}
	}
	if n < 3000 || withText < n*97/100 {
		t.Errorf("%d messages, %d with text", n, withText)
	}
}
