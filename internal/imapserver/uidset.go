package imapserver

import (
	"iter"
	"sort"

	"sealpost.dev/sealpost/internal/store"
)

// uidSet is the UIDs a session knows, ascending, kept as runs of
// consecutive UIDs: a mailbox with few expunges is a few runs whatever
// its size, and at worst (every other UID gone) a run costs the 8 bytes
// of two UIDs. Sequence number n names the nth UID; both directions are
// a binary search over the runs.
type uidSet struct {
	runs []uidRun // ascending; runs neither overlap nor touch
	n    uint32   // UIDs in all
}

// uidRun is a run of consecutive UIDs from first. Its length is the next
// run's before (or the set's n) minus its own.
type uidRun struct {
	first  uint32
	before uint32 // UIDs in the runs before: first's sequence number is before+1
}

func uidSetOf(ranges []store.UIDRange) uidSet {
	var s uidSet
	s.runs = make([]uidRun, 0, len(ranges))
	for _, r := range ranges {
		if r.Last < r.First || (len(s.runs) > 0 && r.First <= s.last()) {
			continue // not ascending: the store's contract is broken; skip rather than corrupt
		}
		if len(s.runs) > 0 && r.First == s.last()+1 {
			s.n += r.Last - r.First + 1
			continue
		}
		s.runs = append(s.runs, uidRun{first: r.First, before: s.n})
		s.n += r.Last - r.First + 1
	}
	return s
}

func (s *uidSet) count() uint32 { return s.n }

// runLen is the number of UIDs in run i.
func (s *uidSet) runLen(i int) uint32 {
	if i+1 < len(s.runs) {
		return s.runs[i+1].before - s.runs[i].before
	}
	return s.n - s.runs[i].before
}

// last returns the highest UID, 0 if the set is empty.
func (s *uidSet) last() uint32 {
	if len(s.runs) == 0 {
		return 0
	}
	i := len(s.runs) - 1
	return s.runs[i].first + s.runLen(i) - 1
}

// runOf returns the index of the run that would hold uid: the last run
// starting at or below it, -1 if none.
func (s *uidSet) runOf(uid uint32) int {
	return sort.Search(len(s.runs), func(i int) bool { return s.runs[i].first > uid }) - 1
}

// seq returns the sequence number of uid, 0 if the set lacks it.
func (s *uidSet) seq(uid uint32) uint32 {
	i := s.runOf(uid)
	if i < 0 || uid-s.runs[i].first >= s.runLen(i) {
		return 0
	}
	return s.runs[i].before + uid - s.runs[i].first + 1
}

// rank returns how many UIDs of the set are at most uid.
func (s *uidSet) rank(uid uint32) uint32 {
	i := s.runOf(uid)
	if i < 0 {
		return 0
	}
	return s.runs[i].before + min(uid-s.runs[i].first+1, s.runLen(i))
}

func (s *uidSet) contains(uid uint32) bool { return s.seq(uid) != 0 }

// uidAt returns the UID with sequence number seq, 0 if there is none.
func (s *uidSet) uidAt(seq uint32) uint32 {
	if seq == 0 || seq > s.n {
		return 0
	}
	i := sort.Search(len(s.runs), func(i int) bool { return s.runs[i].before >= seq }) - 1
	return s.runs[i].first + seq - s.runs[i].before - 1
}

// add appends uid, which must be above every UID of the set.
func (s *uidSet) add(uid uint32) {
	if uid <= s.last() {
		return
	}
	if len(s.runs) == 0 || uid != s.last()+1 {
		s.runs = append(s.runs, uidRun{first: uid, before: s.n})
	}
	s.n++
}

// between yields the UIDs of the set from lo to hi, ascending.
func (s *uidSet) between(lo, hi uint32) iter.Seq[uint32] {
	return func(yield func(uint32) bool) {
		for i := max(s.runOf(lo), 0); i < len(s.runs) && s.runs[i].first <= hi; i++ {
			r := s.runs[i]
			last := r.first + s.runLen(i) - 1
			for u := max(r.first, lo); u <= min(last, hi); u++ {
				if !yield(u) {
					return
				}
				if u == ^uint32(0) {
					break
				}
			}
		}
	}
}

// all returns every UID, ascending, in a new slice.
func (s *uidSet) all() []uint32 {
	out := make([]uint32, 0, s.n)
	for u := range s.between(0, ^uint32(0)) {
		out = append(out, u)
	}
	return out
}

// remove drops the given UIDs (ascending; those not in the set are
// ignored) in one pass over the runs.
func (s *uidSet) remove(uids []uint32) {
	if len(uids) == 0 {
		return
	}
	old := *s
	s.runs, s.n = make([]uidRun, 0, len(old.runs)+len(uids)), 0
	j := 0
	for i, r := range old.runs {
		first, last := r.first, r.first+old.runLen(i)-1
		for first <= last {
			for j < len(uids) && uids[j] < first {
				j++
			}
			stop := last
			if j < len(uids) && uids[j] <= last {
				stop = uids[j] - 1
			}
			if stop >= first {
				s.appendRun(first, stop)
			}
			if stop == last {
				break
			}
			first = stop + 2 // past the removed UID
			j++
			if first == 0 { // wrapped past the top
				break
			}
		}
	}
	if cap(s.runs) > 2*len(s.runs)+8 {
		s.runs = append([]uidRun(nil), s.runs...)
	}
}

// appendRun adds first..last above every UID of the set.
func (s *uidSet) appendRun(first, last uint32) {
	if len(s.runs) > 0 && first == s.last()+1 {
		s.n += last - first + 1
		return
	}
	s.runs = append(s.runs, uidRun{first: first, before: s.n})
	s.n += last - first + 1
}
