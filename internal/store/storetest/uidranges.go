package storetest

import (
	"fmt"
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// testUIDRanges checks UIDRanges and CountFlags against ListMessages as
// messages arrive, change flags and go, in two mailboxes that must not
// mix.
func testUIDRanges(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	check := func(what string, mailboxID int64) {
		t.Helper()
		msgs := must(s.ListMessages(f.ctx, mailboxID, 1, 0)).get(t)
		var want []store.UIDRange
		var wantCounts store.FlagCounts
		for _, m := range msgs {
			if n := len(want); n > 0 && want[n-1].Last+1 == m.UID {
				want[n-1].Last = m.UID
			} else {
				want = append(want, store.UIDRange{First: m.UID, Last: m.UID})
			}
			if !slices.Contains(m.Flags, `\Seen`) {
				wantCounts.Unseen++
				if wantCounts.FirstUnseen == 0 {
					wantCounts.FirstUnseen = m.UID
				}
			}
			if slices.Contains(m.Flags, `\Deleted`) {
				wantCounts.Deleted++
			}
		}
		got := must(s.UIDRanges(f.ctx, mailboxID)).get(t)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: UIDRanges = %v, want %v", what, got, want)
		}
		if c := must(s.CountFlags(f.ctx, mailboxID)).get(t); c != wantCounts {
			t.Errorf("%s: CountFlags = %+v, want %+v", what, c, wantCounts)
		}
	}
	check("empty", f.inbox.ID)
	for i := range 12 {
		f.deliver(t, fmt.Sprint(i), store.Target{MailboxID: f.inbox.ID}, store.Target{MailboxID: f.archive.ID})
	}
	check("twelve", f.inbox.ID)
	must(s.Expunge(f.ctx, f.inbox.ID, []uint32{1, 4, 5, 9, 12})).get(t)
	check("after expunges", f.inbox.ID)
	// Keywords that merely contain a system flag's name do not count.
	must(s.UpdateFlags(f.ctx, store.FlagUpdate{MailboxID: f.inbox.ID, UIDs: []uint32{2, 3, 6}, Op: store.FlagsAdd, Flags: []string{`\Seen`}})).get(t)
	must(s.UpdateFlags(f.ctx, store.FlagUpdate{MailboxID: f.inbox.ID, UIDs: []uint32{7, 8}, Op: store.FlagsAdd, Flags: []string{`\Deleted`, "Seen", "$NotSeen"}})).get(t)
	check("after flags", f.inbox.ID)
	if c := must(s.CountFlags(f.ctx, f.inbox.ID)).get(t); c.FirstUnseen != 7 || c.Unseen != 4 || c.Deleted != 2 {
		t.Errorf("CountFlags = %+v, want 4 unseen from UID 7, 2 deleted", c)
	}
	check("other mailbox", f.archive.ID)
	f.deliver(t, "late", store.Target{MailboxID: f.inbox.ID})
	check("after a delivery", f.inbox.ID)
	if got := must(s.UIDRanges(f.ctx, f.inbox.ID)).get(t); fmt.Sprint(got) != "[{2 3} {6 8} {10 11} {13 13}]" {
		t.Errorf("UIDRanges = %v", got)
	}
}
