package imapserver

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// deflated compresses chunks with compress/flate at level, with a sync
// flush after each chunk, and returns the stream and where each flush
// ends.
func deflated(t testing.TB, level int, chunks [][]byte) ([]byte, []int) {
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, level)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int
	for _, c := range chunks {
		w.Write(c)
		w.Flush()
		ends = append(ends, z.Len())
	}
	return z.Bytes(), ends
}

func inflateAll(z []byte) ([]byte, error) {
	f := newInflaterOver(&byteSource{src: bytes.NewReader(z)})
	return io.ReadAll(f)
}

func TestInflate(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	text := bytes.Repeat([]byte("a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\r\n"), 50)
	noise := make([]byte, 70000)
	for i := range noise {
		noise[i] = byte(rnd.IntN(256))
	}
	for _, level := range []int{flate.NoCompression, flate.HuffmanOnly, flate.BestSpeed, 5, flate.BestCompression} {
		chunks := [][]byte{text, noise, []byte("x"), text, noise[:40000], text}
		z, _ := deflated(t, level, chunks)
		got, err := inflateAll(z)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("level %d: the stream has no final block, yet: %v", level, err)
		}
		if want := bytes.Join(chunks, nil); !bytes.Equal(got, want) {
			t.Errorf("level %d: %d bytes back, want %d", level, len(got), len(want))
		}
	}
	// A final block ends the stream with io.EOF.
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, 6)
	w.Write(text)
	w.Close()
	if got, err := inflateAll(z.Bytes()); err != nil || !bytes.Equal(got, text) {
		t.Errorf("closed stream: %d bytes, %v", len(got), err)
	}
	// Garbage is an error, never a panic.
	for _, bad := range [][]byte{{0xff, 0xff, 0xff}, {0x07}, {0x04, 0xff, 0xff, 0xff, 0xff}} {
		if _, err := inflateAll(bad); err == nil {
			t.Errorf("%x: no error", bad)
		}
	}
}

// TestInflateEager: the bytes of a block come out as soon as the block's
// codes are in, though what follows (the empty stored block of a sync
// flush, or the empty fixed block of zlib's partial flush) has not come:
// compress/flate's reader would wait for it.
func TestInflateEager(t *testing.T) {
	cmd := []byte("a1 NOOP\r\n")
	for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, 5, flate.BestCompression} {
		z, _ := deflated(t, level, [][]byte{cmd})
		// Without the LEN and NLEN of the sync flush's stored block.
		f := newInflaterOver(&byteSource{src: bytes.NewReader(z[:len(z)-4])})
		buf := make([]byte, 100)
		n, err := f.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], cmd) {
			t.Errorf("level %d: Read = %q, %v", level, buf[:n], err)
		}
	}
}

func FuzzInflate(f *testing.F) {
	f.Add([]byte("a1 NOOP\r\n"), uint8(5), uint8(3))
	f.Add(bytes.Repeat([]byte("abc"), 1000), uint8(9), uint8(100))
	f.Fuzz(func(t *testing.T, data []byte, level, cut uint8) {
		lv := int(level%11) - 2
		if lv == -1 {
			lv = 6
		}
		var chunks [][]byte
		for len(data) > 0 {
			k := min(len(data), int(cut)+1)
			chunks = append(chunks, data[:k])
			data = data[k:]
		}
		z, _ := deflated(t, lv, chunks)
		got, _ := inflateAll(z)
		if want := bytes.Join(chunks, nil); !bytes.Equal(got, want) {
			t.Fatalf("level %d: got %d bytes, want %d", lv, len(got), len(want))
		}
		// Arbitrary input must end in an error or EOF, never a panic.
		inflateAll(append([]byte{level}, z...))
	})
}
