package imap

import (
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// Star stands for "*" (the largest number in use) in a SeqRange. It is 0,
// which no message number or UID can be.
const Star uint32 = 0

// SeqRange is a closed range of message numbers or UIDs. Start <= Stop,
// with Star ordered above every number.
type SeqRange struct{ Start, Stop uint32 }

// SeqSet is a sequence-set (RFC 9051 §9): ranges of numbers, possibly
// holding "*", or "$" (RFC 5182 SEARCHRES: the saved search result).
// Its ranges are kept sorted and merged. The zero SeqSet is empty.
type SeqSet struct {
	ranges []SeqRange
	dollar bool
}

// less orders numbers with Star highest.
func seqLess(a, b uint32) bool {
	if a == Star {
		return false
	}
	return b == Star || a < b
}

// Dollar returns the SEARCHRES set "$".
func Dollar() SeqSet { return SeqSet{dollar: true} }

// IsDollar reports whether s is "$": the server substitutes its saved result.
func (s SeqSet) IsDollar() bool { return s.dollar }

// IsEmpty reports whether s holds nothing (and is not "$").
func (s SeqSet) IsEmpty() bool { return len(s.ranges) == 0 && !s.dollar }

// HasStar reports whether s uses "*".
func (s SeqSet) HasStar() bool {
	return len(s.ranges) > 0 && s.ranges[len(s.ranges)-1].Stop == Star
}

// Ranges returns the normalised ranges; the caller must not modify them.
func (s SeqSet) Ranges() []SeqRange { return s.ranges }

// SeqSetOf returns a set holding nums.
func SeqSetOf(nums ...uint32) SeqSet {
	var s SeqSet
	for _, n := range nums {
		s.AddRange(n, n)
	}
	return s
}

// AddNum adds one number.
func (s *SeqSet) AddNum(n uint32) { s.AddRange(n, n) }

// AddRange adds start:stop (either may be Star; order does not matter).
func (s *SeqSet) AddRange(start, stop uint32) {
	if seqLess(stop, start) {
		start, stop = stop, start
	}
	r := s.ranges
	// Fast path: appending in ascending order, as servers build UID sets.
	if n := len(r); n > 0 && r[n-1].Stop != Star && start != Star && start > r[n-1].Stop {
		if start == r[n-1].Stop+1 {
			r[n-1].Stop = stop
			return
		}
		s.ranges = append(r, SeqRange{start, stop})
		return
	}
	s.ranges = append(r, SeqRange{start, stop})
	s.normalise()
}

// normalise sorts and merges the ranges.
func (s *SeqSet) normalise() {
	slices.SortFunc(s.ranges, func(a, b SeqRange) int {
		switch {
		case seqLess(a.Start, b.Start):
			return -1
		case seqLess(b.Start, a.Start):
			return 1
		}
		return 0
	})
	out := s.ranges[:0]
	for _, r := range s.ranges {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Stop == Star || !seqLess(last.Stop, r.Start) ||
				(r.Start != Star && last.Stop+1 == r.Start) {
				if seqLess(last.Stop, r.Stop) {
					last.Stop = r.Stop
				}
				continue
			}
		}
		out = append(out, r)
	}
	s.ranges = out
}

// Resolve replaces "*" by largest, the highest number or UID in use
// (RFC 9051 §9: "3:*" with largest 2 means "2:3"). With largest 0 (an
// empty mailbox) ranges holding "*" are dropped. "$" is returned as is.
func (s SeqSet) Resolve(largest uint32) SeqSet {
	if !s.HasStar() {
		return s
	}
	out := SeqSet{ranges: make([]SeqRange, 0, len(s.ranges))}
	for _, r := range s.ranges {
		if r.Stop == Star {
			if largest == 0 {
				continue
			}
			start := r.Start
			if start == Star {
				start = largest
			}
			out.ranges = append(out.ranges, SeqRange{start, largest})
			continue
		}
		out.ranges = append(out.ranges, r)
	}
	for i := range out.ranges {
		if out.ranges[i].Start > out.ranges[i].Stop {
			out.ranges[i].Start, out.ranges[i].Stop = out.ranges[i].Stop, out.ranges[i].Start
		}
	}
	out.normalise()
	return out
}

// Contains reports whether n is in s. "*" is taken as 4294967295: resolve
// a set holding "*" first.
func (s SeqSet) Contains(n uint32) bool {
	if n == 0 {
		return false
	}
	i, _ := slices.BinarySearchFunc(s.ranges, n, func(r SeqRange, n uint32) int {
		if stop := r.Stop; stop != Star && stop < n {
			return -1
		}
		return 1
	})
	if i == len(s.ranges) {
		return false
	}
	r := s.ranges[i]
	start := r.Start
	if start == Star {
		start = ^uint32(0)
	}
	return start <= n
}

// All yields the numbers of s in ascending order, "*" resolved to largest
// and nothing above largest: at most largest numbers.
func (s SeqSet) All(largest uint32) iter.Seq[uint32] {
	rs := s.Resolve(largest).ranges
	return func(yield func(uint32) bool) {
		for _, r := range rs {
			for n := r.Start; n <= min(r.Stop, largest); n++ {
				if !yield(n) || n == ^uint32(0) {
					return
				}
			}
		}
	}
}

// Count returns how many numbers All(largest) yields.
func (s SeqSet) Count(largest uint32) uint64 {
	var c uint64
	for _, r := range s.Resolve(largest).ranges {
		if r.Start > largest {
			break
		}
		c += uint64(min(r.Stop, largest)-r.Start) + 1
	}
	return c
}

// String formats s as a sequence-set, "" for the empty set.
func (s SeqSet) String() string {
	if s.dollar {
		return "$"
	}
	var b strings.Builder
	for i, r := range s.ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		writeSeqNum(&b, r.Start)
		if r.Start != r.Stop {
			b.WriteByte(':')
			writeSeqNum(&b, r.Stop)
		}
	}
	return b.String()
}

func writeSeqNum(b *strings.Builder, n uint32) {
	if n == Star {
		b.WriteByte('*')
		return
	}
	b.WriteString(strconv.FormatUint(uint64(n), 10))
}

// ParseSeqSet parses a sequence-set, "*" and "$" included.
func ParseSeqSet(s string) (set SeqSet, err error) {
	p := &parser{line: []byte(s), r: &Reader{lim: Limits{}.withDefaults()}}
	defer catch(&err)
	set = p.seqSet(true)
	p.end()
	return set, nil
}

// seqSet reads a sequence-set; dollar allows "$".
func (p *parser) seqSet(dollar bool) SeqSet {
	if p.accept('$') {
		if !dollar {
			p.fail("$ not allowed here")
		}
		return Dollar()
	}
	var s SeqSet
	for range 1 << 16 {
		a := p.seqNumber()
		b := a
		if p.accept(':') {
			b = p.seqNumber()
		}
		s.AddRange(a, b)
		if !p.accept(',') {
			return s
		}
	}
	p.fail("sequence set too long")
	return s
}

func (p *parser) seqNumber() uint32 {
	if p.accept('*') {
		return Star
	}
	if p.peek() == '0' {
		p.fail("invalid sequence number at %s", p.where())
	}
	if !isDigit(p.peek()) {
		p.fail("expected sequence set at %s", p.where())
	}
	return p.nzNumber()
}

// GoString helps test failure messages.
func (s SeqSet) GoString() string { return fmt.Sprintf("SeqSet(%q)", s.String()) }

// MarshalText formats s as String does.
func (s SeqSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a sequence-set.
func (s *SeqSet) UnmarshalText(b []byte) error {
	set, err := ParseSeqSet(string(b))
	if err != nil {
		return err
	}
	*s = set
	return nil
}
