package smtpserver

import (
	"bytes"
	"io"
	"testing"

	"sealpost.dev/sealpost/internal/delivery"
)

var _ delivery.InMemory = (*spool)(nil)

// TestSpoolBytes: a spool gives its bytes while it holds the message in
// memory, and nil once the message went to a file, which Open still reads
// whole.
func TestSpoolBytes(t *testing.T) {
	sp := &spool{dir: t.TempDir()}
	defer sp.Close()
	small := []byte("From: a@example.com\r\n\r\nbody\r\n")
	sp.Write(small)
	if got := delivery.Bytes(sp); !bytes.Equal(got, small) {
		t.Fatalf("in memory: Bytes %q, want %q", got, small)
	}
	big := bytes.Repeat([]byte("x"), memorySpoolLimit)
	if _, err := sp.Write(big); err != nil {
		t.Fatal(err)
	}
	if sp.file == nil {
		t.Fatal("no file past the memory limit")
	}
	if got := delivery.Bytes(sp); got != nil {
		t.Fatalf("on disk: Bytes gave %d bytes, want nil", len(got))
	}
	r, err := sp.Open()
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, append(small, big...)) {
		t.Fatalf("read %d bytes (%v), want %d", len(all), err, len(small)+len(big))
	}
}
