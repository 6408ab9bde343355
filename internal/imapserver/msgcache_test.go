package imapserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// TestMessageCacheFollowsStore makes random changes to a mailbox in the
// store (deliveries, flag changes, expunges, copies and moves in) and
// after each checks the cache's answer for a random set of UIDs against
// the store's own rows.
func TestMessageCacheFollowsStore(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	ctx := t.Context()
	other, err := e.st.GetMailbox(ctx, e.inbox.AccountID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	c := newMessageCache(1000, 1000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		e.deliver(t, fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))
	}
	flags := []string{`\Seen`, `\Flagged`, `\Deleted`, "$Label1"}
	for step := range 300 {
		current, err := e.st.ListMessages(ctx, e.inbox.ID, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		some := func() []uint32 {
			var uids []uint32
			for _, m := range current {
				if rng.IntN(3) == 0 {
					uids = append(uids, m.UID)
				}
			}
			return uids
		}
		var what string
		switch op := rng.IntN(10); {
		case op < 3:
			what = "deliver"
			e.deliver(t, fmt.Sprintf("Subject: step %d\r\n\r\nx\r\n", step))
		case op < 6:
			what = "flags"
			_, err = e.st.UpdateFlags(ctx, store.FlagUpdate{MailboxID: e.inbox.ID, UIDs: some(),
				Op: store.FlagOp(rng.IntN(3)), Flags: []string{flags[rng.IntN(len(flags))]}})
		case op < 8:
			what = "expunge"
			_, err = e.st.Expunge(ctx, e.inbox.ID, some()[:min(3, len(some()))])
		case op < 9:
			what = "copy in"
			if _, err = e.st.Copy(ctx, e.inbox.ID, some(), other.ID); err == nil {
				var back []store.Message
				if back, err = e.st.ListMessages(ctx, other.ID, 1, 0); err == nil && len(back) > 0 {
					_, err = e.st.Copy(ctx, other.ID, []uint32{back[rng.IntN(len(back))].UID}, e.inbox.ID)
				}
			}
		default:
			what = "move in"
			var back []store.Message
			if back, err = e.st.ListMessages(ctx, other.ID, 1, 0); err == nil && len(back) > 0 {
				_, err = e.st.Move(ctx, other.ID, []uint32{back[0].UID}, e.inbox.ID)
			}
		}
		if err != nil {
			t.Fatalf("step %d, %s: %v", step, what, err)
		}

		mb, err := e.st.GetMailboxByID(ctx, e.inbox.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, err := e.st.ListMessages(ctx, e.inbox.ID, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Ask for some of the messages, and for UIDs that were never
		// used or are gone.
		var ask []uint32
		for _, m := range append(current, want...) {
			if rng.IntN(2) == 0 {
				ask = append(ask, m.UID)
			}
		}
		ask = append(ask, mb.UIDNext+5)
		slices.Sort(ask)
		ask = slices.Compact(ask)
		want = slices.DeleteFunc(want, func(m store.Message) bool { _, found := slices.BinarySearch(ask, m.UID); return !found })

		got, ok, err := c.messages(ctx, e.st, mb, ask)
		if err != nil || !ok {
			t.Fatalf("step %d, after %s: messages: %v, %v", step, what, ok, err)
		}
		if !equalMessages(got, want) {
			t.Fatalf("step %d, after %s: cache gave\n%v\nthe store has\n%v", step, what, got, want)
		}
	}
}

func equalMessages(a, b []store.Message) bool {
	return slices.EqualFunc(a, b, func(x, y store.Message) bool {
		return x.ID == y.ID && x.UID == y.UID && x.ModSeq == y.ModSeq && slices.Equal(x.Flags, y.Flags) &&
			x.Size == y.Size && x.BlobID == y.BlobID && x.InternalDate.Equal(y.InternalDate) && x.SaveDate.Equal(y.SaveDate)
	})
}

// TestMessageCacheBounds: a mailbox over the per-mailbox bound is not
// kept, and the total stays under its bound by dropping other mailboxes.
func TestMessageCacheBounds(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	ctx := t.Context()
	archive, err := e.st.GetMailbox(ctx, e.inbox.AccountID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	for range 27 {
		e.deliver(t, "Subject: x\r\n\r\nx\r\n") // 30 with the test messages
	}
	if _, err := e.st.Copy(ctx, e.inbox.ID, []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, archive.ID); err != nil {
		t.Fatal(err)
	}
	all := func(n uint32) []uint32 {
		var u []uint32
		for i := uint32(1); i <= n; i++ {
			u = append(u, i)
		}
		return u
	}
	read := func(c *messageCache, id int64, want int) bool {
		t.Helper()
		mb, err := e.st.GetMailboxByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.messages(ctx, e.st, mb, all(100))
		if err != nil {
			t.Fatal(err)
		}
		if ok && len(got) != want {
			t.Errorf("mailbox %d: %d messages from the cache, want %d", id, len(got), want)
		}
		return ok
	}

	if read(newMessageCache(100, 29), e.inbox.ID, 30) {
		t.Error("a mailbox of 30 messages was served with a per-mailbox bound of 29")
	}
	c := newMessageCache(40, 30)
	if !read(c, e.inbox.ID, 30) || !read(c, archive.ID, 20) {
		t.Fatal("mailboxes within the bounds were not served")
	}
	if c.total > 40 || len(c.entries) != 1 || c.entries[archive.ID] == nil || c.entries[archive.ID].size != 20 {
		t.Errorf("after 30 then 20 messages with a bound of 40: total %d in %d entries", c.total, len(c.entries))
	}
	if !read(c, e.inbox.ID, 30) || c.total != 30 || len(c.entries) != 1 {
		t.Errorf("the INBOX again: total %d in %d entries", c.total, len(c.entries))
	}
}

// TestMessageCacheNewerEntry: an entry that another session brought past
// the mailbox state a caller read is served as it is, not read again.
func TestMessageCacheNewerEntry(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	ctx := t.Context()
	for range 30 {
		e.deliver(t, "Subject: x\r\n\r\nx\r\n")
	}
	old, err := e.st.GetMailboxByID(ctx, e.inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(t, "Subject: later\r\n\r\nx\r\n")
	fresh, err := e.st.GetMailboxByID(ctx, e.inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := newMessageCache(1000, 1000)
	uids := []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34}
	if got, _, err := c.messages(ctx, e.st, fresh, uids); err != nil || len(got) != 34 {
		t.Fatalf("fresh: %d messages, %v", len(got), err)
	}
	got, _, err := c.messages(ctx, e.st, old, uids)
	if err != nil || len(got) != 34 || c.entries[e.inbox.ID].modseq != fresh.HighestModSeq {
		t.Errorf("with an older mailbox state: %d messages (%v), entry at MODSEQ %d, want 34 at %d",
			len(got), err, c.entries[e.inbox.ID].modseq, fresh.HighestModSeq)
	}
}

// TestMessageCacheConcurrent reads one mailbox from many goroutines while
// it changes (run with -race): every answer is in UID order and holds
// only UIDs asked for.
func TestMessageCacheConcurrent(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	ctx := t.Context()
	for range 50 {
		e.deliver(t, "Subject: x\r\n\r\nx\r\n")
	}
	c := newMessageCache(1000, 1000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mb, err := e.st.GetMailboxByID(context.Background(), e.inbox.ID)
				if err != nil {
					errs <- err
					return
				}
				ask := []uint32{}
				for u := uint32(1); u < mb.UIDNext; u += 2 {
					ask = append(ask, u)
				}
				got, _, err := c.messages(context.Background(), e.st, mb, ask)
				if err != nil {
					errs <- err
					return
				}
				for i, m := range got {
					if m.UID%2 != 1 || (i > 0 && got[i-1].UID >= m.UID) {
						errs <- fmt.Errorf("answer out of order or not asked for: %v", got)
						return
					}
				}
			}
		})
	}
	for i := range 60 {
		var err error
		switch i % 3 {
		case 0:
			e.deliver(t, "Subject: more\r\n\r\nx\r\n")
		case 1:
			_, err = e.st.UpdateFlags(ctx, store.FlagUpdate{MailboxID: e.inbox.ID, UIDs: []uint32{uint32(i), uint32(i + 1)}, Op: store.FlagsAdd, Flags: []string{`\Seen`}})
		case 2:
			_, err = e.st.Expunge(ctx, e.inbox.ID, []uint32{uint32(i)})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
