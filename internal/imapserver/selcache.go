package imapserver

import (
	"context"
	"slices"
	"sync"

	"sealpost.dev/sealpost/internal/store"
)

// selectCache keeps what SELECT needs of recently selected mailboxes: the
// UIDs as runs and the first unseen message, as of a MODSEQ. A SELECT
// brings a cached entry up to date with the changes since (ChangedSince
// and ExpungedSince, which the MODSEQ index makes cheap) instead of reading
// every UID, so selecting a big mailbox again costs little. The store is
// the truth: an entry is only ever a starting point for the changes the
// store reports, whoever made them, this process or another.
type selectCache struct {
	mu      sync.Mutex
	entries map[int64]*selectEntry
	runs    int // in all entries, bounded by maxCachedRuns
}

type selectEntry struct {
	modseq uint64 // every change up to this MODSEQ is in
	uids   uidSet
	// firstUnseen is the UID of the first message without \Seen (0: none)
	// when unseenKnown.
	firstUnseen uint32
	unseenKnown bool
}

const (
	// maxCachedRuns bounds the cache's memory: 8 bytes a run.
	maxCachedRuns = 1 << 20
	// maxCatchUp is the most changes (in MODSEQs) applied to an entry;
	// beyond, reading the UIDs afresh is cheaper.
	maxCatchUp = 10_000
)

func newSelectCache() *selectCache { return &selectCache{entries: map[int64]*selectEntry{}} }

func (e *selectEntry) clone() *selectEntry {
	c := *e
	c.uids.runs = slices.Clone(e.uids.runs)
	return &c
}

// load returns a private entry for mb (read from the store after mb) with
// every change up to mb.HighestModSeq, and the first unseen message if
// needUnseen.
func (c *selectCache) load(ctx context.Context, st store.Store, mb store.Mailbox, needUnseen bool) (*selectEntry, error) {
	c.mu.Lock()
	cached := c.entries[mb.ID]
	c.mu.Unlock()
	var e *selectEntry
	if cached != nil && cached.modseq <= mb.HighestModSeq && mb.HighestModSeq-cached.modseq <= maxCatchUp {
		e = cached.clone()
		if err := e.catchUp(ctx, st, mb); err != nil {
			return nil, err
		}
	} else {
		ranges, err := st.UIDRanges(ctx, mb.ID)
		if err != nil {
			return nil, err
		}
		e = &selectEntry{modseq: mb.HighestModSeq, uids: uidSetOf(ranges)}
	}
	if needUnseen && !e.unseenKnown {
		counts, err := st.CountFlags(ctx, mb.ID)
		if err != nil {
			return nil, err
		}
		e.firstUnseen, e.unseenKnown = counts.FirstUnseen, true
	}
	c.put(mb.ID, e.clone())
	return e, nil
}

// catchUp applies the changes after e.modseq. The changes are read after
// mb, so they hold every one up to mb.HighestModSeq and perhaps some
// later: those are applied too and come again next time, which is
// harmless, since applying a change twice changes nothing.
func (e *selectEntry) catchUp(ctx context.Context, st store.Store, mb store.Mailbox) error {
	if e.modseq == mb.HighestModSeq {
		return nil
	}
	gone, err := st.ExpungedSince(ctx, mb.ID, e.modseq)
	if err != nil {
		return err
	}
	changed, err := st.ChangedSince(ctx, mb.ID, e.modseq)
	if err != nil {
		return err
	}
	uids := make([]uint32, len(gone))
	for i, g := range gone {
		uids[i] = g.UID
		if g.UID == e.firstUnseen {
			e.unseenKnown = false
		}
	}
	slices.Sort(uids)
	e.uids.remove(uids)
	for _, m := range changed {
		e.uids.add(m.UID)
		if !e.uids.contains(m.UID) || !e.unseenKnown {
			continue
		}
		seen := slices.Contains(m.Flags, `\Seen`)
		switch {
		case !seen && (e.firstUnseen == 0 || m.UID < e.firstUnseen):
			e.firstUnseen = m.UID
		case seen && m.UID == e.firstUnseen:
			e.unseenKnown = false // the next unseen one is not known
		}
	}
	e.modseq = mb.HighestModSeq
	return nil
}

// put caches e, dropping other entries while the runs exceed the bound.
func (c *selectCache) put(id int64, e *selectEntry) {
	n := len(e.uids.runs)
	if n > maxCachedRuns/16 {
		return // a mailbox this fragmented would crowd out the others
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[id]; old != nil {
		c.runs -= len(old.uids.runs)
	}
	for k, old := range c.entries {
		if c.runs+n <= maxCachedRuns {
			break
		}
		c.runs -= len(old.uids.runs)
		delete(c.entries, k)
	}
	c.entries[id] = e
	c.runs += n
}
