package content

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, stays within its bounds and
// returns valid UTF-8 text.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		if raw, err := os.ReadFile(name); err == nil {
			f.Add(raw)
		}
	}
	f.Add([]byte(nested(30)))
	f.Add([]byte("Content-Type: text/html\n\n<a href=http://x.example>y</a><form action=//z>"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\n--a--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw)
		if len(m.Text) > MaxText || len(m.HTML) > MaxText || len(m.Links) > MaxLinks || len(m.Attachments) > MaxAttachments {
			t.Fatalf("bounds exceeded: text %d html %d links %d attachments %d", len(m.Text), len(m.HTML), len(m.Links), len(m.Attachments))
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || strings.Contains(m.Text, "\x00") {
			t.Fatalf("text not clean: %q", m.Text)
		}
		for _, a := range m.Attachments {
			if len(a.Data) > MaxAttachmentData || a.Size < len(a.Data) || a.Type == "" {
				t.Fatalf("attachment %q: size %d data %d", a.Name, a.Size, len(a.Data))
			}
		}
		for _, fl := range m.Header {
			if strings.ContainsAny(fl.Value, "\r\n") {
				t.Fatalf("field %q spans lines", fl.Name)
			}
		}
	})
}
