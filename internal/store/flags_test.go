package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNormFlags(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{}, nil},
		{[]string{""}, nil},
		{[]string{`\Seen`, "$Junk", `\Seen`, ""}, []string{"$Junk", `\Seen`}},
		{[]string{"b", "B", "a"}, []string{"B", "a", "b"}},
	} {
		in := slices.Clone(tc.in)
		if got := NormFlags(tc.in); !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("NormFlags(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("NormFlags changed its argument to %q", tc.in)
		}
	}
}

func TestApplyFlags(t *testing.T) {
	cur := []string{"$Old", `\Seen`}
	for _, tc := range []struct {
		name  string
		op    FlagOp
		flags []string
		want  []string
	}{
		{"add", FlagsAdd, []string{`\Flagged`, `\Seen`}, []string{"$Old", `\Flagged`, `\Seen`}},
		{"add nothing", FlagsAdd, nil, []string{"$Old", `\Seen`}},
		{"remove", FlagsRemove, []string{`\Seen`, "$Absent"}, []string{"$Old"}},
		{"remove all", FlagsRemove, []string{`\Seen`, "$Old"}, nil},
		{"replace", FlagsReplace, []string{"b", "a", "b"}, []string{"a", "b"}},
		{"replace with nothing", FlagsReplace, nil, nil},
	} {
		got, err := ApplyFlags(cur, tc.op, tc.flags)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: ApplyFlags = %q, %v; want %q", tc.name, got, err, tc.want)
		}
		if !slices.Equal(cur, []string{"$Old", `\Seen`}) {
			t.Fatalf("%s: ApplyFlags changed cur to %q", tc.name, cur)
		}
	}
	for _, op := range []FlagOp{-1, 3} {
		if op.Valid() {
			t.Errorf("FlagOp(%d).Valid() = true", op)
		}
		if _, err := ApplyFlags(cur, op, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("ApplyFlags op %d: %v, want ErrInvalid", op, err)
		}
	}
}

func TestDomainOf(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"u@example.org", "example.org", true},
		{"@example.org", "example.org", true},
		{`"a@b"@example.org`, "example.org", true},
		{"example.org", "", false},
		{"u@", "", false},
		{"", "", false},
	} {
		got, err := DomainOf(tc.in)
		if got != tc.want || (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("DomainOf(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestSortQueue(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	items := []QueueItem{
		{ID: 3, NextAttempt: t0},
		{ID: 1, NextAttempt: t0.Add(time.Second)},
		{ID: 1 << 62, NextAttempt: t0},
		{ID: -(1 << 62), NextAttempt: t0}, // would overflow int(a-b)
		{ID: 2, NextAttempt: t0},
	}
	SortQueue(items)
	var ids []int64
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if want := []int64{-(1 << 62), 2, 3, 1 << 62, 1}; !slices.Equal(ids, want) {
		t.Errorf("SortQueue order = %v, want %v", ids, want)
	}
}

func TestCheckQuota(t *testing.T) {
	for _, q := range []int64{0, 1, 1 << 40} {
		if err := CheckQuota(q); err != nil {
			t.Errorf("CheckQuota(%d) = %v", q, err)
		}
	}
	if err := CheckQuota(-1); !errors.Is(err, ErrInvalid) {
		t.Errorf("CheckQuota(-1) = %v, want ErrInvalid", err)
	}
}

func TestUpdateRecipients(t *testing.T) {
	stored := []QueueRecipient{
		{Address: "a@x.test", Notify: "NEVER"},
		{Address: "b@x.test", ORCPT: "rfc822;b@x.test"},
		{Address: "a@x.test", Notify: "DELAY"},
	}
	for _, tc := range []struct {
		name   string
		update []QueueRecipient
		want   []QueueRecipient // nil: ErrInvalid
	}{
		{"empty keeps", nil, stored},
		{"reordered, parameters ignored", []QueueRecipient{
			{Address: "b@x.test", Done: true, Notify: "SUCCESS"},
			{Address: "a@x.test", LastError: "first a"},
			{Address: "a@x.test", Done: true, Failed: true, ORCPT: "rfc822;z@x.test"},
		}, []QueueRecipient{
			{Address: "a@x.test", Notify: "NEVER", LastError: "first a"},
			{Address: "b@x.test", ORCPT: "rfc822;b@x.test", Done: true},
			{Address: "a@x.test", Notify: "DELAY", Done: true, Failed: true},
		}},
		{"short", []QueueRecipient{{Address: "a@x.test"}, {Address: "b@x.test"}}, nil},
		{"duplicate in place of another", []QueueRecipient{{Address: "a@x.test"}, {Address: "b@x.test"}, {Address: "b@x.test"}}, nil},
		{"unknown", []QueueRecipient{{Address: "a@x.test"}, {Address: "b@x.test"}, {Address: "c@x.test"}}, nil},
	} {
		got, err := UpdateRecipients(slices.Clone(stored), tc.update)
		if tc.want == nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: got %+v, %v; want ErrInvalid", tc.name, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestCheckValue(t *testing.T) {
	big := make([]byte, MaxValueLen)
	for _, tc := range []struct {
		name, ns, key string
		value         []byte
		ok            bool
	}{
		{"plain", "mta-sts", "example.com", []byte("{}"), true},
		{"nil value", "mta-sts", "example.com", nil, true},
		{"largest", strings.Repeat("n", MaxNamespaceLen), strings.Repeat("k", MaxKeyLen), big, true},
		{"UTF-8 key", "ns", "bücher.example", nil, true},
		{"empty namespace", "", "k", nil, false},
		{"empty key", "ns", "", nil, false},
		{"long namespace", strings.Repeat("n", MaxNamespaceLen+1), "k", nil, false},
		{"long key", "ns", strings.Repeat("k", MaxKeyLen+1), nil, false},
		{"long value", "ns", "k", append(big, 0), false},
		{"NUL in key", "ns", "a\x00b", nil, false},
		{"bad UTF-8 namespace", "n\xffs", "k", nil, false},
	} {
		err := CheckValue(tc.ns, tc.key, tc.value)
		if tc.ok && err != nil {
			t.Errorf("%s: CheckValue = %v, want nil", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: CheckValue = %v, want ErrInvalid", tc.name, err)
		}
	}
}
