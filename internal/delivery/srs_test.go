package delivery

import (
	"errors"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/srs"
)

type rewriterFunc func(sender, ourDomain string) (string, error)

func (f rewriterFunc) Forward(sender, ourDomain string) (string, error) { return f(sender, ourDomain) }

// TestForwardRewritesSender: the queued copy of mail an alias forwards
// outside carries an SRS reverse path of the alias's domain, which
// reverses to the sender; local copies keep the sender in Return-Path;
// the null sender and senders of hosted domains are kept; a sender that
// cannot be rewritten is forwarded as it is.
func TestForwardRewritesSender(t *testing.T) {
	rw, err := srs.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	failing := rewriterFunc(func(string, string) (string, error) { return "", srs.ErrUnsupported })
	tests := []struct {
		name     string
		rewriter SenderRewriter
		from     string
		want     string // "SRS" for an SRS address reversing to from
	}{
		{"outside sender", rw, "Sender@Far.example", "SRS"},
		{"null sender", rw, "", ""},
		{"hosted sender", rw, "bob@example.org", "bob@example.org"},
		{"hosted sender, other case", rw, "bob@EXAMPLE.org", "bob@EXAMPLE.org"},
		{"cannot rewrite", failing, "sender@far.example", "sender@far.example"},
		{"no rewriter", nil, "sender@far.example", "sender@far.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.p.Rewriter = tc.rewriter
			env := envelope("team@example.org")
			env.MailFrom = tc.from
			if _, err := f.p.Deliver(t.Context(), env, Spool(plain)); err != nil {
				t.Fatal(err)
			}
			items, err := f.st.ListQueue(t.Context())
			if err != nil || len(items) != 1 {
				t.Fatalf("queue: %+v, %v", items, err)
			}
			got := items[0].From
			if tc.want == "SRS" {
				orig, err := rw.Reverse(got)
				if !strings.HasPrefix(got, "SRS0=") || !strings.HasSuffix(got, "@example.org") || err != nil || orig != tc.from {
					t.Fatalf("queued from %q (reverses to %q, %v), want an SRS address of example.org for %s", got, orig, err, tc.from)
				}
			} else if got != tc.want {
				t.Errorf("queued from %q, want %q", got, tc.want)
			}
			for _, m := range f.messages(t, "ann@example.org", "INBOX") {
				if !strings.HasPrefix(m, "Return-Path: <"+tc.from+">\r\n") {
					t.Errorf("local copy starts %q", m[:min(len(m), 60)])
				}
			}
		})
	}
}

// TestForwardOnlyWhenOutside: mail that stays local is never rewritten,
// and the rewriter is asked for the domain of the alias that forwards.
func TestForwardOnlyWhenOutside(t *testing.T) {
	f := newFixture(t)
	var asked []string
	f.p.Rewriter = rewriterFunc(func(sender, domain string) (string, error) {
		asked = append(asked, domain)
		return "", errors.New("not used")
	})
	if _, err := f.p.Deliver(t.Context(), envelope("ann@example.org"), Spool(plain)); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 0 {
		t.Errorf("rewriter asked for local mail: %v", asked)
	}
	if _, err := f.p.Deliver(t.Context(), envelope("ann@example.org", "team@example.org"), Spool(plain)); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "example.org" {
		t.Errorf("rewriter asked for %v, want [example.org]", asked)
	}
}
