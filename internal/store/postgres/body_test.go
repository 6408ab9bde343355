package postgres

import (
	"bytes"
	"errors"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// TestPendingBodies: a large body written ahead of its transaction is
// invisible until adopted, and one left pending (as by a crash before the
// transaction) is swept once old.
func TestPendingBodies(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	big := bytes.Repeat([]byte("0123456789abcdef"), (3*chunkSize)/16+5)
	sp, err := s.spool(ctx, bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	if sp.blob == 0 || sp.size != int64(len(big)) {
		t.Fatalf("spool of %d bytes: blob %d, size %d", len(big), sp.blob, sp.size)
	}
	if got := countRows(t, s, "blob_chunks"); got != 3 {
		t.Errorf("%d chunk rows beside the first, want 3", got)
	}
	if _, err := s.OpenBody(ctx, blobID(sp.blob)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenBody of a pending body: %v, want ErrNotFound", err)
	}
	if err := s.SweepOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	if countRows(t, s, "blobs") != 1 {
		t.Fatal("a fresh pending body was swept")
	}
	if _, err := s.pool.Exec(ctx, "UPDATE blobs SET pending = now() - interval '2 hours'"); err != nil {
		t.Fatal(err)
	}
	if err := s.SweepOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	if n, c := countRows(t, s, "blobs"), countRows(t, s, "blob_chunks"); n != 0 || c != 0 {
		t.Errorf("after the sweep: %d blobs and %d chunks, want none", n, c)
	}

	// A small body is not written ahead.
	sp, err = s.spool(ctx, bytes.NewReader(big[:chunkSize]))
	if err != nil {
		t.Fatal(err)
	}
	if sp.blob != 0 || len(sp.data) != chunkSize || countRows(t, s, "blobs") != 0 {
		t.Errorf("a body of one chunk was written ahead (blob %d)", sp.blob)
	}
}
