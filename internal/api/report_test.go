package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/store"
)

// learner notes the lessons it is given: "learn phish first".
type learner struct {
	mu  sync.Mutex
	got []string
}

func (l *learner) note(what string, raw []byte, class string) error {
	subject, _, _ := strings.Cut(strings.SplitN(string(raw), "Subject: ", 2)[1], "\r\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, what+" "+class+" "+subject)
	return nil
}

func (l *learner) Learn(_ context.Context, _ int64, raw []byte, class string) error {
	return l.note("learn", raw, class)
}

func (l *learner) Unlearn(_ context.Context, _ int64, raw []byte, class string) error {
	return l.note("unlearn", raw, class)
}

func (l *learner) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// names lists the subjects of a mailbox's messages, "" when it does not
// exist.
func (e *env) subjects(t *testing.T, mailbox string) []string {
	t.Helper()
	mb, err := e.store.GetMailbox(t.Context(), e.acc.ID, mailbox)
	if err != nil {
		return nil
	}
	ms, err := e.store.ListMessages(t.Context(), mb.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, readSubject(t, e.store, m.BlobID))
	}
	return out
}

func readSubject(t *testing.T, st store.Store, blobID string) string {
	r, err := st.OpenBody(t.Context(), blobID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := r.Read(buf)
	b.Write(buf[:n])
	subject, _, _ := strings.Cut(strings.SplitN(b.String(), "Subject: ", 2)[1], "\r\n")
	return subject
}

// TestReport: reports move messages to Phishing (created on the first),
// Junk and INBOX and teach the filter, through a browser session with
// its CSRF token.
func TestReport(t *testing.T) {
	e := newEnv(t)
	l := &learner{}
	e.api.Trainer = &training.Trainer{Store: e.store, Learner: l}
	inbox, err := e.store.GetMailbox(t.Context(), e.acc.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"first", "second", "third"} {
		body := fmt.Sprintf("From: x@outside.test\r\nSubject: %s\r\n\r\nbody\r\n", s)
		if _, err := e.store.Deliver(t.Context(), strings.NewReader(body), []store.Target{{MailboxID: inbox.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client()
	c.login(testPassword, "").must(t, http.StatusCreated)
	report := func(mailbox string, uids []uint32, as string) answer {
		return c.do("POST", "messages/report", jsonBody(map[string]any{"mailbox": mailbox, "uids": uids, "as": as}))
	}

	// Without the CSRF token, nothing happens.
	a := c.do("POST", "messages/report", jsonBody(map[string]any{"mailbox": "INBOX", "uids": []uint32{1}, "as": "phish"}), "X-CSRF-Token", "")
	a.must(t, http.StatusForbidden)
	if got := e.subjects(t, "Phishing"); got != nil {
		t.Fatalf("Phishing %q after a refused report", got)
	}

	steps := []struct {
		name      string
		mailbox   string
		uids      []uint32
		as        string
		status    int
		answer    string // the mailbox in the answer
		moved     bool
		trained   int
		lessons   []string
		where     map[string][]string
		errorLike string
	}{
		{"phishing", "INBOX", []uint32{2, 1, 2}, "phish", 200, "Phishing", true, 2,
			[]string{"learn phish first", "learn phish second"},
			map[string][]string{"INBOX": {"third"}, "Phishing": {"first", "second"}}, ""},
		{"phishing is spam after all", "Phishing", []uint32{1}, "spam", 200, "Junk", true, 1,
			[]string{"unlearn phish first", "learn spam first"},
			map[string][]string{"Phishing": {"second"}, "Junk": {"first"}}, ""},
		{"not spam", "Junk", []uint32{1}, "ham", 200, "INBOX", true, 1,
			[]string{"unlearn spam first", "learn ham first"},
			map[string][]string{"INBOX": {"third", "first"}, "Junk": nil}, ""},
		{"already in INBOX", "INBOX", []uint32{3}, "ham", 200, "INBOX", false, 1,
			[]string{"learn ham third"}, map[string][]string{"INBOX": {"third", "first"}}, ""},
		{"no such mailbox", "Nowhere", []uint32{1}, "spam", 404, "", false, 0, nil, nil, "no mailbox"},
		{"no such message", "INBOX", []uint32{3, 99}, "spam", 404, "", false, 0, nil,
			map[string][]string{"INBOX": {"third", "first"}}, "UID 99"},
	}
	for _, st := range steps {
		a := report(st.mailbox, st.uids, st.as)
		if a.status != st.status {
			t.Fatalf("%s: %d %s, want %d", st.name, a.status, a.raw, st.status)
		}
		if st.status != 200 {
			if !strings.Contains(a.str("error"), st.errorLike) {
				t.Errorf("%s: error %q, want it to say %q", st.name, a.str("error"), st.errorLike)
			}
		} else if a.str("mailbox") != st.answer || a.body["moved"] != st.moved || a.body["trained"] != float64(st.trained) {
			t.Errorf("%s: answer %s", st.name, a.raw)
		}
		if got := l.take(); !slices.Equal(got, st.lessons) {
			t.Errorf("%s: lessons %q, want %q", st.name, got, st.lessons)
		}
		for mb, want := range st.where {
			if got := e.subjects(t, mb); !slices.Equal(got, want) {
				t.Errorf("%s: %s holds %q, want %q", st.name, mb, got, want)
			}
		}
	}
	// Phishing was made an ordinary mailbox, subscribed.
	mb, err := e.store.GetMailbox(t.Context(), e.acc.ID, "Phishing")
	if err != nil || mb.SpecialUse != "" || !mb.Subscribed {
		t.Errorf("Phishing %+v, %v", mb, err)
	}
}

// TestReportToRenamedJunk: spam goes to the \Junk mailbox whatever its
// name; without a Trainer, messages are only moved.
func TestReportToRenamedJunk(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	junk, err := e.store.GetMailbox(ctx, e.acc.ID, "Junk")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.RenameMailbox(ctx, junk.ID, "Spam"); err != nil {
		t.Fatal(err)
	}
	inbox, err := e.store.GetMailbox(ctx, e.acc.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Deliver(ctx, strings.NewReader("Subject: offer\r\n\r\nbuy\r\n"), []store.Target{{MailboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.login(testPassword, "").must(t, http.StatusCreated)
	a := c.do("POST", "messages/report", `{"mailbox":"INBOX","uids":[1],"as":"spam"}`).must(t, http.StatusOK)
	if a.str("mailbox") != "Spam" || a.body["trained"] != float64(0) {
		t.Errorf("answer %s", a.raw)
	}
	if got := e.subjects(t, "Spam"); !slices.Equal(got, []string{"offer"}) {
		t.Errorf("Spam holds %q", got)
	}
	if _, err := e.store.GetMailbox(ctx, e.acc.ID, "Junk"); err == nil {
		t.Error("a second Junk mailbox was made")
	}
}
