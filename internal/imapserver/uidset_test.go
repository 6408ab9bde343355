package imapserver

import (
	"fmt"
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// checkUIDSet compares s with the plain slice it stands for.
func checkUIDSet(t *testing.T, s *uidSet, want []uint32) {
	t.Helper()
	if got := s.all(); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("all() = %v, want %v", got, want)
	}
	if s.count() != uint32(len(want)) {
		t.Fatalf("count() = %d, want %d", s.count(), len(want))
	}
	var last uint32
	if len(want) > 0 {
		last = want[len(want)-1]
	}
	if s.last() != last {
		t.Fatalf("last() = %d, want %d", s.last(), last)
	}
	for i, u := range want {
		if s.seq(u) != uint32(i+1) || s.uidAt(uint32(i+1)) != u {
			t.Fatalf("UID %d: seq %d, uidAt(%d) %d", u, s.seq(u), i+1, s.uidAt(uint32(i+1)))
		}
		if !slices.Contains(want, u+1) && s.seq(u+1) != 0 {
			t.Fatalf("seq(%d) = %d for a UID not in the set", u+1, s.seq(u+1))
		}
	}
	// rank(u) counts the UIDs at most u; check it around every UID.
	for _, u := range want {
		for _, x := range []uint32{u - 1, u, u + 1} {
			n := uint32(0)
			for _, w := range want {
				if w <= x {
					n++
				}
			}
			if s.rank(x) != n {
				t.Fatalf("rank(%d) = %d, want %d", x, s.rank(x), n)
			}
		}
	}
	if s.uidAt(uint32(len(want)+1)) != 0 || s.uidAt(0) != 0 || s.seq(0) != 0 {
		t.Fatal("out of range lookups must give 0")
	}
	for i := 1; i < len(s.runs); i++ {
		prev := s.runs[i-1].first + s.runLen(i-1) - 1
		if s.runs[i].first <= prev+1 {
			t.Fatalf("runs %v touch or overlap", s.runs)
		}
	}
}

func rng(first, last uint32) store.UIDRange { return store.UIDRange{First: first, Last: last} }

func TestUIDSet(t *testing.T) {
	s := uidSetOf([]store.UIDRange{rng(1, 3), rng(4, 4), rng(7, 9), rng(12, 12)})
	want := []uint32{1, 2, 3, 4, 7, 8, 9, 12}
	checkUIDSet(t, &s, want)
	if len(s.runs) != 3 {
		t.Errorf("adjacent ranges were not merged: %v", s.runs)
	}
	if got := slices.Collect(s.between(3, 8)); !slices.Equal(got, []uint32{3, 4, 7, 8}) {
		t.Errorf("between(3, 8) = %v", got)
	}
	s.add(13)
	s.add(20)
	s.add(5) // below the top: ignored
	want = append(want, 13, 20)
	checkUIDSet(t, &s, want)
	s.remove([]uint32{1, 2, 8, 11, 20})
	checkUIDSet(t, &s, []uint32{3, 4, 7, 9, 12, 13})
	s.remove([]uint32{3, 4, 7, 9, 12, 13})
	checkUIDSet(t, &s, nil)
	top := uidSetOf([]store.UIDRange{rng(^uint32(0)-2, ^uint32(0))})
	top.remove([]uint32{^uint32(0) - 1})
	checkUIDSet(t, &top, []uint32{^uint32(0) - 2, ^uint32(0)})
	top.remove([]uint32{^uint32(0)})
	checkUIDSet(t, &top, []uint32{^uint32(0) - 2})
}

// FuzzUIDSet drives a uidSet and a plain slice through the same adds and
// removals and requires them to agree.
func FuzzUIDSet(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 5, 130, 7})
	f.Add([]byte{10, 10, 10, 129, 255, 140, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var s uidSet
		var model []uint32
		next := uint32(1)
		for i, op := range ops {
			if op < 128 {
				next += uint32(op % 4)
				s.add(next)
				model = append(model, next)
				next++
				continue
			}
			// Remove every UID whose index matches the op's pattern.
			var gone []uint32
			for k, u := range model {
				if (k+i)%int(op-126) == 0 {
					gone = append(gone, u)
				}
			}
			gone = append(gone, next+5) // not in the set
			s.remove(gone)
			model = slices.DeleteFunc(model, func(u uint32) bool { return slices.Contains(gone, u) })
		}
		checkUIDSet(t, &s, model)
		if len(model) > 1 {
			lo, hi := model[0]+1, model[len(model)-1]-1
			var want []uint32
			for _, u := range model {
				if u >= lo && u <= hi {
					want = append(want, u)
				}
			}
			if got := slices.Collect(s.between(lo, hi)); fmt.Sprint(got) != fmt.Sprint(want) && len(want) > 0 {
				t.Fatalf("between(%d, %d) = %v, want %v", lo, hi, got, want)
			}
		}
	})
}
