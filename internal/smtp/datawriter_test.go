package smtp

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

func TestDataWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		wire   string
		err    error
	}{
		{"plain", []string{"a\r\nb\r\n"}, "a\r\nb\r\n.\r\n", nil},
		{"no final CRLF", []string{"a\r\nb"}, "a\r\nb\r\n.\r\n", nil},
		{"empty", nil, ".\r\n", nil},
		{"stuffing", []string{".a\r\n.\r\n..\r\nx.y\r\n"}, "..a\r\n..\r\n...\r\nx.y\r\n.\r\n", nil},
		{"stuffing across writes", []string{"a\r\n", ".", "b\r", "\n."}, "a\r\n..b\r\n..\r\n.\r\n", nil},
		{"lone LF", []string{"a\nb\n.\n"}, "a\r\nb\r\n..\r\n.\r\n", nil},
		{"CR split from LF", []string{"a\r", "\nb"}, "a\r\nb\r\n.\r\n", nil},
		{"bare CR", []string{"a\rb"}, "", ErrMessageBareCR},
		{"bare CR across writes", []string{"a\r", "b"}, "", ErrMessageBareCR},
		{"final CR", []string{"a\r"}, "", ErrMessageBareCR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			bw := bufio.NewWriter(&buf)
			w := NewDataWriter(bw)
			var err error
			for _, s := range tt.writes {
				if _, err = w.Write([]byte(s)); err != nil {
					break
				}
			}
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && buf.String() != tt.wire {
				t.Errorf("wire %q, want %q", buf.String(), tt.wire)
			}
			if err != nil && bytes.HasSuffix(buf.Bytes(), []byte("\r\n.\r\n")) {
				t.Errorf("end marker written after an error: %q", buf.String())
			}
		})
	}
}

// TestDataWriterRoundTrip checks that whatever DataWriter accepts,
// DataReader reads back as the same text with CRLF line endings.
func TestDataWriterRoundTrip(t *testing.T) {
	alphabet := []byte("a.\r\n")
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		var wire bytes.Buffer
		w := NewDataWriter(bufio.NewWriter(&wire))
		_, err := w.Write(prefix)
		if err == nil {
			err = w.Close()
		}
		if err == nil {
			wire.WriteString("NEXT")
			r := bufio.NewReaderSize(&wire, 16)
			got, rerr := io.ReadAll(NewDataReader(r, 0, 0))
			want := bytes.ReplaceAll(bytes.ReplaceAll(prefix, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
			if len(want) > 0 && !bytes.HasSuffix(want, []byte("\r\n")) {
				want = append(want, "\r\n"...)
			}
			rest, _ := io.ReadAll(r)
			if rerr != nil || !bytes.Equal(got, want) || string(rest) != "NEXT" {
				t.Fatalf("%q: read back %q, %v, rest %q; want %q", prefix, got, rerr, rest, want)
			}
		} else if bytes.IndexByte(bytes.ReplaceAll(prefix, []byte("\r\n"), nil), '\r') < 0 {
			t.Fatalf("%q refused: %v", prefix, err)
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	gen(nil, 7)
}
