package storetest

import (
	"context"
	"io"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// CheckConsistent checks the invariants a store must keep whatever happened
// to it, crashes included, and reports every violation with t.Errorf:
//
//   - every message's body opens and has the message's size;
//   - in every mailbox, UIDs are below UIDNEXT and MODSEQs at most
//     HIGHESTMODSEQ, and the message count and size equal the rows;
//   - tombstones are below UIDNEXT, at most HIGHESTMODSEQ, and name no
//     live message;
//   - message IDs are unique across the store;
//   - every account's UsedBytes is the sum of its messages' sizes;
//   - every queue item's body opens and has the item's size.
func CheckConsistent(t testing.TB, s store.Store) {
	t.Helper()
	ctx := context.Background()
	accounts, err := s.ListAccounts(ctx, "")
	if err != nil {
		t.Errorf("consistency: ListAccounts: %v", err)
		return
	}
	ids := map[int64]bool{}
	for _, a := range accounts {
		mbs, err := s.ListMailboxes(ctx, a.ID)
		if err != nil {
			t.Errorf("consistency: ListMailboxes(%s): %v", a.Address, err)
			continue
		}
		var used int64
		for _, mb := range mbs {
			used += checkMailbox(t, s, a, mb, ids)
		}
		if used != a.UsedBytes {
			t.Errorf("consistency: %s: UsedBytes %d, messages add up to %d", a.Address, a.UsedBytes, used)
		}
	}
	items, err := s.ListQueue(ctx)
	if err != nil {
		t.Errorf("consistency: ListQueue: %v", err)
	}
	for _, it := range items {
		checkBody(t, s, it.BlobID, it.Size, "queue item", it.ID)
	}
}

// checkMailbox checks one mailbox and returns the sum of its message sizes.
func checkMailbox(t testing.TB, s store.Store, a store.Account, mb store.Mailbox, ids map[int64]bool) int64 {
	t.Helper()
	ctx := context.Background()
	msgs, err := s.ListMessages(ctx, mb.ID, 1, 0)
	if err != nil {
		t.Errorf("consistency: ListMessages(%s %s): %v", a.Address, mb.Name, err)
		return 0
	}
	where := a.Address + " " + mb.Name
	var size int64
	var prev uint32
	live := map[uint32]bool{}
	for _, m := range msgs {
		size += m.Size
		live[m.UID] = true
		if m.MailboxID != mb.ID {
			t.Errorf("consistency: %s: message %d lists mailbox %d", where, m.ID, m.MailboxID)
		}
		if m.UID == 0 || m.UID <= prev || m.UID >= mb.UIDNext {
			t.Errorf("consistency: %s: UID %d after %d, UIDNEXT %d", where, m.UID, prev, mb.UIDNext)
		}
		prev = m.UID
		if m.ModSeq == 0 || m.ModSeq > mb.HighestModSeq {
			t.Errorf("consistency: %s: UID %d has MODSEQ %d, HIGHESTMODSEQ %d", where, m.UID, m.ModSeq, mb.HighestModSeq)
		}
		if ids[m.ID] {
			t.Errorf("consistency: %s: message ID %d used twice", where, m.ID)
		}
		ids[m.ID] = true
		checkBody(t, s, m.BlobID, m.Size, where+" UID", int64(m.UID))
	}
	if len(msgs) != mb.Messages || size != mb.Size {
		t.Errorf("consistency: %s: mailbox says %d messages, %d bytes; rows are %d, %d bytes",
			where, mb.Messages, mb.Size, len(msgs), size)
	}
	gone, err := s.ExpungedSince(ctx, mb.ID, 0)
	if err != nil {
		t.Errorf("consistency: ExpungedSince(%s): %v", where, err)
	}
	for _, e := range gone {
		if e.UID >= mb.UIDNext || e.ModSeq == 0 || e.ModSeq > mb.HighestModSeq || live[e.UID] {
			t.Errorf("consistency: %s: tombstone %+v (UIDNEXT %d, HIGHESTMODSEQ %d, live %v)",
				where, e, mb.UIDNext, mb.HighestModSeq, live[e.UID])
		}
	}
	return size
}

func checkBody(t testing.TB, s store.Store, blobID string, size int64, what string, id int64) {
	t.Helper()
	rc, err := s.OpenBody(context.Background(), blobID)
	if err != nil {
		t.Errorf("consistency: %s %d: body %s: %v", what, id, blobID, err)
		return
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != size {
		t.Errorf("consistency: %s %d: body %s has %d bytes (%v), want %d", what, id, blobID, n, err, size)
	}
}
