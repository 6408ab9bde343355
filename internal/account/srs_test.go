package account

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/srs"
	"sealpost.dev/sealpost/internal/store"
)

func newSRS(t *testing.T, now time.Time) *srs.Rewriter {
	t.Helper()
	r, err := srs.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	r.Now = func() time.Time { return now }
	return r
}

// TestResolveSRS: an SRS address of a hosted domain goes to the sender it
// was made from, and only a valid one does, whatever the aliases: a forged
// one must not relay even where a catch-all would take any address.
func TestResolveSRS(t *testing.T) {
	s := newService(t)
	now := time.Now()
	s.SRS = newSRS(t, now)
	mustAccount(t, s, "a@example.com")
	mustAccount(t, s, "d@other.example")
	mustAlias(t, s, "@example.com", "a@example.com")
	forward := func(sender, domain string) string {
		t.Helper()
		out, err := s.SRS.Forward(sender, domain)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	outside := forward("Bob@Outside.test", "example.com")
	local := forward("d@other.example", "example.com")
	first := forward("carol@origin.test", "other.example")
	twice := forward(first, "example.com")                             // SRS1 whose first hop is ours
	theirs := forward("SRS0=abcd=AA=o.test=x@hop.test", "example.com") // SRS1, first hop outside
	forged := outside[:5] + "AAAA" + outside[9:]
	expired := newSRS(t, now.Add(-22*24*time.Hour))
	old, err := expired.Forward("bob@outside.test", "example.com")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		addr     string
		accounts []string
		external []string
		err      error
	}{
		{outside, nil, []string{"bob@outside.test"}, nil},
		{strings.ToUpper(outside[:4]) + strings.ToLower(outside[4:]), nil, []string{"bob@outside.test"}, nil},
		{local, []string{"d@other.example"}, nil, nil},
		{twice, nil, []string{"carol@origin.test"}, nil},
		{theirs, nil, []string{"srs0=abcd=aa=o.test=x@hop.test"}, nil},
		{forged, nil, nil, srs.ErrBadHash},
		{old, nil, nil, srs.ErrExpired},
		{"SRS0=zzzz@example.com", nil, nil, srs.ErrMalformed},
		{"srs1=AAAA=hop.test==x=AA=o.test=y@example.com", nil, nil, srs.ErrBadHash},
		// A valid hash for another address, moved to a domain not hosted,
		// is not ours to resolve.
		{strings.Replace(outside, "@example.com", "@elsewhere.test", 1), nil, nil, ErrNotHosted},
	}
	for _, tc := range tests {
		res, err := s.Resolve(t.Context(), tc.addr)
		if !errors.Is(err, tc.err) || !slices.Equal(res.Accounts, tc.accounts) || !slices.Equal(res.External, tc.external) {
			t.Errorf("Resolve(%q) = %v, %v, %v; want %v, %v, %v", tc.addr, res.Accounts, res.External, err, tc.accounts, tc.external, tc.err)
		}
		var se *SRSError
		if tc.err != nil && tc.err != ErrNotHosted {
			if !errors.As(err, &se) || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Resolve(%q): %v is not an SRSError matching store.ErrNotFound", tc.addr, err)
			}
		}
	}

	// Without SRS the addresses are ordinary ones, here taken by the
	// catch-all: nothing is relayed.
	s.SRS = nil
	for _, addr := range []string{outside, forged} {
		res, err := s.Resolve(t.Context(), addr)
		if err != nil || len(res.External) != 0 || !slices.Equal(res.Accounts, []string{"a@example.com"}) {
			t.Errorf("without SRS, Resolve(%q) = %+v, %v", addr, res, err)
		}
	}
}

func TestSRSErrorText(t *testing.T) {
	for err, want := range map[error]string{
		srs.ErrBadHash:   "invalid SRS address x: the hash does not match",
		srs.ErrExpired:   "expired SRS address x",
		srs.ErrMalformed: "malformed SRS address x",
	} {
		if got := (&SRSError{Address: "x", Err: err}).Error(); got != want {
			t.Errorf("%v: %q, want %q", err, got, want)
		}
	}
}
