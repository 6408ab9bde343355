package storetest

import (
	"sync"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// testClaimRecent checks the \Recent mark: it only rises, each claim
// returns the mark before it, and of concurrent claimers each UID goes to
// exactly one.
func testClaimRecent(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	id := f.inbox.ID
	if got := must(s.ClaimRecent(ctx, id, 0)).get(t); got != 0 {
		t.Errorf("fresh mark = %d, want 0", got)
	}
	if got := must(s.ClaimRecent(ctx, id, 5)).get(t); got != 0 {
		t.Errorf("first claim returned %d, want 0", got)
	}
	if got := must(s.ClaimRecent(ctx, id, 3)).get(t); got != 5 {
		t.Errorf("lower claim returned %d, want 5", got)
	}
	if got := must(s.ClaimRecent(ctx, id, 0)).get(t); got != 5 {
		t.Errorf("mark after a lower claim = %d, want 5", got)
	}
	if got := must(s.ClaimRecent(ctx, f.archive.ID, 0)).get(t); got != 0 {
		t.Errorf("other mailbox's mark = %d, want 0", got)
	}
	_, err := s.ClaimRecent(ctx, id+1000, 1)
	wantErr(t, "ClaimRecent missing", err, store.ErrNotFound)

	// Eight claimers race up to 100 in steps; the ranges (prev, upTo]
	// they win must cover 6..100 exactly once.
	var mu sync.Mutex
	won := map[uint32]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for upTo := uint32(6 + w); upTo <= 100; upTo += 8 {
				prev, err := s.ClaimRecent(ctx, id, upTo)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for u := prev + 1; u <= upTo; u++ {
					won[u]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for u := uint32(6); u <= 100; u++ {
		if won[u] != 1 {
			t.Errorf("UID %d claimed %d times", u, won[u])
		}
	}
}

// testSubscriptions checks that a subscription outlives its mailbox and
// comes back with a mailbox of the same name.
func testSubscriptions(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	a := f.alice.ID
	if got := must(s.SubscribedNames(ctx, a)).get(t); len(got) != 0 {
		t.Errorf("fresh SubscribedNames = %q", got)
	}
	noErr(t, s.SetNameSubscribed(ctx, a, "Later", true))
	noErr(t, s.SetNameSubscribed(ctx, a, "Later", true))
	noErr(t, s.SetNameSubscribed(ctx, a, "Elsewhere", true))
	noErr(t, s.SetNameSubscribed(ctx, f.bob.ID, "Bobs", true))
	eqStrings(t, "SubscribedNames", must(s.SubscribedNames(ctx, a)).get(t), []string{"Elsewhere", "Later"})
	noErr(t, s.SetNameSubscribed(ctx, a, "Elsewhere", false))
	noErr(t, s.SetNameSubscribed(ctx, a, "Never", false))
	eqStrings(t, "after unsubscribe", must(s.SubscribedNames(ctx, a)).get(t), []string{"Later"})

	// Creating the mailbox takes the subscription over.
	later := must(s.CreateMailbox(ctx, a, store.NewMailbox{Name: "Later"})).get(t)
	if !later.Subscribed || !f.mailbox(t, later.ID).Subscribed {
		t.Errorf("mailbox created under a subscribed name is not subscribed: %+v", later)
	}
	if got := must(s.SubscribedNames(ctx, a)).get(t); len(got) != 0 {
		t.Errorf("SubscribedNames after create = %q", got)
	}
	// Deleting a subscribed mailbox leaves the name subscribed; an
	// unsubscribed one leaves nothing.
	plain := must(s.CreateMailbox(ctx, a, store.NewMailbox{Name: "Plain"})).get(t)
	noErr(t, s.DeleteMailbox(ctx, later.ID))
	noErr(t, s.DeleteMailbox(ctx, plain.ID))
	eqStrings(t, "after delete", must(s.SubscribedNames(ctx, a)).get(t), []string{"Later"})
	eqStrings(t, "other account", must(s.SubscribedNames(ctx, f.bob.ID)).get(t), []string{"Bobs"})
	wantErr(t, "SetNameSubscribed unknown account", s.SetNameSubscribed(ctx, a+f.bob.ID+1000, "X", true), store.ErrNotFound)
}
