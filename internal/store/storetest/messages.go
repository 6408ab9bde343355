package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

func testDeliver(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	body := "From: a@b.test\r\nSubject: one\r\n\r\nhello\r\n"
	date := time.Date(2024, 2, 29, 12, 30, 45, 0, time.UTC)
	before := time.Now().Add(-time.Second)
	got := f.deliver(t, body,
		store.Target{MailboxID: f.inbox.ID, Flags: []string{`\Seen`, "$Label", `\Seen`, ""}, InternalDate: date},
		store.Target{MailboxID: f.archive.ID},
		store.Target{MailboxID: f.bob1.ID, Flags: []string{`\Flagged`}},
	)
	if len(got) != 3 {
		t.Fatalf("Deliver returned %d messages, want 3", len(got))
	}
	for i, want := range []struct {
		mailbox int64
		flags   []string
	}{
		{f.inbox.ID, []string{"$Label", `\Seen`}},
		{f.archive.ID, nil},
		{f.bob1.ID, []string{`\Flagged`}},
	} {
		m := got[i]
		if m.MailboxID != want.mailbox || m.UID != 1 || m.ModSeq == 0 || m.Size != int64(len(body)) || m.BlobID != got[0].BlobID {
			t.Errorf("message %d = %+v", i, m)
		}
		eqStrings(t, fmt.Sprintf("message %d flags", i), m.Flags, want.flags)
		if m.SaveDate.Before(before) {
			t.Errorf("message %d SaveDate %v, before the delivery", i, m.SaveDate)
		}
		stored := must(s.GetMessage(f.ctx, m.MailboxID, m.UID)).get(t)
		if stored.ID != m.ID || stored.ModSeq != m.ModSeq || stored.BlobID != m.BlobID || stored.Size != m.Size ||
			!sameTime(stored.InternalDate, m.InternalDate) || !sameTime(stored.SaveDate, m.SaveDate) {
			t.Errorf("GetMessage = %+v, Deliver said %+v", stored, m)
		}
		eqStrings(t, "stored flags", stored.Flags, want.flags)
	}
	if got[0].ID == got[1].ID || got[1].ID == got[2].ID || got[0].ID == got[2].ID {
		t.Errorf("message IDs not distinct: %d %d %d", got[0].ID, got[1].ID, got[2].ID)
	}
	if !sameTime(got[0].InternalDate, date) {
		t.Errorf("InternalDate = %v, want %v", got[0].InternalDate, date)
	}
	recent(t, "default InternalDate", got[1].InternalDate)
	if b := readBody(t, s, got[0].BlobID); b != body {
		t.Errorf("OpenBody = %q, want %q", b, body)
	}
	_, err := s.OpenBody(f.ctx, "0123456789abcdef0123456789abcdef")
	wantErr(t, "OpenBody unknown", err, store.ErrNotFound)
	_, err = s.OpenBody(f.ctx, "../../sealpost.db")
	wantErr(t, "OpenBody bad id", err, store.ErrNotFound)
	_, err = s.GetMessage(f.ctx, f.inbox.ID, 2)
	wantErr(t, "GetMessage missing", err, store.ErrNotFound)

	// UIDs are sequential and MODSEQs strictly increasing per mailbox.
	lastModSeq := got[0].ModSeq
	for i := 2; i <= 6; i++ {
		m := f.deliver(t, fmt.Sprintf("Subject: %d\r\n\r\n", i), store.Target{MailboxID: f.inbox.ID})[0]
		if m.UID != uint32(i) {
			t.Errorf("delivery %d got UID %d", i, m.UID)
		}
		if m.ModSeq <= lastModSeq {
			t.Errorf("delivery %d: MODSEQ %d not above %d", i, m.ModSeq, lastModSeq)
		}
		lastModSeq = m.ModSeq
	}
	// Two targets in the same mailbox are two messages.
	two := f.deliver(t, "twice", store.Target{MailboxID: f.archive.ID}, store.Target{MailboxID: f.archive.ID})
	if two[0].UID != 2 || two[1].UID != 3 || two[1].ModSeq <= two[0].ModSeq {
		t.Errorf("two copies in one mailbox: %+v", two)
	}

	inbox := f.mailbox(t, f.inbox.ID)
	if inbox.Messages != 6 || inbox.UIDNext != 7 || inbox.HighestModSeq != lastModSeq || inbox.UIDValidity != f.inbox.UIDValidity {
		t.Errorf("INBOX after 6 deliveries: %+v", inbox)
	}
	if alice := f.account(t, f.alice.ID); alice.UsedBytes != inbox.Size+f.mailbox(t, f.archive.ID).Size {
		t.Errorf("UsedBytes = %d", alice.UsedBytes)
	}
	if bob := f.account(t, f.bob.ID); bob.UsedBytes != int64(len(body)) {
		t.Errorf("bob UsedBytes = %d, want %d", bob.UsedBytes, len(body))
	}

	// Empty body.
	empty := f.deliver(t, "", store.Target{MailboxID: f.bob1.ID})[0]
	if empty.Size != 0 || readBody(t, s, empty.BlobID) != "" {
		t.Errorf("empty body: %+v", empty)
	}
	_, err = s.Deliver(f.ctx, strings.NewReader("x"), nil)
	if err == nil {
		t.Error("Deliver with no targets succeeded")
	}
}

// failAfter fails reading after n bytes, like a client that drops the
// connection during DATA.
type failAfter struct {
	r io.Reader
	n int
}

var errDropped = errors.New("connection dropped")

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errDropped
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// testDeliverAtomic: a delivery fails as a whole and leaves nothing.
func testDeliverAtomic(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	f.deliver(t, "first", store.Target{MailboxID: f.inbox.ID})
	before := []store.Mailbox{f.mailbox(t, f.inbox.ID), f.mailbox(t, f.archive.ID), f.mailbox(t, f.bob1.ID)}
	_, err := s.Deliver(f.ctx, strings.NewReader("second"), []store.Target{
		{MailboxID: f.inbox.ID}, {MailboxID: f.archive.ID}, {MailboxID: f.bob1.ID + 1000},
	})
	wantErr(t, "Deliver to a missing mailbox", err, store.ErrNotFound)
	_, err = s.Deliver(f.ctx, &failAfter{strings.NewReader(strings.Repeat("x", 100000)), 5000}, []store.Target{
		{MailboxID: f.inbox.ID}, {MailboxID: f.bob1.ID},
	})
	if !errors.Is(err, errDropped) {
		t.Errorf("Deliver with failing body: %v, want %v", err, errDropped)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	if _, err := s.Deliver(ctx, strings.NewReader("third"), []store.Target{{MailboxID: f.inbox.ID}}); err == nil {
		t.Error("Deliver with a cancelled context succeeded")
	}
	for _, b := range before {
		after := f.mailbox(t, b.ID)
		if after.Messages != b.Messages || after.UIDNext != b.UIDNext || after.HighestModSeq != b.HighestModSeq || after.Size != b.Size {
			t.Errorf("failed deliveries changed mailbox %s: %+v, was %+v", b.Name, after, b)
		}
	}
	if n := len(must(s.ListMessages(f.ctx, f.archive.ID, 1, 0)).get(t)); n != 0 {
		t.Errorf("archive has %d messages after failed deliveries", n)
	}
	// The next delivery continues where the last good one left off.
	if m := f.deliver(t, "ok", store.Target{MailboxID: f.inbox.ID})[0]; m.UID != 2 {
		t.Errorf("next UID after failures = %d, want 2", m.UID)
	}
}

func testQuota(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	noErr(t, s.SetQuota(ctx, "alice@example.test", 100))
	body60 := strings.Repeat("a", 60)
	first := f.deliver(t, body60, store.Target{MailboxID: f.inbox.ID})[0]
	_, err := s.Deliver(ctx, strings.NewReader(body60), []store.Target{{MailboxID: f.archive.ID}})
	wantErr(t, "Deliver over quota", err, store.ErrQuota)
	// Quota counts every copy: 2 x 30 more is 120.
	_, err = s.Deliver(ctx, strings.NewReader(strings.Repeat("b", 30)), []store.Target{{MailboxID: f.inbox.ID}, {MailboxID: f.archive.ID}})
	wantErr(t, "two copies over quota", err, store.ErrQuota)
	// One account over quota fails the delivery for every target.
	_, err = s.Deliver(ctx, strings.NewReader(body60), []store.Target{{MailboxID: f.bob1.ID}, {MailboxID: f.inbox.ID}})
	wantErr(t, "mixed targets over quota", err, store.ErrQuota)
	if n := f.mailbox(t, f.bob1.ID).Messages; n != 0 {
		t.Errorf("bob got %d messages from a delivery that failed on quota", n)
	}
	if used := f.account(t, f.alice.ID).UsedBytes; used != 60 {
		t.Errorf("UsedBytes = %d, want 60", used)
	}
	// Exactly at the quota is allowed.
	f.deliver(t, strings.Repeat("c", 40), store.Target{MailboxID: f.archive.ID})
	_, err = s.Copy(ctx, f.inbox.ID, []uint32{first.UID}, f.archive.ID)
	wantErr(t, "Copy over quota", err, store.ErrQuota)
	// Moving within the account does not change the usage.
	moved := must(s.Move(ctx, f.inbox.ID, []uint32{first.UID}, f.archive.ID)).get(t)
	if len(moved) != 1 {
		t.Fatalf("Move at quota moved %d messages", len(moved))
	}
	if used := f.account(t, f.alice.ID).UsedBytes; used != 100 {
		t.Errorf("UsedBytes after move = %d, want 100", used)
	}
	// Not even when the account is over its quota (lowered below usage).
	noErr(t, s.SetQuota(ctx, "alice@example.test", 50))
	moved = must(s.Move(ctx, f.archive.ID, []uint32{moved[0].UID}, f.inbox.ID)).get(t)
	if len(moved) != 1 {
		t.Fatalf("Move over quota moved %d messages", len(moved))
	}
	// A move to another account's mailbox is charged to that account.
	noErr(t, s.SetQuota(ctx, "bob@example.test", 50))
	bobBefore := f.mailbox(t, f.bob1.ID)
	_, err = s.Move(ctx, f.inbox.ID, []uint32{moved[0].UID}, f.bob1.ID)
	wantErr(t, "Move to another account over its quota", err, store.ErrQuota)
	if got := f.mailbox(t, f.bob1.ID); got.Messages != bobBefore.Messages || got.UIDNext != bobBefore.UIDNext {
		t.Errorf("bob INBOX after refused move = %+v, was %+v", got, bobBefore)
	}
	if _, err := s.GetMessage(ctx, f.inbox.ID, moved[0].UID); err != nil {
		t.Errorf("source message after refused move: %v", err)
	}
	if a, b := f.account(t, f.alice.ID).UsedBytes, f.account(t, f.bob.ID).UsedBytes; a != 100 || b != 0 {
		t.Errorf("UsedBytes after refused move: alice %d, bob %d; want 100, 0", a, b)
	}
	noErr(t, s.SetQuota(ctx, "bob@example.test", 60))
	across := must(s.Move(ctx, f.inbox.ID, []uint32{moved[0].UID}, f.bob1.ID)).get(t)
	if len(across) != 1 || across[0].MailboxID != f.bob1.ID {
		t.Fatalf("Move to another account = %+v", across)
	}
	if a, b := f.account(t, f.alice.ID).UsedBytes, f.account(t, f.bob.ID).UsedBytes; a != 40 || b != 60 {
		t.Errorf("UsedBytes after move across accounts: alice %d, bob %d; want 40, 60", a, b)
	}
	noErr(t, s.SetQuota(ctx, "alice@example.test", 100))
	moved = must(s.Move(ctx, f.bob1.ID, []uint32{across[0].UID}, f.archive.ID)).get(t)
	// Expunging frees space.
	must(s.Expunge(ctx, f.archive.ID, []uint32{moved[0].UID})).get(t)
	f.deliver(t, body60, store.Target{MailboxID: f.inbox.ID})
	noErr(t, s.SetQuota(ctx, "alice@example.test", 0))
	f.deliver(t, strings.Repeat("d", 500), store.Target{MailboxID: f.inbox.ID})
	if used := f.account(t, f.alice.ID).UsedBytes; used != 600 {
		t.Errorf("UsedBytes unlimited = %d, want 600", used)
	}
}

func testListMessages(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	for i := range 10 {
		f.deliver(t, fmt.Sprint(i), store.Target{MailboxID: f.inbox.ID})
	}
	must(s.Expunge(f.ctx, f.inbox.ID, []uint32{4, 5})).get(t)
	for _, tc := range []struct {
		from  uint32
		limit int
		want  []uint32
	}{
		{1, 0, []uint32{1, 2, 3, 6, 7, 8, 9, 10}},
		{0, 0, []uint32{1, 2, 3, 6, 7, 8, 9, 10}},
		{4, 0, []uint32{6, 7, 8, 9, 10}},
		{2, 3, []uint32{2, 3, 6}},
		{11, 0, nil},
	} {
		var got []uint32
		for _, m := range must(s.ListMessages(f.ctx, f.inbox.ID, tc.from, tc.limit)).get(t) {
			got = append(got, m.UID)
		}
		eqUIDs(t, fmt.Sprintf("ListMessages(from %d, limit %d)", tc.from, tc.limit), got, tc.want)
	}
}

func testUpdateFlags(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	for range 4 {
		f.deliver(t, "m", store.Target{MailboxID: f.inbox.ID, Flags: []string{"$Old"}})
	}
	base := f.mailbox(t, f.inbox.ID).HighestModSeq
	type step struct {
		name           string
		uids           []uint32
		op             store.FlagOp
		flags          []string
		unchangedSince uint64 // relative: base + this, when non-zero
		wantUpdated    []uint32
		wantModified   []uint32
		want           map[uint32][]string // flags afterwards
	}
	steps := []step{
		{name: "add", uids: []uint32{1, 2}, op: store.FlagsAdd, flags: []string{`\Seen`, `\Seen`},
			wantUpdated: []uint32{1, 2},
			want:        map[uint32][]string{1: {"$Old", `\Seen`}, 2: {"$Old", `\Seen`}, 3: {"$Old"}}},
		{name: "add again changes nothing", uids: []uint32{1, 2}, op: store.FlagsAdd, flags: []string{`\Seen`},
			want: map[uint32][]string{1: {"$Old", `\Seen`}}},
		{name: "remove", uids: []uint32{2, 3}, op: store.FlagsRemove, flags: []string{"$Old"},
			wantUpdated: []uint32{2, 3},
			want:        map[uint32][]string{2: {`\Seen`}, 3: nil}},
		{name: "replace, unordered and missing UIDs", uids: []uint32{4, 1, 99}, op: store.FlagsReplace, flags: []string{`\Flagged`, `\Answered`},
			wantUpdated: []uint32{1, 4},
			want:        map[uint32][]string{1: {`\Answered`, `\Flagged`}, 4: {`\Answered`, `\Flagged`}}},
		// UID 2 was last changed at base+3, UID 3 at base+4, UID 1 at base+5.
		{name: "unchanged since", uids: []uint32{1, 2, 3}, op: store.FlagsAdd, flags: []string{"$X"}, unchangedSince: 3,
			wantUpdated: []uint32{2}, wantModified: []uint32{1, 3},
			want: map[uint32][]string{2: {"$X", `\Seen`}, 3: nil}},
		{name: "replace with nothing", uids: []uint32{4}, op: store.FlagsReplace,
			wantUpdated: []uint32{4}, want: map[uint32][]string{4: nil}},
	}
	hms := base
	for _, st := range steps {
		u := store.FlagUpdate{MailboxID: f.inbox.ID, UIDs: st.uids, Op: st.op, Flags: st.flags}
		if st.unchangedSince != 0 {
			u.UnchangedSince = base + st.unchangedSince
		}
		res := must(s.UpdateFlags(ctx, u)).get(t)
		var updated []uint32
		for _, m := range res.Updated {
			updated = append(updated, m.UID)
			if m.ModSeq <= hms {
				t.Errorf("%s: uid %d MODSEQ %d not above %d", st.name, m.UID, m.ModSeq, hms)
			}
			hms = m.ModSeq
			stored := must(s.GetMessage(ctx, f.inbox.ID, m.UID)).get(t)
			if stored.ModSeq != m.ModSeq {
				t.Errorf("%s: uid %d stored MODSEQ %d, returned %d", st.name, m.UID, stored.ModSeq, m.ModSeq)
			}
			eqStrings(t, st.name+": returned flags", m.Flags, stored.Flags)
		}
		eqUIDs(t, st.name+": updated", updated, st.wantUpdated)
		eqUIDs(t, st.name+": modified", res.Modified, st.wantModified)
		for uid, want := range st.want {
			eqStrings(t, fmt.Sprintf("%s: flags of %d", st.name, uid), must(s.GetMessage(ctx, f.inbox.ID, uid)).get(t).Flags, want)
		}
		if got := f.mailbox(t, f.inbox.ID).HighestModSeq; got != hms {
			t.Errorf("%s: HIGHESTMODSEQ = %d, want %d", st.name, got, hms)
		}
	}
	// Every change took its own MODSEQ: 2 + 2 + 2 + 1 + 1.
	if hms != base+8 {
		t.Errorf("HIGHESTMODSEQ = %d after 8 changes from %d", hms, base)
	}

	changed := must(s.ChangedSince(ctx, f.inbox.ID, base+4)).get(t)
	var uids []uint32
	for _, m := range changed {
		uids = append(uids, m.UID)
		if m.ModSeq <= base+4 {
			t.Errorf("ChangedSince returned uid %d with MODSEQ %d", m.UID, m.ModSeq)
		}
	}
	eqUIDs(t, "ChangedSince", uids, []uint32{1, 2, 4})
	if all := must(s.ChangedSince(ctx, f.inbox.ID, 0)).get(t); len(all) != 4 {
		t.Errorf("ChangedSince(0) = %d messages, want 4", len(all))
	}
	if none := must(s.ChangedSince(ctx, f.inbox.ID, hms)).get(t); len(none) != 0 {
		t.Errorf("ChangedSince(HIGHESTMODSEQ) = %v", none)
	}
	_, err := s.UpdateFlags(ctx, store.FlagUpdate{MailboxID: f.inbox.ID + 1000, UIDs: []uint32{1}, Flags: []string{"x"}})
	wantErr(t, "UpdateFlags missing mailbox", err, store.ErrNotFound)
	for _, op := range []store.FlagOp{-1, store.FlagsReplace + 1} {
		_, err = s.UpdateFlags(ctx, store.FlagUpdate{MailboxID: f.inbox.ID, UIDs: []uint32{1}, Op: op, Flags: []string{"x"}})
		wantErr(t, fmt.Sprintf("UpdateFlags op %d", op), err, store.ErrInvalid)
	}
	if got := f.mailbox(t, f.inbox.ID).HighestModSeq; got != hms {
		t.Errorf("refused UpdateFlags moved HIGHESTMODSEQ to %d", got)
	}
	// Other mailboxes are untouched.
	if got := f.mailbox(t, f.archive.ID).HighestModSeq; got != f.archive.HighestModSeq {
		t.Errorf("archive HIGHESTMODSEQ moved to %d", got)
	}
}

func testCopyMoveExpunge(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	var orig []store.Message
	for i := range 5 {
		orig = append(orig, f.deliver(t, fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i),
			store.Target{MailboxID: f.inbox.ID, Flags: []string{fmt.Sprintf("$F%d", i)}})[0])
	}
	f.deliver(t, "already there", store.Target{MailboxID: f.archive.ID})

	copied := must(s.Copy(ctx, f.inbox.ID, []uint32{3, 1, 42, 3}, f.archive.ID)).get(t)
	if len(copied) != 2 {
		t.Fatalf("Copy returned %d messages, want 2", len(copied))
	}
	for i, src := range []store.Message{orig[2], orig[0]} {
		c := copied[i]
		if c.MailboxID != f.archive.ID || c.UID != uint32(2+i) || c.BlobID != src.BlobID || c.Size != src.Size ||
			c.ID == src.ID || !sameTime(c.InternalDate, src.InternalDate) {
			t.Errorf("copy %d = %+v of %+v", i, c, src)
		}
		eqStrings(t, "copied flags", c.Flags, src.Flags)
	}
	eqUIDs(t, "source after copy", f.uids(t, f.inbox.ID), []uint32{1, 2, 3, 4, 5})
	eqUIDs(t, "archive after copy", f.uids(t, f.archive.ID), []uint32{1, 2, 3})

	inbox := f.mailbox(t, f.inbox.ID)
	moved := must(s.Move(ctx, f.inbox.ID, []uint32{5, 2}, f.bob1.ID)).get(t)
	if len(moved) != 2 || moved[0].UID != 1 || moved[1].UID != 2 || moved[0].BlobID != orig[4].BlobID || moved[1].BlobID != orig[1].BlobID {
		t.Errorf("Move = %+v", moved)
	}
	eqUIDs(t, "source after move", f.uids(t, f.inbox.ID), []uint32{1, 3, 4})
	gone := must(s.ExpungedSince(ctx, f.inbox.ID, inbox.HighestModSeq)).get(t)
	if len(gone) != 2 || gone[0].UID != 2 || gone[1].UID != 5 || gone[0].ModSeq <= inbox.HighestModSeq || gone[1].ModSeq <= gone[0].ModSeq {
		t.Errorf("tombstones after move = %+v (HIGHESTMODSEQ was %d)", gone, inbox.HighestModSeq)
	}
	afterMove := f.mailbox(t, f.inbox.ID)
	if afterMove.Messages != 3 || afterMove.HighestModSeq != gone[1].ModSeq {
		t.Errorf("INBOX after move = %+v", afterMove)
	}
	if used := f.account(t, f.bob.ID).UsedBytes; used != orig[4].Size+orig[1].Size {
		t.Errorf("bob UsedBytes after move = %d", used)
	}

	exp := must(s.Expunge(ctx, f.inbox.ID, []uint32{4, 1, 2, 77})).get(t)
	if len(exp) != 2 || exp[0].UID != 1 || exp[1].UID != 4 || exp[0].ModSeq <= afterMove.HighestModSeq || exp[1].ModSeq <= exp[0].ModSeq {
		t.Errorf("Expunge = %+v", exp)
	}
	eqUIDs(t, "after expunge", f.uids(t, f.inbox.ID), []uint32{3})
	if again := must(s.Expunge(ctx, f.inbox.ID, []uint32{1, 4})).get(t); len(again) != 0 {
		t.Errorf("second Expunge = %+v", again)
	}
	all := must(s.ExpungedSince(ctx, f.inbox.ID, 0)).get(t)
	var uids []uint32
	for _, e := range all {
		uids = append(uids, e.UID)
	}
	eqUIDs(t, "ExpungedSince(0)", uids, []uint32{1, 2, 4, 5})
	since := must(s.ExpungedSince(ctx, f.inbox.ID, afterMove.HighestModSeq)).get(t)
	if len(since) != 2 || since[0] != exp[0] || since[1] != exp[1] {
		t.Errorf("ExpungedSince(after move) = %+v, want %+v", since, exp)
	}
	last := f.mailbox(t, f.inbox.ID)
	if last.Messages != 1 || last.Size != orig[2].Size || last.UIDNext != 6 || last.HighestModSeq != exp[1].ModSeq {
		t.Errorf("INBOX at the end = %+v", last)
	}
	// The new UIDs never reuse expunged ones.
	if m := f.deliver(t, "new", store.Target{MailboxID: f.inbox.ID})[0]; m.UID != 6 {
		t.Errorf("UID after expunges = %d, want 6", m.UID)
	}
	// Copied bodies stay readable after the originals are gone.
	if b := readBody(t, s, copied[1].BlobID); b != "Subject: 0\r\n\r\nbody 0\r\n" {
		t.Errorf("body of copy = %q", b)
	}
	_, err := s.Copy(ctx, f.inbox.ID+1000, []uint32{1}, f.archive.ID)
	wantErr(t, "Copy from missing mailbox", err, store.ErrNotFound)
	_, err = s.Copy(ctx, f.inbox.ID, []uint32{3}, f.archive.ID+1000)
	wantErr(t, "Copy to missing mailbox", err, store.ErrNotFound)
	_, err = s.Move(ctx, f.inbox.ID, []uint32{3}, f.archive.ID+1000)
	wantErr(t, "Move to missing mailbox", err, store.ErrNotFound)
	eqUIDs(t, "after failed move", f.uids(t, f.inbox.ID), []uint32{3, 6})
	_, err = s.Expunge(ctx, f.inbox.ID+1000, []uint32{1})
	wantErr(t, "Expunge missing mailbox", err, store.ErrNotFound)
}

// testBodyLifetime: a body lives while a message or queue item refers to
// it, and goes when the last one goes.
func testBodyLifetime(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	ms := f.deliver(t, "shared body", store.Target{MailboxID: f.inbox.ID}, store.Target{MailboxID: f.bob1.ID})
	blob := ms[0].BlobID
	must(s.Expunge(ctx, f.inbox.ID, []uint32{ms[0].UID})).get(t)
	if readBody(t, s, blob) != "shared body" {
		t.Error("body lost while a copy remains")
	}
	c := must(s.Copy(ctx, f.bob1.ID, []uint32{ms[1].UID}, f.bob1.ID)).get(t)
	must(s.Expunge(ctx, f.bob1.ID, []uint32{ms[1].UID})).get(t)
	if readBody(t, s, blob) != "shared body" {
		t.Error("body lost while a copy remains")
	}
	must(s.Expunge(ctx, f.bob1.ID, []uint32{c[0].UID})).get(t)
	_, err := s.OpenBody(ctx, blob)
	wantErr(t, "OpenBody after the last copy is expunged", err, store.ErrNotFound)

	// Deleting a mailbox frees its bodies too.
	m := f.deliver(t, "in archive", store.Target{MailboxID: f.archive.ID})[0]
	noErr(t, s.DeleteMailbox(ctx, f.archive.ID))
	_, err = s.OpenBody(ctx, m.BlobID)
	wantErr(t, "OpenBody after DeleteMailbox", err, store.ErrNotFound)

	q := must(s.Enqueue(ctx, strings.NewReader("queued"), newItem("alice@example.test", "x@elsewhere.test"))).get(t)
	if readBody(t, s, q.BlobID) != "queued" {
		t.Error("queued body unreadable")
	}
	noErr(t, s.DropQueueItem(ctx, q.ID))
	_, err = s.OpenBody(ctx, q.BlobID)
	wantErr(t, "OpenBody after DropQueueItem", err, store.ErrNotFound)
}

func testDeleteAccount(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ms := f.deliver(t, "to both", store.Target{MailboxID: f.inbox.ID}, store.Target{MailboxID: f.bob1.ID})
	only := f.deliver(t, "alice only", store.Target{MailboxID: f.inbox.ID}, store.Target{MailboxID: f.archive.ID})
	noErr(t, s.DeleteAccount(f.ctx, "alice@example.test"))
	_, err := s.GetMailboxByID(f.ctx, f.inbox.ID)
	wantErr(t, "mailbox of deleted account", err, store.ErrNotFound)
	_, err = s.GetMessage(f.ctx, f.inbox.ID, ms[0].UID)
	wantErr(t, "message of deleted account", err, store.ErrNotFound)
	if readBody(t, s, ms[1].BlobID) != "to both" {
		t.Error("body shared with another account lost")
	}
	_, err = s.OpenBody(f.ctx, only[0].BlobID)
	wantErr(t, "body of deleted account", err, store.ErrNotFound)
	if used := f.account(t, f.bob.ID).UsedBytes; used != int64(len("to both")) {
		t.Errorf("bob UsedBytes = %d", used)
	}
}

// testConcurrentWriters: deliveries and flag changes from many goroutines
// into one mailbox keep UIDs unique and dense and MODSEQs counted exactly.
func testConcurrentWriters(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	const writers, each = 8, 15
	ctx, cancel := context.WithTimeout(f.ctx, 2*time.Minute)
	defer cancel()
	errs := make(chan error, writers+1)
	done := make(chan struct{})
	go func() { // a reader alongside, to exercise the read path under writes
		defer close(done)
		for ctx.Err() == nil {
			if _, err := s.ListMessages(ctx, f.inbox.ID, 1, 50); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("reader: %w", err)
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	results := make(chan store.Message, writers*each)
	var wg = make(chan struct{}, writers)
	for w := range writers {
		go func() {
			defer func() { wg <- struct{}{} }()
			for i := range each {
				ms, err := s.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: %d/%d\r\n\r\n", w, i)),
					[]store.Target{{MailboxID: f.inbox.ID}, {MailboxID: f.bob1.ID}})
				if err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				if _, err := s.UpdateFlags(ctx, store.FlagUpdate{MailboxID: f.inbox.ID, UIDs: []uint32{ms[0].UID},
					Op: store.FlagsAdd, Flags: []string{fmt.Sprintf("$W%d", w)}}); err != nil {
					errs <- fmt.Errorf("writer %d flags: %w", w, err)
					return
				}
				results <- ms[0]
			}
		}()
	}
	for range writers {
		<-wg
	}
	cancel()
	<-done
	close(results)
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	var uids []uint32
	ids := map[int64]bool{}
	for m := range results {
		uids = append(uids, m.UID)
		if ids[m.ID] {
			t.Errorf("message ID %d given twice", m.ID)
		}
		ids[m.ID] = true
	}
	slices.Sort(uids)
	for i, u := range uids {
		if u != uint32(i+1) {
			t.Fatalf("UIDs not unique and dense: %v", uids)
		}
	}
	n := writers * each
	inbox := f.mailbox(t, f.inbox.ID)
	if inbox.Messages != n || inbox.UIDNext != uint32(n+1) {
		t.Errorf("INBOX: %d messages, UIDNEXT %d; want %d, %d", inbox.Messages, inbox.UIDNext, n, n+1)
	}
	// One MODSEQ per append and one per flag change.
	if inbox.HighestModSeq != f.inbox.HighestModSeq+uint64(2*n) {
		t.Errorf("HIGHESTMODSEQ = %d, want %d", inbox.HighestModSeq, f.inbox.HighestModSeq+uint64(2*n))
	}
	modseqs := map[uint64]bool{}
	for _, m := range must(s.ListMessages(f.ctx, f.inbox.ID, 1, 0)).get(t) {
		if modseqs[m.ModSeq] {
			t.Errorf("MODSEQ %d shared by two messages", m.ModSeq)
		}
		modseqs[m.ModSeq] = true
		if len(m.Flags) != 1 || !strings.HasPrefix(m.Flags[0], "$W") {
			t.Errorf("%s flags = %v", describe(m), m.Flags)
		}
	}
	if bob := f.mailbox(t, f.bob1.ID); bob.Messages != n || bob.HighestModSeq != f.bob1.HighestModSeq+uint64(n) {
		t.Errorf("bob INBOX: %+v", bob)
	}
}

// testConcurrentDeliverFailures: deliveries started together, some over
// quota, some to a missing mailbox, some to an account without a quota, and
// enqueues among them. A delivery that fails does so alone: every other
// one succeeds, and exactly as many fit under the quota as it allows.
func testConcurrentDeliverFailures(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	const size, fit = 100, 10
	noErr(t, s.SetQuota(f.ctx, "alice@example.test", size*fit))
	ctx, cancel := context.WithTimeout(f.ctx, 2*time.Minute)
	defer cancel()
	missing := f.bob1.ID + 1000
	kinds := []struct {
		name     string
		callers  int
		mailbox  int64 // 0: Enqueue
		wantFail error // nil: every call succeeds
	}{
		{"alice", 24, f.inbox.ID, store.ErrQuota},
		{"bob", 8, f.bob1.ID, nil},
		{"missing", 4, missing, store.ErrNotFound},
		{"enqueue", 4, 0, nil},
	}
	const each = 2
	type outcome struct {
		kind int
		err  error
	}
	var callers int
	for _, k := range kinds {
		callers += k.callers
	}
	out := make(chan outcome, callers*each)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for ki, k := range kinds {
		for range k.callers {
			wg.Go(func() {
				<-start
				for range each {
					body := strings.NewReader(strings.Repeat("x", size))
					var err error
					if k.mailbox == 0 {
						_, err = s.Enqueue(ctx, body, store.NewQueueItem{From: "alice@example.test",
							Recipients: []store.NewQueueRecipient{{Address: "r@remote.test"}}})
					} else {
						_, err = s.Deliver(ctx, body, []store.Target{{MailboxID: k.mailbox}})
					}
					out <- outcome{ki, err}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(out)
	ok := make([]int, len(kinds))
	for o := range out {
		k := kinds[o.kind]
		switch {
		case o.err == nil:
			ok[o.kind]++
		case k.wantFail == nil || !errors.Is(o.err, k.wantFail):
			t.Errorf("%s: %v", k.name, o.err)
		}
	}
	want := []int{fit, 8 * each, 0, 4 * each}
	for i, k := range kinds {
		if ok[i] != want[i] {
			t.Errorf("%s: %d of %d calls succeeded, want %d", k.name, ok[i], k.callers*each, want[i])
		}
	}
	if used := f.account(t, f.alice.ID).UsedBytes; used != size*fit {
		t.Errorf("alice UsedBytes = %d, want %d", used, size*fit)
	}
	for _, mb := range []struct {
		id int64
		n  int
	}{{f.inbox.ID, fit}, {f.bob1.ID, 8 * each}} {
		got := f.mailbox(t, mb.id)
		if got.Messages != mb.n || got.UIDNext != uint32(mb.n+1) {
			t.Errorf("mailbox %d: %d messages, UIDNEXT %d; want %d, %d", mb.id, got.Messages, got.UIDNext, mb.n, mb.n+1)
		}
		eqUIDs(t, fmt.Sprintf("mailbox %d UIDs", mb.id), f.uids(t, mb.id), denseUIDs(mb.n))
	}
	if items := must(s.ListQueue(f.ctx)).get(t); len(items) != 4*each {
		t.Errorf("queue has %d items, want %d", len(items), 4*each)
	}
}

func denseUIDs(n int) []uint32 {
	uids := make([]uint32, n)
	for i := range uids {
		uids[i] = uint32(i + 1)
	}
	return uids
}

// testMoveWithinMailbox moves messages to the mailbox they are in, as IMAP
// MOVE allows: they get new UIDs, the old ones leave tombstones, and the
// count and size stay the same.
func testMoveWithinMailbox(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	for i := range 3 {
		f.deliver(t, fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i), store.Target{MailboxID: f.inbox.ID})
	}
	before := f.mailbox(t, f.inbox.ID)
	moved := must(s.Move(f.ctx, f.inbox.ID, []uint32{1, 3}, f.inbox.ID)).get(t)
	if len(moved) != 2 || moved[0].UID != 4 || moved[1].UID != 5 {
		t.Fatalf("Move within the mailbox = %+v", moved)
	}
	eqUIDs(t, "after the move", f.uids(t, f.inbox.ID), []uint32{2, 4, 5})
	gone := must(s.ExpungedSince(f.ctx, f.inbox.ID, before.HighestModSeq)).get(t)
	if len(gone) != 2 || gone[0].UID != 1 || gone[1].UID != 3 {
		t.Errorf("tombstones = %+v", gone)
	}
	after := f.mailbox(t, f.inbox.ID)
	if after.Messages != before.Messages || after.Size != before.Size {
		t.Errorf("mailbox before %+v, after %+v", before, after)
	}
	CheckConsistent(t, s)
}
