package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// getValue reads a value, failing the test unless it is want; a nil want
// means the value must be absent (ErrNotFound).
func getValue(t testing.TB, s store.Store, ns, key string, want []byte) {
	t.Helper()
	got, err := s.GetValue(context.Background(), ns, key)
	if want == nil {
		wantErr(t, fmt.Sprintf("GetValue(%q, %q)", ns, key), err, store.ErrNotFound)
		return
	}
	if err != nil {
		t.Errorf("GetValue(%q, %q): %v", ns, key, err)
		return
	}
	if got == nil || !bytes.Equal(got, want) {
		t.Errorf("GetValue(%q, %q) = %q, want %q", ns, key, got, want)
	}
}

// testKV: values read back as stored, byte for byte; a second put
// replaces the first; deleting removes, and deleting nothing is no error.
func testKV(t *testing.T, s store.Store) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	getValue(t, s, "mta-sts", "example.com", nil)

	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	noErr(t, s.PutValue(ctx, "mta-sts", "example.com", all, later))
	noErr(t, s.PutValue(ctx, "mta-sts", "empty.example", nil, later))
	getValue(t, s, "mta-sts", "example.com", all)
	getValue(t, s, "mta-sts", "empty.example", []byte{})

	// The caller may reuse its slice: the store kept a copy.
	v := []byte("first")
	noErr(t, s.PutValue(ctx, "mta-sts", "reuse.example", v, later))
	copy(v, "XXXXX")
	getValue(t, s, "mta-sts", "reuse.example", []byte("first"))

	noErr(t, s.PutValue(ctx, "mta-sts", "example.com", []byte("second"), later.Add(time.Hour)))
	getValue(t, s, "mta-sts", "example.com", []byte("second"))
	// The overwrite took the new expiry too: pruning at the old one keeps it.
	if n := must(s.PruneValues(ctx, later)).get(t); n != 2 {
		t.Errorf("PruneValues at the first expiry = %d, want 2", n)
	}
	getValue(t, s, "mta-sts", "example.com", []byte("second"))

	noErr(t, s.DeleteValue(ctx, "mta-sts", "example.com"))
	getValue(t, s, "mta-sts", "example.com", nil)
	noErr(t, s.DeleteValue(ctx, "mta-sts", "example.com"))
	noErr(t, s.DeleteValue(ctx, "mta-sts", "never.example"))
}

// testKVExpiry: a value is live strictly before its expiry, by the
// caller's clock; an expired value reads as absent until pruned, and a put
// over it brings the key back.
func testKVExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	noErr(t, s.PutValue(ctx, "ns", "past", []byte("old"), time.Now().Add(-time.Second)))
	getValue(t, s, "ns", "past", nil)

	start := time.Now()
	noErr(t, s.PutValue(ctx, "ns", "soon", []byte("brief"), start.Add(time.Second)))
	if _, err := s.GetValue(ctx, "ns", "soon"); err != nil && time.Since(start) < time.Second {
		t.Errorf("GetValue before the expiry: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.GetValue(ctx, "ns", "soon")
		if err != nil {
			wantErr(t, "GetValue after the expiry", err, store.ErrNotFound)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("value still live 10s after a 1s expiry")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("value gone after %v, before its 1s expiry", d)
	}

	noErr(t, s.PutValue(ctx, "ns", "past", []byte("new"), time.Now().Add(time.Hour)))
	getValue(t, s, "ns", "past", []byte("new"))
	if n := must(s.PruneValues(ctx, time.Now())).get(t); n != 1 {
		t.Errorf("PruneValues = %d, want 1 (the value that expired)", n)
	}
}

// testKVPrune: PruneValues removes what expired at or before the given
// time, in every namespace, counts it, and keeps the rest.
func testKVPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Now().Truncate(time.Microsecond)
	for _, v := range []struct {
		ns, key string
		exp     time.Duration
	}{
		{"a", "gone", -time.Minute},
		{"b", "gone", -time.Minute},
		{"a", "edge", time.Hour},
		{"b", "edge", time.Hour},
		{"a", "stays", time.Hour + time.Microsecond},
		{"b", "stays", 2 * time.Hour},
	} {
		noErr(t, s.PutValue(ctx, v.ns, v.key, []byte(v.ns+v.key), t0.Add(v.exp)))
	}
	if n := must(s.PruneValues(ctx, t0.Add(-2*time.Minute))).get(t); n != 0 {
		t.Errorf("PruneValues before any expiry = %d, want 0", n)
	}
	if n := must(s.PruneValues(ctx, t0.Add(time.Hour))).get(t); n != 4 {
		t.Errorf("PruneValues(t0+1h) = %d, want 4", n)
	}
	if n := must(s.PruneValues(ctx, t0.Add(time.Hour))).get(t); n != 0 {
		t.Errorf("second PruneValues(t0+1h) = %d, want 0", n)
	}
	getValue(t, s, "a", "stays", []byte("astays"))
	getValue(t, s, "b", "stays", []byte("bstays"))
	if n := must(s.PruneValues(ctx, t0.Add(3*time.Hour))).get(t); n != 2 {
		t.Errorf("PruneValues(t0+3h) = %d, want 2", n)
	}
	getValue(t, s, "a", "stays", nil)
}

// testKVNamespaces: the same key in two namespaces is two values, and keys
// compare bytewise.
func testKVNamespaces(t *testing.T, s store.Store) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	noErr(t, s.PutValue(ctx, "mta-sts", "example.com", []byte("policy"), later))
	noErr(t, s.PutValue(ctx, "dmarc", "example.com", []byte("report"), later))
	noErr(t, s.PutValue(ctx, "mta-sts", "Example.com", []byte("other"), later))
	getValue(t, s, "mta-sts", "example.com", []byte("policy"))
	getValue(t, s, "dmarc", "example.com", []byte("report"))
	getValue(t, s, "mta-sts", "Example.com", []byte("other"))
	getValue(t, s, "MTA-STS", "example.com", nil)
	getValue(t, s, "mta-sts", "example.com.", nil)

	noErr(t, s.DeleteValue(ctx, "dmarc", "example.com"))
	getValue(t, s, "dmarc", "example.com", nil)
	getValue(t, s, "mta-sts", "example.com", []byte("policy"))
}

// testKVLimits: the largest namespace, key and value are kept whole; one
// byte more, an empty or non-text name, or a zero expiry is ErrInvalid and
// stores nothing.
func testKVLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	ns := strings.Repeat("n", store.MaxNamespaceLen)
	key := strings.Repeat("é", store.MaxKeyLen/2) // two bytes each
	value := bytes.Repeat([]byte{0, 0xff, 'v'}, store.MaxValueLen/3+1)[:store.MaxValueLen]
	noErr(t, s.PutValue(ctx, ns, key, value, later))
	getValue(t, s, ns, key, value)

	for _, tc := range []struct {
		name, ns, key string
		value         []byte
		expires       time.Time
	}{
		{"long namespace", ns + "n", "k", nil, later},
		{"long key", "ns", key + "k", nil, later},
		{"long value", "ns", "k", append(value, 0), later},
		{"empty namespace", "", "k", nil, later},
		{"empty key", "ns", "", nil, later},
		{"NUL in key", "ns", "k\x00", nil, later},
		{"invalid UTF-8 key", "ns", "k\xff", nil, later},
		{"zero expiry", "ns", "k", []byte("v"), time.Time{}},
	} {
		wantErr(t, "PutValue, "+tc.name, s.PutValue(ctx, tc.ns, tc.key, tc.value, tc.expires), store.ErrInvalid)
		if tc.name != "long value" && tc.name != "zero expiry" {
			_, err := s.GetValue(ctx, tc.ns, tc.key)
			wantErr(t, "GetValue, "+tc.name, err, store.ErrInvalid)
			wantErr(t, "DeleteValue, "+tc.name, s.DeleteValue(ctx, tc.ns, tc.key), store.ErrInvalid)
		}
	}
	getValue(t, s, "ns", "k", nil)
	if n := must(s.PruneValues(ctx, later.Add(time.Hour))).get(t); n != 1 {
		t.Errorf("PruneValues = %d, want 1: only the largest value was stored", n)
	}
}

// testKVConcurrent: writers racing on one key and on keys of their own
// all succeed; the shared key holds one of the values written.
func testKVConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	const writers, rounds = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				v := fmt.Appendf(nil, "w%d-r%d", w, r)
				errs <- s.PutValue(ctx, "ns", "shared", v, later)
				errs <- s.PutValue(ctx, "ns", fmt.Sprintf("own-%d", w), v, later)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, err)
	}
	// The last write of all was some writer's last.
	got := must(s.GetValue(ctx, "ns", "shared")).get(t)
	var w, r int
	if n, err := fmt.Sscanf(string(got), "w%d-r%d", &w, &r); err != nil || n != 2 || w < 0 || w >= writers || r != rounds-1 {
		t.Errorf("shared value = %q, want a writer's last", got)
	}
	for w := range writers {
		getValue(t, s, "ns", fmt.Sprintf("own-%d", w), fmt.Appendf(nil, "w%d-r%d", w, rounds-1))
	}
}

// testKVAdd: AddValue stores only where no live value is: over nothing
// and over an expired value, not over a live one (which it leaves as it
// was); of adders racing on one key exactly one wins, and the value is
// the winner's.
func testKVAdd(t *testing.T, s store.Store) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	added := func(ns, key string, v []byte, exp time.Time, want bool) {
		t.Helper()
		if got := must(s.AddValue(ctx, ns, key, v, exp)).get(t); got != want {
			t.Errorf("AddValue(%q, %q, %q) = %v, want %v", ns, key, v, got, want)
		}
	}
	added("lease", "a", []byte("first"), later, true)
	added("lease", "a", []byte("second"), later.Add(time.Hour), false)
	getValue(t, s, "lease", "a", []byte("first"))
	// The live value kept its expiry too: pruning at it removes it.
	if n := must(s.PruneValues(ctx, later)).get(t); n != 1 {
		t.Errorf("PruneValues at the first expiry = %d, want 1", n)
	}
	added("lease", "a", nil, later, true)
	getValue(t, s, "lease", "a", []byte{})

	noErr(t, s.PutValue(ctx, "lease", "b", []byte("old"), time.Now().Add(-time.Second)))
	added("lease", "b", []byte("new"), later, true)
	getValue(t, s, "lease", "b", []byte("new"))
	added("other", "b", []byte("ns"), later, true)
	noErr(t, s.DeleteValue(ctx, "lease", "b"))
	added("lease", "b", []byte("again"), later, true)

	if _, err := s.AddValue(ctx, "lease", "c", []byte("x"), time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddValue with a zero expiry: %v, want ErrInvalid", err)
	}
	if _, err := s.AddValue(ctx, "", "c", []byte("x"), later); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddValue in no namespace: %v, want ErrInvalid", err)
	}

	// Racing over no value, then over an expired one.
	noErr(t, s.PutValue(ctx, "lease", "race-expired", []byte("old"), time.Now().Add(-time.Second)))
	for _, key := range []string{"race", "race-expired"} {
		const adders = 8
		wins := make(chan string, adders)
		errs := make(chan error, adders)
		var wg sync.WaitGroup
		for a := range adders {
			wg.Go(func() {
				v := fmt.Sprintf("adder-%d", a)
				ok, err := s.AddValue(ctx, "lease", key, []byte(v), later)
				errs <- err
				if ok {
					wins <- v
				}
			})
		}
		wg.Wait()
		close(wins)
		close(errs)
		for err := range errs {
			noErr(t, err)
		}
		var won []string
		for v := range wins {
			won = append(won, v)
		}
		if len(won) != 1 {
			t.Fatalf("%s: %d adders won the race (%q), want 1", key, len(won), won)
		}
		getValue(t, s, "lease", key, []byte(won[0]))
	}
}
