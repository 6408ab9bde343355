package imapserver

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// threadMessages follow the three of testMessages as UIDs 4 to 6.
var threadMessages = []string{
	"From: dave@example.org\r\nSubject: Re: one\r\nDate: Wed, 4 Mar 2026 10:00:00 +0000\r\nMessage-Id: <4@example.org>\r\nIn-Reply-To: <1@example.org>\r\n\r\nreply\r\n",
	"From: Alice <alice@example.org>\r\nSubject: [list] Fwd: two\r\nDate: Sun, 1 Mar 2026 10:00:00 +0000\r\nMessage-Id: <5@example.org>\r\nReferences: <missing@example.org>\r\n\r\nforward\r\n",
	"From: Eve <eve@example.org>\r\nSubject: RE: one (fwd)\r\nDate: Thu, 5 Mar 2026 10:00:00 +0000\r\nMessage-Id: <6@example.org>\r\nReferences: <1@example.org> <4@example.org>\r\n\r\nmore\r\n",
}

func TestSortThread(t *testing.T) {
	tests := []struct {
		name  string
		steps []cstep
	}{
		{"capabilities", []cstep{
			{0, "CAPABILITY", "OK", []string{" SORT", " ESORT", " THREAD=ORDEREDSUBJECT", " THREAD=REFERENCES"}, nil},
		}},
		{"SORT", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "SORT (SUBJECT) UTF-8 ALL", "OK", []string{"* SORT 1 4 6 3 2 5"}, nil},
			{0, "SORT (FROM) US-ASCII ALL", "OK", []string{"* SORT 3 5 1 2 4 6"}, nil},
			{0, "SORT (DATE) UTF-8 ALL", "OK", []string{"* SORT 5 1 2 4 6 3"}, nil},
			{0, "SORT (REVERSE DATE) UTF-8 ALL", "OK", []string{"* SORT 3 6 4 2 1 5"}, nil},
			{0, "SORT (TO SUBJECT) UTF-8 ALL", "OK", []string{"* SORT 4 6 3 5 1 2"}, nil},
			{0, "SORT (ARRIVAL) UTF-8 ALL", "OK", []string{"* SORT 1 2 3 4 5 6"}, nil},
			{0, "SORT (CC REVERSE SIZE) UTF-8 1:2", "OK", []string{"* SORT 2 1"}, nil},
			{0, "UID SORT (SUBJECT) UTF-8 SUBJECT one", "OK", []string{"* SORT 1 4 6"}, nil},
			{0, "SORT (SUBJECT) UTF-8 SUBJECT nothing", "OK", []string{"* SORT"}, []string{"SORT "}},
			{0, "SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL", "OK", []string{"* ESEARCH (TAG ", " MIN 5 MAX 3 COUNT 6 ALL 5,1:2,4,6,3"}, nil},
			{0, "UID SORT RETURN () (SUBJECT) UTF-8 ALL", "OK", []string{" UID ALL 1,4,6,3,2,5"}, nil},
			{0, "SORT (DISPLAYFROM) UTF-8 ALL", "OK", []string{"* SORT 3 5 1 2 4 6"}, nil},
			{0, "SORT (REVERSE DISPLAYTO) UTF-8 ALL", "OK", []string{"* SORT "}, nil},
			{0, "SORT (SUBJECT) KOI8-R ALL", "NO [BADCHARSET", nil, nil},
			{0, "SORT (SUBJECT) ALL", "BAD", nil, nil},
		}},
		{"THREAD", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "THREAD ORDEREDSUBJECT UTF-8 ALL", "OK", []string{"* THREAD (5 2)(1 (4)(6))(3)"}, nil},
			{0, "THREAD REFERENCES UTF-8 ALL", "OK", []string{"* THREAD (1 4 6)(2 5)(3)"}, nil},
			{0, "UID THREAD REFERENCES US-ASCII 4:6", "OK", []string{"* THREAD (5)(4 6)"}, nil},
			{0, "THREAD REFERENCES UTF-8 SUBJECT nothing", "OK", []string{"* THREAD"}, []string{"("}},
			{0, "THREAD REFS UTF-8 ALL", "BAD", nil, nil},
			{0, "THREAD REFERENCES KOI8-R ALL", "NO [BADCHARSET", nil, nil},
		}},
		{"not selected", []cstep{
			{0, "SORT (SUBJECT) UTF-8 ALL", "BAD", nil, nil},
			{0, "THREAD REFERENCES UTF-8 ALL", "BAD", nil, nil},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Limits{}, 0)
			for _, m := range threadMessages {
				e.deliver(t, m)
			}
			runScript(t, e, tc.steps)
		})
	}
}

func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in, want string
		reply    bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"RE: re: Fwd: Hello", "Hello", true},
		{"Re [list]: Hello", "Hello", true},
		{"[list] Re: Hello  (fwd)", "Hello", true},
		{"[list] Hello", "Hello", false},
		{"[list]", "[list]", false},
		{"[Fwd: Re: Hello]", "Hello", true},
		{"  Hello \t  world  ", "Hello world", false},
		{"=?utf-8?q?Re=3A_caf=C3=A9?=", "café", true},
		{"Fw: Hello", "Hello", true},
		{"Reply: Hello", "Reply: Hello", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, reply := baseSubject(tc.in)
		if got != tc.want || reply != tc.reply {
			t.Errorf("baseSubject(%q) = %q, %v; want %q, %v", tc.in, got, reply, tc.want, tc.reply)
		}
	}
}

// bodyCounter counts the message bodies opened through it.
type bodyCounter struct {
	store.Store
	opens atomic.Int64
}

func (b *bodyCounter) OpenBody(ctx context.Context, blobID string) (io.ReadCloser, error) {
	b.opens.Add(1)
	return b.Store.OpenBody(ctx, blobID)
}

// TestSortReadsSummaries checks that SORT and THREAD take what they need
// from the summaries stored at delivery, opening no message.
func TestSortReadsSummaries(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	for _, m := range threadMessages {
		e.deliver(t, m)
	}
	st := &bodyCounter{Store: e.st}
	v := &view{mb: e.inbox}
	v.uids.appendRun(1, 6)
	ss := &session{srv: &Server{store: st, summaries: newSummaryCache(summaryCacheBytes), log: slog.New(slog.DiscardHandler)}, sel: v}
	msgs, err := ss.sortables(t.Context(), "UTF-8", []imap.SearchKey{{Op: "ALL"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 6 || msgs[3].env.MessageID != "<4@example.org>" || msgs[3].env.InReplyTo != "<1@example.org>" ||
		msgs[5].env.References != "<1@example.org> <4@example.org>" || display(msgs[4].env.From) != "Alice" {
		t.Fatalf("envelopes not read from the summaries: %d messages, %+v", len(msgs), msgs[min(3, len(msgs)-1)].env)
	}
	order := sortOrder(msgs, []imap.SortCriterion{{Key: "DATE"}})
	if got := fmt.Sprint(order); got != "[4 0 1 3 5 2]" {
		t.Errorf("by date: %s", got)
	}
	if n := st.opens.Load(); n != 0 {
		t.Errorf("SORT opened %d messages", n)
	}
}
