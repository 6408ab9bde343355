package smtp

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

func benchMessage(size int) []byte {
	line := []byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n")
	var b bytes.Buffer
	for b.Len() < size {
		b.Write(line)
	}
	b.Truncate(size - 2)
	b.WriteString("\r\n")
	return b.Bytes()
}

func benchData(b *testing.B, size int) {
	in := append(benchMessage(size), ".\r\n"...)
	src := bytes.NewReader(in)
	r := bufio.NewReaderSize(src, 4096)
	buf := make([]byte, 32*1024)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(in)
		r.Reset(src)
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{NewDataReader(r, 1000, 64<<20)}, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDataReader4K(b *testing.B) { benchData(b, 4<<10) }
func BenchmarkDataReader1M(b *testing.B) { benchData(b, 1<<20) }

func BenchmarkDataWriter1M(b *testing.B) {
	msg := benchMessage(1 << 20)
	bw := bufio.NewWriterSize(io.Discard, 4096)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		w := NewDataWriter(bw)
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCommand(b *testing.B) {
	lines := [][]byte{
		[]byte("MAIL FROM:<sender@example.org> SIZE=4096 BODY=8BITMIME"),
		[]byte("RCPT TO:<recipient@example.net> NOTIFY=FAILURE"),
		[]byte("DATA"),
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if _, err := ParseCommand(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDataReaderBareCR measures a hostile message: lines full of bare
// CRs must cost no more than ordinary text.
func BenchmarkDataReaderBareCR(b *testing.B) {
	in := append(bytes.Repeat([]byte("\r"), 1<<20), "\r\n.\r\n"...)
	src := bytes.NewReader(in)
	r := bufio.NewReaderSize(src, 4096)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		src.Reset(in)
		r.Reset(src)
		if _, err := io.Copy(io.Discard, NewDataReader(r, 0, 0)); err != ErrBareCR {
			b.Fatal(err)
		}
	}
}
