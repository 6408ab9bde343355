package delivery

import (
	"context"
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

// TestJunkIsNotForwarded: what an account's verdict files into Junk does
// not follow its forwarding rules; it stays in that account's Junk, with
// a copy kept or not. Other accounts' forwards and an alias's outside
// target still go out.
func TestJunkIsNotForwarded(t *testing.T) {
	tests := []struct {
		name      string
		keep      bool
		junk      string // the account whose verdict is Junk
		forwarded []string
		annJunk   int
		annInbox  int
	}{
		{"ham, forward only", false, "", []string{"far@outside.example", "list@outside.example"}, 0, 0},
		{"junk, forward only", false, "ann@example.org", []string{"list@outside.example"}, 1, 0},
		{"junk, keep a copy", true, "ann@example.org", []string{"list@outside.example"}, 1, 0},
		{"ham, keep a copy", true, "", []string{"far@outside.example", "list@outside.example"}, 0, 1},
		{"another account's junk", false, "bob@example.org", []string{"far@outside.example", "list@outside.example"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ann, err := f.st.GetAccount(t.Context(), "ann@example.org")
			if err != nil {
				t.Fatal(err)
			}
			rule := store.ForwardRule{AccountID: ann.ID, Target: "far@outside.example", State: store.ForwardActive,
				KeepCopy: tc.keep, Created: time.Now()}
			if _, err := f.st.AddForwardRule(t.Context(), rule); err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.CreateAlias(t.Context(), "news@example.org", []string{"ann@example.org", "list@outside.example"}); err != nil {
				t.Fatal(err)
			}
			f.p.Hooks = []Hook{hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
				return Verdict{ForAccount: func(ctx context.Context, acct string) (Verdict, error) {
					if acct == tc.junk {
						return Verdict{Folder: `\Junk`, Reason: "filter: score 9"}, nil
					}
					return Verdict{}, nil
				}}, nil
			})}
			out, err := f.p.Deliver(t.Context(), envelope("news@example.org"), Spool(plain))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Forwarded, tc.forwarded) {
				t.Errorf("forwarded %v, want %v", out.Forwarded, tc.forwarded)
			}
			if n := len(f.messages(t, "ann@example.org", "Junk")); n != tc.annJunk {
				t.Errorf("%d messages in ann's Junk, want %d", n, tc.annJunk)
			}
			if n := len(f.messages(t, "ann@example.org", "INBOX")); n != tc.annInbox {
				t.Errorf("%d messages in ann's INBOX, want %d", n, tc.annInbox)
			}
		})
	}
}
