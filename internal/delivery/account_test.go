package delivery

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestForAccount: a hook's per-account decision files one account's copy
// into Junk with its own fields and rewrites another's; the message-level
// fields stay on both, and the forwarded copy is never rewritten.
func TestForAccount(t *testing.T) {
	f := newFixture(t)
	var asked []string
	hook := hookFunc(func(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
		return Verdict{Headers: []string{"X-Level: message"}, ForAccount: func(ctx context.Context, acct string) (Verdict, error) {
			asked = append(asked, acct)
			if acct == "ann@example.org" {
				return Verdict{Folder: `\Junk`, Headers: []string{"X-Level: ann"}}, nil
			}
			return Verdict{Headers: []string{"X-Level: bob"}, Rewrite: func(r io.Reader) (io.Reader, error) {
				b, err := io.ReadAll(r)
				return bytes.NewReader(bytes.Replace(b, []byte("Hi."), []byte("BANNER\r\nHi."), 1)), err
			}}, nil
		}}, nil
	})
	f.p.Hooks = []Hook{hook}
	out, err := f.p.Deliver(t.Context(), envelope("team@example.org"), Spool(plain))
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || len(out.Forwarded) != 1 {
		t.Fatalf("asked for %v, outcome %+v", asked, out)
	}
	if inbox := f.messages(t, "ann@example.org", "INBOX"); len(inbox) != 0 {
		t.Errorf("ann's INBOX has %d messages, want 0", len(inbox))
	}
	ann := f.messages(t, "ann@example.org", "Junk")
	if len(ann) != 1 || !strings.Contains(ann[0], "X-Level: message\r\nX-Level: ann\r\n") || strings.Contains(ann[0], "BANNER") {
		t.Errorf("ann's Junk: %q", ann)
	}
	bob := f.messages(t, "bob@example.org", "INBOX")
	if len(bob) != 1 || !strings.Contains(bob[0], "X-Level: message\r\nX-Level: bob\r\n") || !strings.HasSuffix(bob[0], "\r\n\r\nBANNER\r\nHi.\r\n") {
		t.Errorf("bob's INBOX: %q", bob)
	}
	body := queuedBody(t, f, out.QueueID)
	if strings.Contains(body, "BANNER") || strings.Contains(body, "X-Level: ann") || !strings.Contains(body, "X-Level: message") {
		t.Errorf("forwarded copy:\n%s", body)
	}
}

// TestRewrite: a message-level rewrite is stored, after the Drop fields
// are left out; a failing one stores the message as received, and a
// failing per-account decision falls back to the message-level verdict.
func TestRewrite(t *testing.T) {
	msg := "X-Bad: 1\r\nFrom: sender@far.example\r\nSubject: hello\r\n\r\nHi.\r\n"
	tests := []struct {
		name     string
		rewrite  func(io.Reader) (io.Reader, error)
		perAcct  error
		want     string
		wantJunk bool
	}{
		{"rewritten", func(r io.Reader) (io.Reader, error) {
			b, err := io.ReadAll(r)
			return strings.NewReader(strings.ToUpper(string(b))), err
		}, nil, "FROM: SENDER@FAR.EXAMPLE\r\nSUBJECT: HELLO\r\n\r\nHI.\r\n", false},
		{"rewrite fails", func(r io.Reader) (io.Reader, error) {
			io.ReadAll(r)
			return nil, errors.New("no")
		}, nil, "From: sender@far.example\r\nSubject: hello\r\n\r\nHi.\r\n", false},
		{"per-account fails", nil, errors.New("model unavailable"), "From: sender@far.example\r\nSubject: hello\r\n\r\nHi.\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.p.Hooks = []Hook{hookFunc(func(ctx context.Context, env *Envelope, m Message) (Verdict, error) {
				v := Verdict{Drop: []int{0}, Rewrite: tt.rewrite}
				if tt.perAcct != nil {
					v.Folder = `\Junk`
					v.ForAccount = func(context.Context, string) (Verdict, error) { return Verdict{}, tt.perAcct }
				}
				return v, nil
			})}
			if _, err := f.p.Deliver(t.Context(), envelope("ann@example.org"), Spool(msg)); err != nil {
				t.Fatal(err)
			}
			box := "INBOX"
			if tt.wantJunk {
				box = "Junk"
			}
			got := f.messages(t, "ann@example.org", box)
			if len(got) != 1 || !strings.HasSuffix(got[0], "\r\n"+tt.want) || strings.Contains(got[0], "X-Bad") {
				t.Errorf("stored %q, want it to end with %q", got, tt.want)
			}
		})
	}
}

// queuedBody returns the body of the queue item id.
func queuedBody(t *testing.T, f *fixture, id int64) string {
	t.Helper()
	q, err := f.st.GetQueueItem(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.st.OpenBody(t.Context(), q.BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
