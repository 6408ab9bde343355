package delivery

import (
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/srs"
	"sealpost.dev/sealpost/internal/store"
)

// TestAccountForwarding: mail to an account with an active forward goes
// out through the forwarding path (queued, SRS through the account's
// domain) and stays in INBOX only with keep-copy; a pending rule forwards
// nothing; an envelope marked Local ignores the rules.
func TestAccountForwarding(t *testing.T) {
	rw, err := srs.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		rules     []store.ForwardRule
		local     bool
		delivered []string
		forwarded []string
	}{
		{"no rule", nil, false, []string{"ann@example.org"}, nil},
		{"pending", []store.ForwardRule{{Target: "far@outside.example", State: store.ForwardPending, TokenHash: []byte("h")}},
			false, []string{"ann@example.org"}, nil},
		{"active", []store.ForwardRule{{Target: "far@outside.example", State: store.ForwardActive}},
			false, nil, []string{"far@outside.example"}},
		{"active, keep a copy", []store.ForwardRule{{Target: "far@outside.example", State: store.ForwardActive, KeepCopy: true}},
			false, []string{"ann@example.org"}, []string{"far@outside.example"}},
		{"to a hosted account", []store.ForwardRule{{Target: "bob@example.org", State: store.ForwardActive}},
			false, []string{"bob@example.org"}, nil},
		{"disabled", []store.ForwardRule{{Target: "far@outside.example", State: store.ForwardDisabled}},
			false, []string{"ann@example.org"}, nil},
		{"local envelope", []store.ForwardRule{{Target: "far@outside.example", State: store.ForwardActive}},
			true, []string{"ann@example.org"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.p.Rewriter = rw
			ann, err := f.st.GetAccount(t.Context(), "ann@example.org")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.rules {
				r.AccountID, r.Created = ann.ID, time.Now()
				if r.State == store.ForwardPending {
					r.TokenExpires = time.Now().Add(time.Hour)
				}
				if _, err := f.st.AddForwardRule(t.Context(), r); err != nil {
					t.Fatal(err)
				}
			}
			env := envelope("ann@example.org")
			env.Local = tc.local
			out, err := f.p.Deliver(t.Context(), env, Spool(plain))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Delivered, tc.delivered) || !slices.Equal(out.Forwarded, tc.forwarded) {
				t.Errorf("delivered %v forwarded %v, want %v %v", out.Delivered, out.Forwarded, tc.delivered, tc.forwarded)
			}
			if n := len(f.messages(t, "ann@example.org", "INBOX")); n != len(slices.DeleteFunc(slices.Clone(tc.delivered), func(a string) bool { return a != "ann@example.org" })) {
				t.Errorf("%d messages in ann's INBOX", n)
			}
			items, _ := f.st.ListQueue(t.Context())
			if len(items) != min(len(tc.forwarded), 1) {
				t.Fatalf("%d queue items", len(items))
			}
			if len(items) == 1 {
				if orig, err := rw.Reverse(items[0].From); !strings.HasSuffix(items[0].From, "@example.org") || err != nil || orig != "sender@far.example" {
					t.Errorf("forwarded from %q (%q, %v)", items[0].From, orig, err)
				}
			}
		})
	}
}
