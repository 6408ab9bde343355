package storetest

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/store"
)

// testSummaries checks that Deliver stores each body's summary, that
// copies share it through the blob, that ListSummarized and Summaries
// read many at once and that PutSummaries replaces them, skipping unknown
// blobs.
func testSummaries(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	bodies := []string{
		"From: A <a@b.test>\r\nSubject: one\r\n\r\nhello\r\n",
		"Subject: two\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\npart\r\n--x--\r\n",
	}
	var msgs []store.Message
	for _, b := range bodies {
		msgs = append(msgs, f.deliver(t, b, store.Target{MailboxID: f.inbox.ID})[0])
	}
	copied := must(s.Copy(f.ctx, f.inbox.ID, []uint32{msgs[0].UID}, f.archive.ID)).get(t)
	ids := []string{msgs[0].BlobID, msgs[1].BlobID, copied[0].BlobID, "999999", "not-a-blob"}
	got := must(s.Summaries(f.ctx, ids)).get(t)
	if len(got) != 2 {
		t.Fatalf("Summaries returned %d summaries, want 2 (one per body, unknown blobs left out)", len(got))
	}
	for i, b := range bodies {
		sum, err := mimeinfo.Decode(got[msgs[i].BlobID])
		if err != nil {
			t.Fatalf("summary of body %d: %v", i, err)
		}
		want := must(mimeinfo.Parse(strings.NewReader(b))).get(t)
		if !bytes.Equal(sum.Encode(), want.Encode()) {
			t.Errorf("stored summary of body %d is not the body's", i)
		}
	}
	if sum := must(mimeinfo.Decode(got[msgs[1].BlobID])).get(t); len(sum.Root.Parts) != 1 || sum.Root.Envelope.Subject != "two" {
		t.Errorf("summary of body 1: %+v", sum.Root)
	}

	listed := must(s.ListSummarized(f.ctx, f.inbox.ID, msgs[1].UID, 5)).get(t)
	if len(listed) != 1 || listed[0].UID != msgs[1].UID || listed[0].BlobID != msgs[1].BlobID ||
		!bytes.Equal(listed[0].Summary, got[msgs[1].BlobID]) {
		t.Errorf("ListSummarized from UID %d = %+v", msgs[1].UID, listed)
	}
	plain := must(s.ListMessages(f.ctx, f.inbox.ID, 1, 0)).get(t)
	listed = must(s.ListSummarized(f.ctx, f.inbox.ID, 1, 0)).get(t)
	if len(listed) != len(plain) {
		t.Fatalf("ListSummarized listed %d messages, ListMessages %d", len(listed), len(plain))
	}
	for i := range plain {
		if m := listed[i].Message; m.ID != plain[i].ID || m.UID != plain[i].UID || m.ModSeq != plain[i].ModSeq ||
			!slices.Equal(m.Flags, plain[i].Flags) || !sameTime(m.InternalDate, plain[i].InternalDate) || m.Size != plain[i].Size {
			t.Errorf("ListSummarized message %d = %+v, ListMessages %+v", i, m, plain[i])
		}
	}

	replaced := []byte{mimeinfo.Version + 1, 'x'}
	must(0, s.PutSummaries(f.ctx, map[string][]byte{msgs[0].BlobID: replaced, "999999": replaced})).get(t)
	got = must(s.Summaries(f.ctx, []string{msgs[0].BlobID})).get(t)
	if !bytes.Equal(got[msgs[0].BlobID], replaced) {
		t.Errorf("after PutSummaries: %q, want %q", got[msgs[0].BlobID], replaced)
	}
	if len(must(s.Summaries(f.ctx, nil)).get(t)) != 0 {
		t.Error("Summaries of no blobs returned some")
	}
}
