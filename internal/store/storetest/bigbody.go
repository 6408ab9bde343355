package storetest

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// generated is a body of n pseudo-random bytes made as it is read, so that
// the test itself holds none of it; sum is its SHA-256 once read to the end.
type generated struct {
	left int64
	rnd  *rand.ChaCha8
	hash [sha256.Size]byte
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func newGenerated(n int64, seed byte) *generated {
	return &generated{left: n, rnd: rand.NewChaCha8([32]byte{seed}), h: sha256.New()}
}

func (g *generated) Read(p []byte) (int, error) {
	if g.left == 0 {
		g.h.Sum(g.hash[:0])
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.left)]
	g.rnd.Read(p)
	g.h.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}

func bodyHash(t testing.TB, s store.Store, blobID string) ([sha256.Size]byte, int64) {
	t.Helper()
	rc := must(s.OpenBody(context.Background(), blobID)).get(t)
	defer rc.Close()
	h := sha256.New()
	n := must(io.Copy(h, rc)).get(t)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum, n
}

// testBigBodies stores bodies around the sizes where a backend may change
// how it keeps them (PostgreSQL splits bodies into 1 MiB chunks), and
// checks each round trip, through Deliver, Copy, Enqueue and expunges.
func testBigBodies(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	const mib = 1 << 20
	for i, size := range []int64{0, 1, mib - 1, mib, mib + 1, 2 * mib, 3*mib + 12345} {
		g := newGenerated(size, byte(i))
		msgs := must(s.Deliver(f.ctx, g, []store.Target{{MailboxID: f.inbox.ID}, {MailboxID: f.bob1.ID}})).get(t)
		for _, m := range msgs {
			if m.Size != size {
				t.Errorf("size %d: message size %d", size, m.Size)
			}
			if sum, n := bodyHash(t, s, m.BlobID); sum != g.hash || n != size {
				t.Errorf("size %d: read back %d bytes, hash differs: %v", size, n, sum != g.hash)
			}
		}
		copied := must(s.Copy(f.ctx, f.inbox.ID, []uint32{msgs[0].UID}, f.archive.ID)).get(t)
		must(s.Expunge(f.ctx, f.inbox.ID, []uint32{msgs[0].UID})).get(t)
		must(s.Expunge(f.ctx, f.bob1.ID, []uint32{msgs[1].UID})).get(t)
		if sum, n := bodyHash(t, s, copied[0].BlobID); sum != g.hash || n != size {
			t.Errorf("size %d: the copy reads back %d bytes, hash differs: %v", size, n, sum != g.hash)
		}
		must(s.Expunge(f.ctx, f.archive.ID, []uint32{copied[0].UID})).get(t)
		if _, err := s.OpenBody(f.ctx, copied[0].BlobID); err == nil {
			t.Errorf("size %d: body still readable after its last message went", size)
		}
	}
	g := newGenerated(2*mib+7, 99)
	q := must(s.Enqueue(f.ctx, g, store.NewQueueItem{From: "alice@example.test",
		Recipients: []store.NewQueueRecipient{{Address: "someone@example.net"}}})).get(t)
	if sum, n := bodyHash(t, s, q.BlobID); sum != g.hash || n != 2*mib+7 {
		t.Errorf("queued body: read back %d bytes, hash differs: %v", n, sum != g.hash)
	}
	if q.Size != 2*mib+7 {
		t.Errorf("queued body size %d", q.Size)
	}
	if err := s.DropQueueItem(f.ctx, q.ID); err != nil {
		t.Fatal(err)
	}

	// A delivery refused on quota keeps nothing of its large body.
	if err := s.SetQuota(f.ctx, f.bob.Address, mib); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(f.ctx, newGenerated(2*mib, 7), []store.Target{{MailboxID: f.bob1.ID}}); err == nil {
		t.Error("a 2 MiB delivery over a 1 MiB quota succeeded")
	}
}

// testBigBodyMemory stores and reads back a 48 MiB body, made as it is
// read, and checks that the heap never grows by more than a fraction of
// it: bodies are streamed, never held whole.
func testBigBodyMemory(t *testing.T, s store.Store) {
	if testing.Short() {
		t.Skip("48 MiB body; skipped in -short")
	}
	f := newFixture(t, s)
	const size = 48 << 20
	const bound = 16 << 20
	g := newGenerated(size, 1)
	var msgs []store.Message
	peak := HeapPeak(func() {
		msgs = must(s.Deliver(f.ctx, g, []store.Target{{MailboxID: f.inbox.ID}})).get(t)
	})
	t.Logf("Deliver of %d MiB: heap grew by at most %.1f MiB", size>>20, float64(peak)/(1<<20))
	if peak > bound {
		t.Errorf("Deliver of %d MiB grew the heap by %d MiB; bound %d MiB", size>>20, peak>>20, bound>>20)
	}
	var sum [sha256.Size]byte
	var n int64
	peak = HeapPeak(func() { sum, n = bodyHash(t, s, msgs[0].BlobID) })
	t.Logf("reading it: heap grew by at most %.1f MiB", float64(peak)/(1<<20))
	if peak > bound {
		t.Errorf("reading the %d MiB body grew the heap by %d MiB; bound %d MiB", size>>20, peak>>20, bound>>20)
	}
	if sum != g.hash || n != size {
		t.Errorf("read back %d bytes, hash differs: %v", n, sum != g.hash)
	}
}

// HeapPeak runs fn and returns the most the heap grew meanwhile, sampled
// every millisecond. The collector runs often meanwhile, so that the heap
// is mostly what is live rather than garbage awaiting collection.
func HeapPeak(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}
