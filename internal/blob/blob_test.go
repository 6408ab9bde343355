package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func listAll(t *testing.T, s *Store) []string {
	t.Helper()
	var ids []string
	if err := s.Walk(context.Background(), func(in Info) error {
		ids = append(ids, in.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func TestPutOpenRemove(t *testing.T) {
	tests := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"small", []byte("Subject: hi\r\n\r\nhello\r\n")},
		{"large", bytes.Repeat([]byte("0123456789abcdef"), 1<<16)},
	}
	s := openStore(t)
	ctx := context.Background()
	var ids []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, size, err := s.Put(ctx, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !ValidID(id) {
				t.Fatalf("Put returned invalid id %q", id)
			}
			if size != int64(len(tc.body)) {
				t.Errorf("size = %d, want %d", size, len(tc.body))
			}
			f, err := s.Open(id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.body) {
				t.Errorf("read back %d bytes, want %d", len(got), len(tc.body))
			}
			if filepath.Base(filepath.Dir(s.path(id))) != id[:2] {
				t.Errorf("blob %s not in its shard: %s", id, s.path(id))
			}
			ids = append(ids, id)
		})
	}
	slices.Sort(ids)
	if got := listAll(t, s); !slices.Equal(got, ids) {
		t.Errorf("Walk = %v, want %v", got, ids)
	}
	for _, id := range ids {
		if err := s.Remove(id); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(id); err != nil {
			t.Errorf("second Remove(%s) = %v, want nil", id, err)
		}
		if _, err := s.Open(id); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open after Remove = %v, want ErrNotExist", err)
		}
	}
	if got := listAll(t, s); len(got) != 0 {
		t.Errorf("after removing all, Walk = %v", got)
	}
}

func TestIDsAreRandom(t *testing.T) {
	s := openStore(t)
	seen := map[string]bool{}
	for range 50 {
		id, _, err := s.Put(context.Background(), strings.NewReader("same body"))
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("id %s given twice", id)
		}
		seen[id] = true
	}
}

func TestInvalidID(t *testing.T) {
	s := openStore(t)
	for _, id := range []string{"", "../../etc/passwd", "0123", strings.Repeat("g", idLen), strings.Repeat("A", idLen)} {
		if _, err := s.Open(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Open(%q) = %v, want ErrInvalidID", id, err)
		}
		if err := s.Remove(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("Remove(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}

// failingReader yields n bytes and then fails, like a connection dropped in
// the middle of DATA.
type failingReader struct{ n int }

var errDropped = errors.New("connection dropped")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errDropped
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

func TestFailedWriteLeavesNothing(t *testing.T) {
	s := openStore(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		want error
	}{
		{"reader fails midway", context.Background(), &failingReader{n: 100000}, errDropped},
		{"reader fails at once", context.Background(), &failingReader{}, errDropped},
		{"context cancelled", cancelled, strings.NewReader("body"), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, _, err := s.Put(tc.ctx, tc.r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put = %q, %v; want error %v", id, err, tc.want)
			}
			if got := listAll(t, s); len(got) != 0 {
				t.Errorf("visible blobs after failed Put: %v", got)
			}
			tmp, err := os.ReadDir(filepath.Join(s.Dir(), tmpDir))
			if err != nil {
				t.Fatal(err)
			}
			if len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

func TestSweep(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	put := func() string {
		id, _, err := s.Put(ctx, strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	old := time.Now().Add(-2 * time.Hour)
	age := func(path string) {
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	usedOld, orphanOld, orphanNew := put(), put(), put()
	age(s.path(usedOld))
	age(s.path(orphanOld))
	// A temporary file from a write interrupted by a crash, and one being
	// written right now.
	staleTmp := filepath.Join(s.Dir(), tmpDir, "stale-1")
	freshTmp := filepath.Join(s.Dir(), tmpDir, "fresh-1")
	for _, p := range []string{staleTmp, freshTmp} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	age(staleTmp)

	inUse := func(_ context.Context, id string) (bool, error) { return id == usedOld, nil }
	removed, err := s.Sweep(ctx, time.Now().Add(-time.Hour), inUse)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{orphanOld}) {
		t.Errorf("Sweep removed %v, want [%s]", removed, orphanOld)
	}
	want := []string{usedOld, orphanNew}
	slices.Sort(want)
	if got := listAll(t, s); !slices.Equal(got, want) {
		t.Errorf("after Sweep: %v, want %v", got, want)
	}
	if _, err := os.Stat(staleTmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(freshTmp); err != nil {
		t.Errorf("fresh temporary file removed: %v", err)
	}

	failing := errors.New("database gone")
	if _, err := s.Sweep(ctx, time.Now().Add(time.Hour), func(context.Context, string) (bool, error) { return false, failing }); !errors.Is(err, failing) {
		t.Errorf("Sweep with failing inUse = %v, want %v", err, failing)
	}
	if got := listAll(t, s); !slices.Equal(got, want) {
		t.Errorf("failed Sweep removed blobs: %v, want %v", got, want)
	}
}

func TestReopenKeepsBlobs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := s.Put(context.Background(), strings.NewReader("kept"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s2.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(f); string(b) != "kept" {
		t.Errorf("read %q after reopen", b)
	}
}

func BenchmarkPut4KiB(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 4096)
	b.SetBytes(int64(len(body)))
	for range b.N {
		if _, _, err := s.Put(context.Background(), bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
