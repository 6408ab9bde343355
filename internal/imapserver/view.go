package imapserver

import (
	"context"
	"errors"
	"slices"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// view is a session's picture of its selected mailbox: the UIDs it has
// been told about, in sequence order, and the MODSEQ up to which it has
// seen the store's changes. Changes by others reach the client at the end
// of a command, where RFC 9051 §7.5.1 allows them.
type view struct {
	mb       store.Mailbox
	readOnly bool
	// uids is every UID the client knows, ascending, as runs: seq n is
	// the nth.
	uids   uidSet
	modseq uint64
	// expunged holds UIDs removed from the store that the client has not
	// been told about, with the MODSEQ of their removal: FETCH, STORE and
	// SEARCH by sequence number must not see EXPUNGE responses. Nil while
	// there are none.
	expunged map[uint32]uint64
	// reported holds the MODSEQ of flag changes the client saw in this
	// command's own responses, so that the sync does not repeat them. Nil
	// between commands; see report.
	reported map[uint32]uint64
	// saved is the SEARCHRES result "$" (RFC 5182) as UIDs, ascending;
	// savedOK marks it set by the SEARCH under way.
	saved   []uint32
	savedOK bool
	// recent holds the UIDs that are \Recent to this session (RFC 3501
	// §2.3.2), as ranges: those it claimed in the store, or for a
	// read-only view those nobody has claimed yet. Expunged UIDs stay in
	// it; recentCount counts those still in the view.
	recent imap.SeqSet
	// updates are the searches kept up to date (RFC 5267 UPDATE), last
	// run when the view was at MODSEQ updatedAt.
	updates   []*liveSearch
	updatedAt uint64
	unwatch   func()
}

func (v *view) lastUID() uint32 { return v.uids.last() }

// report notes that this command's responses told the client the flags
// of uid as of modseq.
func (v *view) report(uid uint32, modseq uint64) {
	if v.reported == nil {
		v.reported = map[uint32]uint64{}
	}
	v.reported[uid] = modseq
}

// expungedAt notes that uid left the store at modseq, unknown to the
// client as yet.
func (v *view) expungedAt(uid uint32, modseq uint64) {
	if v.expunged == nil {
		v.expunged = map[uint32]uint64{}
	}
	v.expunged[uid] = modseq
}

// gone reports whether uid was expunged without the client being told.
func (v *view) gone(uid uint32) bool {
	_, ok := v.expunged[uid]
	return ok
}

// highest is the HIGHESTMODSEQ the client may be told: below every
// expunge it has not been told about, so that a client resynchronising
// from it later (RFC 7162 §3.2.5) still learns of them.
func (v *view) highest() uint64 {
	h := v.modseq
	for _, ms := range v.expunged {
		h = min(h, ms-1)
	}
	return h
}

// seq returns the sequence number of uid, 0 if the view lacks it.
func (v *view) seq(uid uint32) uint32 { return v.uids.seq(uid) }

// resolve returns the UIDs a sequence set (or a UID set) names among those
// the client knows, ascending. Numbers outside the view are skipped.
func (v *view) resolve(set imap.SeqSet, uid bool) []uint32 {
	var out []uint32
	if set.IsDollar() {
		// RFC 5182 §2.1: "$" names the same messages in UID and sequence
		// number commands; expunged ones drop out.
		for _, u := range v.saved {
			if v.uids.contains(u) {
				out = append(out, u)
			}
		}
		return out
	}
	if !uid {
		for s := range set.All(v.uids.count()) {
			out = append(out, v.uids.uidAt(s))
		}
		return out
	}
	for _, r := range set.Resolve(v.lastUID()).Ranges() {
		for u := range v.uids.between(r.Start, r.Stop) {
			out = append(out, u)
		}
	}
	return out
}

// isRecent reports whether uid is \Recent to this session.
func (v *view) isRecent(uid uint32) bool { return v.recent.Contains(uid) }

// recentCount counts the view's \Recent messages.
func (v *view) recentCount() int {
	n := 0
	for _, r := range v.recent.Ranges() {
		n += int(v.uids.rank(r.Stop) - v.uids.rank(r.Start-1))
	}
	return n
}

// claimRecent makes the view's messages above after, up to its last UID,
// \Recent to this session: claimed in the store by a read-write view, so
// that no other session sees them as recent, only read by a read-only one.
func (ss *session) claimRecent(ctx context.Context, after uint32) error {
	v := ss.sel
	last := v.lastUID()
	if last <= after {
		return nil
	}
	upTo := last
	if v.readOnly {
		upTo = 0
	}
	mark, err := ss.srv.store.ClaimRecent(ctx, v.mb.ID, upTo)
	if err != nil {
		return err
	}
	if from := max(mark, after) + 1; from <= last {
		v.recent.AddRange(from, last)
	}
	return nil
}

// flags returns m's flags as the client sees them: with \Recent first
// when the message is recent to this session.
func (ss *session) flags(m store.Message) []string {
	if ss.sel == nil || !ss.sel.isRecent(m.UID) {
		return m.Flags
	}
	return append([]string{`\Recent`}, m.Flags...)
}

// syncEnd brings the client up to date at the end of a command. Commands
// that address messages by sequence number pass expunge=false.
func (ss *session) syncEnd(cmd *imap.Command, expunge bool) {
	if ss.sel == nil {
		return
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	if err := ss.sync(ctx, expunge); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			ss.w.Status("*", "BYE", "", "the selected mailbox was deleted")
			ss.closing.Store(true)
			return
		}
		ss.srv.log.Warn("sync", "session", ss.id, "err", err)
	}
}

// sync pulls the store's changes since the view's MODSEQ and writes the
// untagged EXPUNGE, EXISTS and FETCH FLAGS responses.
func (ss *session) sync(ctx context.Context, expunge bool) error {
	v := ss.sel
	mb, err := ss.srv.store.GetMailboxByID(ctx, v.mb.ID)
	if err != nil {
		return err
	}
	if mb.HighestModSeq > v.modseq {
		changed, err := ss.srv.store.ChangedSince(ctx, v.mb.ID, v.modseq)
		if err != nil {
			return err
		}
		gone, err := ss.srv.store.ExpungedSince(ctx, v.mb.ID, v.modseq)
		if err != nil {
			return err
		}
		top := mb.HighestModSeq
		for _, e := range gone {
			top = max(top, e.ModSeq)
			if v.seq(e.UID) != 0 {
				v.expungedAt(e.UID, e.ModSeq)
			}
		}
		last := v.lastUID()
		prevLast := last
		var flagged []store.Message
		added := false
		for _, m := range changed {
			top = max(top, m.ModSeq)
			switch {
			case m.UID > last:
				v.uids.add(m.UID)
				last = m.UID
				added = true
			case v.reported[m.UID] != m.ModSeq && v.seq(m.UID) != 0 && !v.gone(m.UID):
				flagged = append(flagged, m)
			}
		}
		v.modseq = top
		if err := ss.refreshUpdates(ctx); err != nil {
			return err
		}
		if expunge {
			ss.writeExpunges()
		}
		if added {
			if err := ss.claimRecent(ctx, prevLast); err != nil {
				return err
			}
			ss.w.Exists(v.uids.count())
			if !ss.rev2 {
				ss.w.Untagged().Number(uint64(v.recentCount())).Atom(" RECENT").End()
			}
		}
		for _, m := range flagged {
			ss.writeFlagFetch(m, true, true)
		}
	} else if expunge {
		ss.writeExpunges()
	}
	v.reported = nil
	return ss.w.Err()
}

// writeExpunges tells the client about the pending expunges: one
// VANISHED once QRESYNC is enabled (RFC 7162 §3.2.10), EXPUNGE otherwise.
// Either way the UIDs leave the view, so that sequence numbers stay those
// the client computes.
func (ss *session) writeExpunges() {
	v := ss.sel
	if len(v.expunged) == 0 {
		return
	}
	uids := make([]uint32, 0, len(v.expunged))
	for u := range v.expunged {
		if v.seq(u) != 0 {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	if ss.qresync {
		var set imap.SeqSet
		for _, u := range uids {
			set.AddNum(u)
		}
		if !set.IsEmpty() {
			ss.w.Vanished(false, set)
		}
	} else {
		// Highest first: removing a message renumbers only those above
		// it, so each sequence number is the one before any removal.
		for i := len(uids) - 1; i >= 0; i-- {
			ss.w.Expunge(v.seq(uids[i]))
		}
	}
	v.uids.remove(uids)
	v.expunged = nil
}

// writeFlagFetch writes an unsolicited FETCH, or one answering STORE, for
// m: its FLAGS if flags is set, its UID if uid is set or CONDSTORE is
// enabled, and then its MODSEQ (RFC 7162 §3.1: once enabled, every such
// FETCH carries UID and MODSEQ).
func (ss *session) writeFlagFetch(m store.Message, uid, flags bool) {
	w := ss.w
	w.Untagged().Number(uint64(ss.sel.seq(m.UID))).Atom(" FETCH (")
	sep := ""
	if uid || ss.condstore {
		w.Atom("UID ").Number(uint64(m.UID))
		sep = " "
	}
	if flags {
		w.Atom(sep + "FLAGS ").Flags(ss.flags(m))
		sep = " "
	}
	if ss.condstore {
		w.Atom(sep + "MODSEQ (").Number(m.ModSeq).Close()
	}
	w.Close().End()
}

// deselect leaves the selected state.
func (ss *session) deselect() {
	if ss.sel != nil {
		ss.sel.unwatch()
		ss.sel = nil
	}
	if ss.state == selected {
		ss.state = authenticated
	}
}

// changed rings the hub for a mailbox this session wrote to, and for
// its account (NOTIFY).
func (ss *session) changed(mailboxID int64) {
	ss.srv.hub.Changed(mailboxID)
	ss.srv.hub.AccountChanged(ss.account.ID)
}

// getMessages reads the messages of the selected mailbox with the given
// UIDs one by one, leaving out those no longer in the store.
func (ss *session) getMessages(ctx context.Context, uids []uint32) ([]store.Message, error) {
	out := make([]store.Message, 0, len(uids))
	for _, u := range uids {
		m, err := ss.srv.store.GetMessage(ctx, ss.sel.mb.ID, u)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// maxGets is the most messages read one by one rather than through the
// message cache or a listing.
const maxGets = 20

// cachedMessages returns the messages of the selected mailbox with the
// given UIDs (ascending) from the server's message cache, leaving out
// those no longer in the store. It reports false when the cache cannot
// serve them: none, a mailbox too big to keep, or a few UIDs, which
// getMessages reads for less than loading a whole mailbox would cost.
//
// The cache is brought up to the mailbox's current state, read from the
// store into *cur unless cur already holds it: the batches of one command
// read it once.
func (ss *session) cachedMessages(ctx context.Context, uids []uint32, cur *store.Mailbox) ([]store.Message, bool, error) {
	if ss.srv.messages == nil || len(uids) <= maxGets {
		return nil, false, nil
	}
	if cur == nil {
		cur = new(store.Mailbox)
	}
	if cur.ID == 0 {
		mb, err := ss.srv.store.GetMailboxByID(ctx, ss.sel.mb.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, true, nil // deleted: none of its messages is left
		}
		if err != nil {
			return nil, false, err
		}
		*cur = mb
	}
	return ss.srv.messages.messages(ctx, ss.srv.store, *cur, uids)
}

// loadMessages returns the store's messages for uids (ascending), leaving
// out those no longer in the store.
func (ss *session) loadMessages(ctx context.Context, uids []uint32) ([]store.Message, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	id := ss.sel.mb.ID
	if len(uids) <= maxGets {
		return ss.getMessages(ctx, uids)
	}
	if out, ok, err := ss.cachedMessages(ctx, uids, nil); ok || err != nil {
		return out, err
	}
	all, err := ss.srv.store.ListMessages(ctx, id, uids[0], 0)
	if err != nil {
		return nil, err
	}
	out := make([]store.Message, 0, len(uids))
	i := 0
	for _, m := range all {
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i < len(uids) && uids[i] == m.UID {
			out = append(out, m)
		}
	}
	return out, nil
}
