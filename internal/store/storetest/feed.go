package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// ChangeFeed tests a store.ChangeFeed. open returns two stores on one
// database, as two processes (or nodes) would open it, both closed by
// t.Cleanups it registers; the first must implement store.ChangeFeed.
// Changes made through the second must be reported through the first's
// feed, each within 2 s.
func ChangeFeed(t *testing.T, open func(t *testing.T) (watcher, writer store.Store)) {
	a, b := open(t)
	feedStore, ok := a.(store.ChangeFeed)
	if !ok {
		t.Fatalf("%T does not implement store.ChangeFeed", a)
	}
	ctx := context.Background()
	must(b.CreateDomain(ctx, "example.org")).get(t)
	ann := must(b.CreateAccount(ctx, store.NewAccount{Address: "ann@example.org", PasswordHash: "x",
		Mailboxes: []store.NewMailbox{{Name: "INBOX", Subscribed: true}, {Name: "Archive"}}})).get(t)
	inbox := must(b.GetMailbox(ctx, ann.ID, "INBOX")).get(t)
	archive := must(b.GetMailbox(ctx, ann.ID, "Archive")).get(t)

	f := WatchFeed(t, feedStore)
	// Each attempt flips the subscription: a feed that compares states
	// would miss a flip and its reversal between two looks.
	f.Ready(t, func() {
		archive.Subscribed = !archive.Subscribed
		if err := b.SetSubscribed(ctx, archive.ID, archive.Subscribed); err != nil {
			t.Fatal(err)
		}
	})
	in := store.MailboxChange{MailboxID: inbox.ID, AccountID: ann.ID}
	ar := store.MailboxChange{MailboxID: archive.ID, AccountID: ann.ID}

	msgs := must(b.Deliver(ctx, strings.NewReader("Subject: hi\r\n\r\nbody\r\n"), []store.Target{{MailboxID: inbox.ID}})).get(t)
	f.Expect(t, "Deliver", in)
	uids := []uint32{msgs[0].UID}
	must(b.UpdateFlags(ctx, store.FlagUpdate{MailboxID: inbox.ID, UIDs: uids, Op: store.FlagsAdd, Flags: []string{`\Seen`}})).get(t)
	f.Expect(t, "UpdateFlags", in)
	must(b.Copy(ctx, inbox.ID, uids, archive.ID)).get(t)
	f.Expect(t, "Copy", ar)
	must(b.Expunge(ctx, inbox.ID, uids)).get(t)
	f.Expect(t, "Expunge", in)
	if err := b.RenameMailbox(ctx, archive.ID, "Old"); err != nil {
		t.Fatal(err)
	}
	f.Expect(t, "RenameMailbox", ar)
	created := must(b.CreateMailbox(ctx, ann.ID, store.NewMailbox{Name: "New"})).get(t)
	f.Expect(t, "CreateMailbox", store.MailboxChange{MailboxID: created.ID, AccountID: ann.ID})
	if err := b.DeleteMailbox(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	f.Expect(t, "DeleteMailbox", store.MailboxChange{MailboxID: created.ID, AccountID: ann.ID})

	// A delivery that fails on quota changes nothing and reports nothing.
	if err := b.SetQuota(ctx, ann.Address, 1); err != nil {
		t.Fatal(err)
	}
	f.Drain()
	if _, err := b.Deliver(ctx, strings.NewReader("Subject: big\r\n\r\nbody\r\n"), []store.Target{{MailboxID: inbox.ID}}); err == nil {
		t.Fatal("Deliver over quota succeeded")
	}
	f.ExpectNone(t, "a failed Deliver", in)
}

// Feed collects what a store.ChangeFeed reports.
type Feed chan store.MailboxChange

// WatchFeed runs fs.WatchChanges until the test ends.
func WatchFeed(t *testing.T, fs store.ChangeFeed) Feed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := make(Feed, 10000)
	done := make(chan error, 1)
	go func() {
		done <- fs.WatchChanges(ctx, func(c store.MailboxChange) {
			select {
			case f <- c:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("WatchChanges returned %v, want context.Canceled", err)
		}
	})
	return f
}

// Ready waits until the feed reports changes, making one with change until
// something is reported, and then empties it.
func (f Feed) Ready(t *testing.T, change func()) {
	t.Helper()
	for range 50 {
		change()
		select {
		case <-f:
			f.Drain()
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatal("the change feed reported nothing")
}

// Expect waits up to 2 s for want, skipping other changes.
func (f Feed) Expect(t *testing.T, what string, want store.MailboxChange) {
	t.Helper()
	deadline := time.After(2 * time.Second)
	for {
		select {
		case c := <-f:
			if c == want {
				return
			}
		case <-deadline:
			t.Fatalf("%s: change %+v not reported within 2 s", what, want)
		}
	}
}

// ExpectNone checks that unwanted is not reported within half a second.
func (f Feed) ExpectNone(t *testing.T, what string, unwanted store.MailboxChange) {
	t.Helper()
	deadline := time.After(500 * time.Millisecond)
	for {
		select {
		case c := <-f:
			if c == unwanted {
				t.Errorf("%s reported change %+v", what, c)
			}
		case <-deadline:
			return
		}
	}
}

// Drain empties the feed once nothing arrives for 300 ms.
func (f Feed) Drain() {
	for {
		select {
		case <-f:
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}
