package filter

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzBanner: whatever the message, AddBanner never breaks its MIME
// structure, keeps its text and attachments, and shows the banner when it
// says it changed it.
func FuzzBanner(f *testing.F) {
	files, _ := filepath.Glob("testdata/banner/*.msg")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "Caution: suspicious.\n- reason")
	}
	f.Add([]byte("Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"), "--x")
	f.Add([]byte("Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/related; boundary=r\r\n\r\n"+
		"--r\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<body>caf\xe9</body>\r\n--r\r\nContent-Type: image/png\r\n\r\nPNG\r\n--r--\r\n--a--\r\n"), "B")
	f.Fuzz(func(t *testing.T, msg []byte, banner string) {
		if len(msg) > 1<<16 || len(banner) > 500 {
			return
		}
		text := cleanBanner(banner)
		if text == "" {
			return
		}
		out, changed := AddBanner(msg, text)
		checkBanner(t, msg, out, changed, text)
	})
}

// FuzzParseZone: a zone either parses into a named zone with answers in
// 127.0.0.0/8 or IPv4 at all, or is refused; never a panic.
func FuzzParseZone(f *testing.F) {
	for _, s := range []string{"zen.spamhaus.org=4", "dbl.spamhaus.org=4 127.0.1.2 127.0.1.4", "=3", "x=NaN", "x=1e400", "x=3 ::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, err := ParseZone(s)
		if err != nil {
			return
		}
		if z.Name == "" {
			t.Fatalf("%q: a zone without a name", s)
		}
		for _, a := range z.Codes {
			if !a.Is4() {
				t.Fatalf("%q: answer %v", s, a)
			}
		}
	})
}
