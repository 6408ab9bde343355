package corpus

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadMbox checks that reading an mbox never panics, numbers its
// messages in order and never makes bytes up, and that quoting with
// ">From " round-trips.
func FuzzReadMbox(f *testing.F) {
	f.Add([]byte("From a\nSubject: x\n\n>From y\n\nFrom b\n\n"), []byte("body\nFrom inside\n"))
	f.Add([]byte("From \r\n\r\n"), []byte(">>From x"))
	f.Fuzz(func(t *testing.T, box, body []byte) {
		n, total := 0, 0
		_ = ReadMbox(bytes.NewReader(box), func(i int, raw []byte) error {
			n++
			total += len(raw)
			if i != n || len(raw) > MaxMessage {
				t.Fatalf("message %d (want %d) of %d bytes", i, n, len(raw))
			}
			return nil
		})
		if total > len(box) {
			t.Fatalf("%d bytes of messages from %d of mbox", total, len(box))
		}
		// Quote body mboxrd-style and read it back.
		if bytes.Contains(body, []byte("\r")) || len(body) == 0 || body[len(body)-1] != '\n' {
			return
		}
		var quoted []byte
		for line := range strings.Lines(string(body)) {
			if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
				line = ">" + line
			}
			quoted = append(quoted, line...)
		}
		box2 := append([]byte("From sender date\n"), quoted...)
		box2 = append(box2, '\n')
		var got [][]byte
		if err := ReadMbox(bytes.NewReader(box2), func(_ int, raw []byte) error {
			got = append(got, raw)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !bytes.Equal(got[0], body) {
			t.Fatalf("round trip of %q gave %q", body, got)
		}
	})
}
