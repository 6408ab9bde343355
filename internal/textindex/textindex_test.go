package textindex

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// messages are the test mailbox, in UID order.
var messages = []string{
	// 1: base64 UTF-8 body, encoded-word subject
	"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>\nTo: ann@example.org\nSubject: =?UTF-8?B?UsOpdW5pb24gZGUgYnVkZ2V0?=\n" +
		"Message-ID: <one@example.org>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
		"TGUgYnVkZ2V0IGVzdCBkw6lwYXNzw6kuCg==\n",
	// 2: quoted-printable ISO-8859-1 body
	"From: ann@example.org\nTo: joerg@example.org\nCc: carol@example.org\nSubject: Re: budget\nX-Mailer: Frobnicator 3\n" +
		"Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nSch=F6ne Gr=FC=DFe aus K=F6ln\n",
	// 3: multipart with HTML and an attachment
	"From: bob@example.net\nBcc: hidden@example.org\nSubject: pictures\nContent-Type: multipart/mixed; boundary=B\n\n--B\n" +
		"Content-Type: text/html; charset=utf-8\n\n<p>Look at <b>these</b> &amp; more</p>\n--B\nContent-Type: image/jpeg\n" +
		"Content-Disposition: attachment; filename=beach.jpg\nContent-Transfer-Encoding: base64\n\nc2VjcmV0aW1hZ2VieXRlcw==\n--B--\n",
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	st, mb := newStore(t)
	for _, m := range messages {
		deliver(t, st, mb, m)
	}
	queries := []struct {
		q    Query
		want []uint32
	}{
		{Query{Field: store.TextAll, Needle: "DÉPASSÉ"}, []uint32{1}},       // base64, UTF-8, case
		{Query{Field: store.TextAll, Needle: "schöne grüsse"}, []uint32{2}}, // QP, Latin-1, ß folded
		{Query{Field: store.TextAll, Needle: "budget"}, []uint32{1, 2}},
		{Query{Field: store.TextBody, Needle: "budget"}, []uint32{1}},
		{Query{Field: store.TextSubject, Needle: "réunion"}, []uint32{1}}, // encoded word
		{Query{Field: store.TextSubject, Needle: "UsOpdW5p"}, nil},        // not the raw text
		{Query{Field: store.TextFrom, Needle: "müller"}, []uint32{1}},
		{Query{Field: store.TextFrom, Needle: "joerg"}, []uint32{1}},
		{Query{Field: store.TextTo, Needle: "joerg"}, []uint32{2}},
		{Query{Field: store.TextCc, Needle: "carol"}, []uint32{2}},
		{Query{Field: store.TextBcc, Needle: "hidden"}, []uint32{3}},
		{Query{Field: store.TextBody, Needle: "these & more"}, []uint32{3}}, // HTML to text
		{Query{Field: store.TextBody, Needle: "beach.jpg"}, []uint32{3}},
		{Query{Field: store.TextAll, Needle: "secretimage"}, nil}, // attachment bytes
		{Query{Field: store.TextAll, Needle: "<b>"}, nil},
		{Query{Field: store.TextAll, Needle: "ö"}, []uint32{1, 2}}, // short: no trigram
		{Query{Field: store.TextHeader, Name: "X-Mailer", Needle: "frob"}, []uint32{2}},
		{Query{Field: store.TextHeader, Name: "X-Mailer", Needle: "ann"}, nil},
		{Query{Field: store.TextHeader, Name: "Message-ID", Needle: ""}, []uint32{1}},
		{Query{Field: store.TextHeader, Name: "subject", Needle: "pictures"}, []uint32{3}},
		{Query{Field: store.TextHeader, Needle: "frobnicator"}, []uint32{2}},
	}
	run := func(name string) {
		qs := make([]Query, len(queries))
		for i, tc := range queries {
			qs[i] = tc.q
		}
		got, err := Search(ctx, st, nil, mb.ID, qs)
		if err != nil {
			t.Fatal(err)
		}
		for i, tc := range queries {
			if uids := slices.Sorted(maps.Keys(got[i])); !slices.Equal(uids, tc.want) {
				t.Errorf("%s: %+v = %v, want %v", name, tc.q, uids, tc.want)
			}
		}
	}
	// Before indexing every message is read; after, the index answers.
	run("unindexed")
	ix := New(st, nil)
	if err := ix.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if hits, err := st.SearchText(ctx, mb.ID, store.TextAll, "x"); err != nil || len(hits.Unindexed) != 0 {
		t.Fatalf("after catching up: %+v, %v", hits, err)
	}
	run("indexed")
	// A message delivered after indexing is found all the same.
	deliver(t, st, mb, "Subject: late budget\n\nlate\n")
	got, err := Search(ctx, st, nil, mb.ID, []Query{{Field: store.TextSubject, Needle: "budget"}})
	if err != nil {
		t.Fatal(err)
	}
	if uids := slices.Sorted(maps.Keys(got[0])); !slices.Equal(uids, []uint32{1, 2, 4}) {
		t.Errorf("with a late message: %v", uids)
	}
}

// TestIndexer runs the indexer: it catches up at start, follows pokes,
// and takes the messages a search found without text.
func TestIndexer(t *testing.T) {
	st, mb := newStore(t)
	deliver(t, st, mb, messages[0])
	ctx, cancel := context.WithCancel(context.Background())
	ix := New(st, nil)
	done := make(chan struct{})
	go func() { ix.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	waitIndexed(t, st, mb, 1)
	deliver(t, st, mb, messages[1])
	ix.Poke()
	waitIndexed(t, st, mb, 2)

	// Delivered without a poke: the indexer would take it at its next
	// recheck, a minute away. A search finds it and hands it over.
	m := deliver(t, st, mb, messages[2])
	got, err := Search(context.Background(), st, ix, mb.ID, []Query{{Field: store.TextAll, Needle: "beach"}})
	if err != nil || !got[0][m.UID] {
		t.Fatalf("search = %v, %v", got, err)
	}
	waitIndexed(t, st, mb, 3)
}

// compactScript is a store whose CompactText has pending steps to do,
// one per call; the real compaction is tested with the store.
type compactScript struct {
	store.Store
	pending atomic.Int32
	steps   atomic.Int32
	calls   atomic.Int32
}

func (c *compactScript) CompactText(ctx context.Context) (bool, error) {
	c.calls.Add(1)
	if c.pending.Load() > 0 {
		c.pending.Add(-1)
		c.steps.Add(1)
		return true, nil
	}
	return false, nil
}

// TestIndexerCompacts: the indexer has the store compact once it has
// indexed what there was, step after step until the store says it is
// done, and then leaves it alone until the next change.
func TestIndexerCompacts(t *testing.T) {
	st, mb := newStore(t)
	deliver(t, st, mb, messages[0])
	c := &compactScript{Store: st}
	c.pending.Store(5)
	ctx, cancel := context.WithCancel(context.Background())
	ix := New(c, nil)
	done := make(chan struct{})
	go func() { ix.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitIndexed(t, st, mb, 1)
	for deadline := time.Now().Add(10 * time.Second); c.calls.Load() < 6; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d steps in %d calls, want 5 in 6", c.steps.Load(), c.calls.Load())
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := c.calls.Load(); n != 6 || c.steps.Load() != 5 {
		t.Errorf("%d steps in %d calls, want 5 in 6", c.steps.Load(), n)
	}

	c.pending.Store(2)
	deliver(t, st, mb, messages[1])
	ix.Poke()
	waitIndexed(t, st, mb, 2)
	for deadline := time.Now().Add(10 * time.Second); c.calls.Load() < 9; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after a poke: %d steps in %d calls, want 7 in 9", c.steps.Load(), c.calls.Load())
		}
	}
}

func waitIndexed(t *testing.T, st store.Store, mb store.Mailbox, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		hits, err := st.SearchText(context.Background(), mb.ID, store.TextAll, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits.UIDs) == n && len(hits.Unindexed) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("indexed %v, unindexed %d; want %d indexed", hits.UIDs, len(hits.Unindexed), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newStore(t testing.TB) (store.Store, store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAccount(ctx, store.NewAccount{Address: "ann@example.org", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return st, mb
}

func deliver(t testing.TB, st store.Store, mb store.Mailbox, msg string) store.Message {
	t.Helper()
	ms, err := st.Deliver(context.Background(), strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")), []store.Target{{MailboxID: mb.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0]
}
