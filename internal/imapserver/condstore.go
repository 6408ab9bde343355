package imapserver

import (
	"context"

	"sealpost.dev/sealpost/internal/imap"
)

// enableCondStore marks the session CONDSTORE-aware. The first enabling
// command issued with a mailbox selected also reports the mailbox's
// HIGHESTMODSEQ, which the client may not have noted at SELECT
// (RFC 7162 §3.1).
func (ss *session) enableCondStore() {
	if ss.condstore {
		return
	}
	ss.condstore = true
	if ss.sel != nil {
		ss.w.Status("*", "OK", imap.CodeHighestModSeq(ss.sel.highest()), "highest")
	}
}

// okModSeq answers a command that changed the mailbox with a tagged OK
// carrying the new HIGHESTMODSEQ once CONDSTORE is enabled (RFC 7162
// §3.2.7 for EXPUNGE; STORE and MOVE likewise, so that the client's cached
// value follows its own changes).
func (ss *session) okModSeq(tag, txt string, changed bool) bool {
	if !changed || !ss.condstore || ss.sel == nil {
		return ss.ok(tag, txt)
	}
	ss.w.Status(tag, "OK", imap.CodeHighestModSeq(ss.sel.highest()), txt)
	return true
}

// hasModSeqKey reports whether a search program uses MODSEQ anywhere.
func hasModSeqKey(keys []imap.SearchKey) bool {
	for _, k := range keys {
		if k.Op == "MODSEQ" || hasModSeqKey(k.Keys) {
			return true
		}
	}
	return false
}

// qresyncSelect finishes a SELECT or EXAMINE with the QRESYNC parameter
// whose UIDVALIDITY matches (RFC 7162 §3.2.5): VANISHED (EARLIER) for the
// tombstones newer than the client's MODSEQ, then the flags of messages
// changed since, both limited to the known UIDs when the client sent
// them. Tombstones are kept for the life of the mailbox, so the
// seq-match-data, meant for servers that forget them, is not needed.
func (ss *session) qresyncSelect(ctx context.Context, q *imap.QResyncParams) error {
	v := ss.sel
	known := q.KnownUIDs
	if !known.IsEmpty() {
		known = known.Resolve(max(v.mb.UIDNext, 1) - 1)
	}
	inKnown := func(uid uint32) bool { return q.KnownUIDs.IsEmpty() || known.Contains(uid) }
	gone, err := ss.srv.store.ExpungedSince(ctx, v.mb.ID, q.ModSeq)
	if err != nil {
		return err
	}
	var van imap.SeqSet
	for _, e := range gone {
		if v.seq(e.UID) == 0 && inKnown(e.UID) {
			van.AddNum(e.UID)
		}
	}
	if !van.IsEmpty() {
		ss.w.Vanished(true, van)
	}
	changed, err := ss.srv.store.ChangedSince(ctx, v.mb.ID, q.ModSeq)
	if err != nil {
		return err
	}
	for _, m := range changed {
		if v.seq(m.UID) != 0 && inKnown(m.UID) {
			ss.writeFlagFetch(m, true, true)
		}
	}
	return ss.w.Err()
}

// vanishedSince answers the VANISHED modifier of UID FETCH (RFC 7162
// §3.2.6): the UIDs in set expunged after modseq, as VANISHED (EARLIER).
// UIDs still in the view are left to the EXPUNGE-time report, since
// VANISHED (EARLIER) must not change the client's message count.
func (ss *session) vanishedSince(ctx context.Context, set imap.SeqSet, modseq uint64) error {
	v := ss.sel
	gone, err := ss.srv.store.ExpungedSince(ctx, v.mb.ID, modseq)
	if err != nil {
		return err
	}
	top := v.lastUID()
	for _, e := range gone {
		top = max(top, e.UID)
	}
	set = set.Resolve(top)
	var van imap.SeqSet
	for _, e := range gone {
		if v.seq(e.UID) == 0 && set.Contains(e.UID) {
			van.AddNum(e.UID)
		}
	}
	if !van.IsEmpty() {
		ss.w.Vanished(true, van)
	}
	return ss.w.Err()
}
