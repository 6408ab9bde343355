package imapserver

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"sealpost.dev/sealpost/internal/store"
)

// messageCache keeps the message rows (UID, flags, MODSEQ, dates, size,
// body) of recently read mailboxes, as of a MODSEQ, for FETCH, SEARCH and
// STORE over many messages. Reading a thousand rows through database/sql
// was most of the CPU of a session that fetched a mailbox's list, and
// clients fetch the same lists again and again; what Dovecot keeps in its
// index files. Every use first reads the mailbox's HIGHESTMODSEQ and
// brings the entry up to date with the changes since (ChangedSince and
// ExpungedSince, as selectCache does), so the answer is as fresh as a
// read of the rows: the store stays the truth, whoever changed it.
type messageCache struct {
	maxTotal int // messages in all entries
	maxEntry int // messages in one mailbox kept

	mu      sync.Mutex
	entries map[int64]*messageEntry
	total   int // messages in all entries
}

type messageEntry struct {
	size int // len(msgs) as last counted in the total; under the cache's mu

	mu     sync.Mutex
	loaded bool
	modseq uint64          // every change up to this MODSEQ is in
	msgs   []store.Message // by ascending UID; Flags never written in place
}

const (
	// maxCachedMessages bounds the cache's memory: about 200 bytes a
	// message.
	maxCachedMessages = 1 << 17
	// maxEntryMessages is the largest mailbox kept: a bigger one would
	// crowd out the others, and reading it whole for a few messages
	// costs more than it saves.
	maxEntryMessages = maxCachedMessages / 4
)

func newMessageCache(maxTotal, maxEntry int) *messageCache {
	return &messageCache{maxTotal: maxTotal, maxEntry: maxEntry, entries: map[int64]*messageEntry{}}
}

// messages returns the messages of mb with the given UIDs (ascending),
// leaving out those no longer in the store, as of mb.HighestModSeq or
// later. It reports false, having done nothing, for a mailbox too big to
// keep.
func (c *messageCache) messages(ctx context.Context, st store.Store, mb store.Mailbox, uids []uint32) ([]store.Message, bool, error) {
	if mb.Messages > c.maxEntry {
		return nil, false, nil
	}
	c.mu.Lock()
	e := c.entries[mb.ID]
	if e == nil {
		e = &messageEntry{}
		c.entries[mb.ID] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	err := e.update(ctx, st, mb)
	var out []store.Message
	if err == nil {
		out = e.pick(uids)
	}
	size := len(e.msgs)
	e.mu.Unlock()
	if err != nil {
		c.drop(mb.ID, e)
		return nil, false, err
	}
	c.account(mb.ID, e, size)
	return out, true, nil
}

// update brings e to mb.HighestModSeq at least: by the changes since
// its MODSEQ, or by reading the mailbox afresh when it is empty or far
// behind.
func (e *messageEntry) update(ctx context.Context, st store.Store, mb store.Mailbox) error {
	if e.loaded && e.modseq >= mb.HighestModSeq {
		return nil // brought further by another session
	}
	if e.loaded && mb.HighestModSeq-e.modseq <= maxCatchUp {
		return e.catchUp(ctx, st, mb)
	}
	ms, err := st.ListMessages(ctx, mb.ID, 1, 0)
	if err != nil {
		e.loaded, e.msgs = false, nil
		return err
	}
	for i := range ms {
		ms[i].Flags = slices.Clip(ms[i].Flags)
	}
	e.loaded, e.modseq, e.msgs = true, mb.HighestModSeq, ms
	return nil
}

// catchUp applies the changes after e.modseq. As in selectEntry.catchUp,
// they are read after mb and may go past mb.HighestModSeq: applying a
// change twice changes nothing.
func (e *messageEntry) catchUp(ctx context.Context, st store.Store, mb store.Mailbox) error {
	gone, err := st.ExpungedSince(ctx, mb.ID, e.modseq)
	if err != nil {
		return err
	}
	changed, err := st.ChangedSince(ctx, mb.ID, e.modseq)
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		expunged := make(map[uint32]bool, len(gone))
		for _, g := range gone {
			expunged[g.UID] = true
		}
		e.msgs = slices.DeleteFunc(e.msgs, func(m store.Message) bool { return expunged[m.UID] })
	}
	for _, m := range changed {
		m.Flags = slices.Clip(m.Flags)
		i, found := slices.BinarySearchFunc(e.msgs, m.UID, func(m store.Message, uid uint32) int { return cmp.Compare(m.UID, uid) })
		if found {
			e.msgs[i] = m
		} else {
			e.msgs = slices.Insert(e.msgs, i, m)
		}
	}
	e.modseq = mb.HighestModSeq
	return nil
}

// pick copies out the messages with the given UIDs (ascending).
func (e *messageEntry) pick(uids []uint32) []store.Message {
	out := make([]store.Message, 0, len(uids))
	i := 0
	for _, u := range uids {
		// Most picks are runs: look at the next message before searching.
		if i < len(e.msgs) && e.msgs[i].UID != u {
			j, found := slices.BinarySearchFunc(e.msgs[i:], u, func(m store.Message, uid uint32) int { return cmp.Compare(m.UID, uid) })
			i += j
			if !found {
				continue
			}
		}
		if i >= len(e.msgs) {
			break
		}
		out = append(out, e.msgs[i])
		i++
	}
	return out
}

// account counts size messages for entry id in the total and drops
// other entries while the total exceeds the bound.
func (c *messageCache) account(id int64, e *messageEntry, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] != e {
		return // dropped meanwhile; its messages left the total then
	}
	c.total += size - e.size
	e.size = size
	for k, old := range c.entries {
		if c.total <= c.maxTotal {
			break
		}
		if k == id {
			continue
		}
		c.remove(k, old)
	}
}

// drop forgets entry id, if it is still e.
func (c *messageCache) drop(id int64, e *messageEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[id] == e {
		c.remove(id, e)
	}
}

// remove takes entry id out of the map and its messages out of the
// total; c.mu is held.
func (c *messageCache) remove(id int64, e *messageEntry) {
	delete(c.entries, id)
	c.total -= e.size
}
