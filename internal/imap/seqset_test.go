package imap

import (
	"slices"
	"testing"
)

func TestParseSeqSet(t *testing.T) {
	tests := []struct {
		in, want string // want "" means a parse error
	}{
		{"1", "1"},
		{"1:5,7,9:*", "1:5,7,9:*"},
		{"5:1", "1:5"},
		{"*:3", "3:*"},
		{"*", "*"},
		{"3,1,2", "1:3"},
		{"1:3,2:6,10,8:9", "1:6,8:10"},
		{"7,*,1:2", "1:2,7,*"},
		{"4:*,2:*", "2:*"},
		{"1:*,5", "1:*"},
		{"4294967295", "4294967295"},
		{"1:4294967295", "1:4294967295"},
		{"$", "$"},
		{"0", ""},
		{"1:0", ""},
		{"01", ""},
		{"", ""},
		{",1", ""},
		{"1,", ""},
		{"1::2", ""},
		{"4294967296", ""},
		{"1,$", ""},
		{"$,1", ""},
		{"1 2", ""},
		{"-1", ""},
		{"a", ""},
	}
	for _, tt := range tests {
		s, err := ParseSeqSet(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseSeqSet(%q) = %q, want error", tt.in, s)
			}
			continue
		}
		if err != nil || s.String() != tt.want {
			t.Errorf("ParseSeqSet(%q) = %q, %v; want %q", tt.in, s, err, tt.want)
		}
	}
}

func TestSeqSetResolveContains(t *testing.T) {
	tests := []struct {
		set     string
		largest uint32
		want    string // resolved
		in, out []uint32
		count   uint64
	}{
		{"1:*", 10, "1:10", []uint32{1, 5, 10}, []uint32{0, 11}, 10},
		{"*", 7, "7", []uint32{7}, []uint32{6, 8}, 1},
		{"5:*", 3, "3:5", []uint32{3}, []uint32{2, 6}, 1},
		{"2,4:6,9:*", 12, "2,4:6,9:12", []uint32{2, 4, 6, 9, 12}, []uint32{1, 3, 7, 8, 13}, 8},
		{"1:*", 0, "", nil, []uint32{1}, 0},
		{"3,5", 4, "3,5", []uint32{3, 5}, []uint32{4}, 1},
		{"4294967295", 4294967295, "4294967295", []uint32{4294967295}, []uint32{1}, 1},
	}
	for _, tt := range tests {
		s, err := ParseSeqSet(tt.set)
		if err != nil {
			t.Fatal(err)
		}
		r := s.Resolve(tt.largest)
		if r.String() != tt.want || r.HasStar() {
			t.Errorf("%s.Resolve(%d) = %s, want %s", tt.set, tt.largest, r, tt.want)
		}
		for _, n := range tt.in {
			if !r.Contains(n) {
				t.Errorf("%s resolved to %d should contain %d", tt.set, tt.largest, n)
			}
		}
		for _, n := range tt.out {
			if r.Contains(n) {
				t.Errorf("%s resolved to %d should not contain %d", tt.set, tt.largest, n)
			}
		}
		if c := s.Count(tt.largest); c != tt.count {
			t.Errorf("%s.Count(%d) = %d, want %d", tt.set, tt.largest, c, tt.count)
		}
		got := slices.Collect(s.All(tt.largest))
		if uint64(len(got)) != tt.count {
			t.Errorf("%s.All(%d) yielded %v, want %d numbers", tt.set, tt.largest, got, tt.count)
		}
		for _, n := range got {
			if !r.Contains(n) || n > tt.largest {
				t.Errorf("%s.All yielded %d", tt.set, n)
			}
		}
	}
}

func TestSeqSetAllStopsEarly(t *testing.T) {
	s, _ := ParseSeqSet("1:4294967295")
	n := 0
	for range s.All(4294967295) {
		n++
		if n == 1000 {
			break
		}
	}
	if n != 1000 {
		t.Fatalf("n = %d", n)
	}
	// Unresolved Contains takes * as the top of the range.
	s, _ = ParseSeqSet("10:*")
	if !s.Contains(4000000000) || s.Contains(9) {
		t.Fatal("unresolved 10:* Contains")
	}
}

func TestSeqSetBuild(t *testing.T) {
	var s SeqSet
	for _, n := range []uint32{1, 2, 3, 7, 9, 10, 4} {
		s.AddNum(n)
	}
	s.AddRange(20, 15)
	if s.String() != "1:4,7,9:10,15:20" {
		t.Fatalf("got %s", s)
	}
	if got := SeqSetOf(5, 3, 4).String(); got != "3:5" {
		t.Fatalf("SeqSetOf = %s", got)
	}
	if !(SeqSet{}).IsEmpty() || Dollar().IsEmpty() || !Dollar().IsDollar() {
		t.Fatal("IsEmpty/IsDollar")
	}
	if len(s.Ranges()) != 4 {
		t.Fatalf("ranges %v", s.Ranges())
	}
	var u SeqSet
	if err := u.UnmarshalText([]byte("3:1,9")); err != nil || u.String() != "1:3,9" {
		t.Fatalf("UnmarshalText: %s %v", u, err)
	}
	if b, _ := u.MarshalText(); string(b) != "1:3,9" {
		t.Fatalf("MarshalText %s", b)
	}
}
