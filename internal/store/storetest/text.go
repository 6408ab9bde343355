package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// testTextIndex covers store.TextIndex: the backlog after the cursor (one
// message per body), IndexText skipping gone and already indexed bodies,
// SearchText by field with trigram-length and shorter strings, pattern
// characters taken literally, text shared by copies, and the unindexed
// messages named in the same answer.
func testTextIndex(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	if c := must(s.TextCursor(ctx)).get(t); c != 0 {
		t.Errorf("TextCursor of a new store = %d", c)
	}
	docs := []store.TextDoc{
		{Header: "subject: quarterly report\nfrom: ann <ann@example.test>\n", Subject: "quarterly report", From: "ann <ann@example.test>",
			Body: "the budget is 50%_*?[x] over\n"},
		{Header: "subject: lunch\nto: bob@example.test\ncc: carol@example.test\nbcc: dave@example.test\n", Subject: "lunch",
			To: "bob@example.test", Cc: "carol@example.test", Bcc: "dave@example.test", Body: "café at noon, über nett\n"},
		{Header: "subject: gone\n", Subject: "gone", Body: "expunged before indexing\n"},
	}
	var msgs []store.Message
	for i := range docs {
		m := f.deliver(t, fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i), store.Target{MailboxID: f.inbox.ID})[0]
		docs[i].BlobID = m.BlobID
		msgs = append(msgs, m)
	}
	// A copy shares its body and so its text.
	cp := must(s.Copy(ctx, f.inbox.ID, []uint32{1}, f.archive.ID)).get(t)[0]

	backlog := must(s.TextBacklog(ctx, 0, 100)).get(t)
	if got := ids(backlog); !slices.Equal(got, []int64{msgs[0].ID, msgs[1].ID, msgs[2].ID}) {
		t.Errorf("TextBacklog = %v, want one message per body %v", got, ids(msgs))
	}
	// After the second message: the third, and the copy, whose body's first
	// message lies before the cursor.
	if got := must(s.TextBacklog(ctx, msgs[1].ID, 100)).get(t); !slices.Equal(ids(got), []int64{msgs[2].ID, cp.ID}) {
		t.Errorf("TextBacklog after %d = %v", msgs[1].ID, ids(got))
	}
	if got := must(s.TextBacklog(ctx, 0, 1)).get(t); len(got) != 1 {
		t.Errorf("TextBacklog limit 1 = %v", ids(got))
	}

	hits := must(s.SearchText(ctx, f.inbox.ID, store.TextAll, "budget")).get(t)
	if len(hits.UIDs) != 0 || !slices.Equal(uidsOf(hits.Unindexed), []uint32{1, 2, 3}) {
		t.Errorf("before indexing: %v, unindexed %v", hits.UIDs, uidsOf(hits.Unindexed))
	}

	// The third body goes before its text is stored: IndexText skips it.
	must(s.Expunge(ctx, f.inbox.ID, []uint32{3})).get(t)
	cursor := cp.ID
	noErr(t, s.IndexText(ctx, docs, cursor))
	// Again, and with a lower cursor: nothing changes.
	noErr(t, s.IndexText(ctx, docs[:1], 1))
	if c := must(s.TextCursor(ctx)).get(t); c != cursor {
		t.Errorf("TextCursor = %d, want %d", c, cursor)
	}
	if got := must(s.TextBacklog(ctx, 0, 100)).get(t); len(got) != 0 {
		t.Errorf("TextBacklog after indexing = %v", ids(got))
	}

	for _, tc := range []struct {
		field  store.TextField
		needle string
		want   []uint32
	}{
		{store.TextAll, "budget", []uint32{1}},
		{store.TextAll, "quarterly", []uint32{1}},
		{store.TextAll, "example.test", []uint32{1, 2}},
		{store.TextAll, "", []uint32{1, 2}},
		{store.TextAll, "é", []uint32{2}},
		{store.TextAll, "ü", []uint32{2}},
		{store.TextAll, "é a", []uint32{2}},
		{store.TextAll, "over", []uint32{1}},
		{store.TextAll, "ov", []uint32{1}},
		{store.TextAll, "nowhere", nil},
		{store.TextAll, "expunged", nil},
		{store.TextBody, "budget", []uint32{1}},
		{store.TextBody, "quarterly", nil},
		{store.TextBody, "50%_*?[x]", []uint32{1}},
		{store.TextBody, "%_*", []uint32{1}},
		{store.TextBody, "50*x", nil},
		{store.TextBody, "5%x", nil},
		{store.TextBody, "b_dget", nil},
		{store.TextBody, "[x]", []uint32{1}},
		{store.TextBody, "?", []uint32{1}},
		{store.TextHeader, "lunch", []uint32{2}},
		{store.TextHeader, "noon", nil},
		{store.TextSubject, "report", []uint32{1}},
		{store.TextSubject, "ann", nil},
		{store.TextFrom, "ann@", []uint32{1}},
		{store.TextFrom, "bob", nil},
		{store.TextTo, "bob@", []uint32{2}},
		{store.TextCc, "carol", []uint32{2}},
		{store.TextCc, "bob", nil},
		{store.TextBcc, "dave", []uint32{2}},
		{store.TextBcc, "da", []uint32{2}},
	} {
		hits := must(s.SearchText(ctx, f.inbox.ID, tc.field, tc.needle)).get(t)
		if !slices.Equal(hits.UIDs, tc.want) || len(hits.Unindexed) != 0 {
			t.Errorf("SearchText(%d, %q) = %v, unindexed %v; want %v", tc.field, tc.needle, hits.UIDs, uidsOf(hits.Unindexed), tc.want)
		}
	}
	// The copy in the archive has the text of its body.
	if hits := must(s.SearchText(ctx, f.archive.ID, store.TextAll, "budget")).get(t); !slices.Equal(hits.UIDs, []uint32{cp.UID}) {
		t.Errorf("SearchText in the archive = %v, want [%d]", hits.UIDs, cp.UID)
	}
	// Another account's mailbox sees none of it.
	if hits := must(s.SearchText(ctx, f.bob1.ID, store.TextAll, "budget")).get(t); len(hits.UIDs)+len(hits.Unindexed) != 0 {
		t.Errorf("SearchText in another mailbox = %+v", hits)
	}

	// A new delivery is unindexed until its text is stored.
	m := f.deliver(t, "Subject: new\r\n\r\nfresh\r\n", store.Target{MailboxID: f.inbox.ID})[0]
	hits = must(s.SearchText(ctx, f.inbox.ID, store.TextAll, "budget")).get(t)
	if !slices.Equal(hits.UIDs, []uint32{1}) || !slices.Equal(uidsOf(hits.Unindexed), []uint32{m.UID}) {
		t.Errorf("with a new message: %v, unindexed %v", hits.UIDs, uidsOf(hits.Unindexed))
	}
	if got := must(s.TextBacklog(ctx, cursor, 100)).get(t); len(got) != 1 || got[0].ID != m.ID {
		t.Errorf("TextBacklog after the new message = %v", ids(got))
	}

	// Expunging the last message of a body takes its text along; the copy
	// keeps it while it lives.
	must(s.Expunge(ctx, f.inbox.ID, []uint32{1})).get(t)
	if hits := must(s.SearchText(ctx, f.archive.ID, store.TextAll, "budget")).get(t); !slices.Equal(hits.UIDs, []uint32{cp.UID}) {
		t.Errorf("copy after the original's expunge = %v", hits.UIDs)
	}
	must(s.Expunge(ctx, f.archive.ID, []uint32{cp.UID})).get(t)
	if hits := must(s.SearchText(ctx, f.archive.ID, store.TextAll, "budget")).get(t); len(hits.UIDs) != 0 {
		t.Errorf("after every copy went = %v", hits.UIDs)
	}

	if _, err := s.SearchText(ctx, f.inbox.ID, store.TextField(99), "x"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SearchText with an unknown field: %v, want ErrInvalid", err)
	}
}

func ids(ms []store.Message) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func uidsOf(ms []store.Message) []uint32 {
	var out []uint32
	for _, m := range ms {
		out = append(out, m.UID)
	}
	return out
}
