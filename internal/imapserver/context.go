package imapserver

import (
	"context"
	"slices"

	"sealpost.dev/sealpost/internal/imap"
)

// maxUpdates bounds the searches a session keeps up to date (RFC 5267
// §4.2 lets the server refuse more with NOUPDATE).
const maxUpdates = 10

// liveSearch is a SEARCH or SORT with RETURN (UPDATE) (RFC 5267 §4):
// while the mailbox stays selected, changes to its result are sent as
// ESEARCH ADDTO and REMOVEFROM.
type liveSearch struct {
	tag      string
	uid      bool
	keys     []imap.SearchKey
	criteria []imap.SortCriterion // nil for SEARCH
	result   []uint32             // UIDs, in result order
}

// partialSlice returns the part of results a RFC 9394 partial range
// names, and the range as it is echoed: the smaller number first.
func partialSlice(results []uint32, r *imap.PartialRange) ([]uint32, string) {
	lo, hi := r.First, r.Last
	if lo < 0 {
		lo, hi = -lo, -hi
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	echo := itoa(int(lo)) + ":" + itoa(int(hi))
	n := int64(len(results))
	from, to := lo-1, hi // 0-based, to exclusive
	if r.First < 0 {
		echo = "-" + itoa(int(lo)) + ":-" + itoa(int(hi))
		from, to = n-hi, n-lo+1
	}
	from, to = max(from, 0), min(to, n)
	if from >= to {
		return nil, echo
	}
	return results[from:to], echo
}

// writePartial writes " PARTIAL (range set)" of an ESEARCH response.
func writePartial(w *imap.Writer, results []uint32, r *imap.PartialRange, ordered bool) {
	part, echo := partialSlice(results, r)
	w.Atom(" PARTIAL (" + echo + " ")
	switch {
	case len(part) == 0:
		w.NIL()
	case ordered:
		w.Atom(orderedSet(part))
	default:
		w.SeqSet(imap.SeqSetOf(part...))
	}
	w.Close()
}

// addUpdate keeps a search up to date. It reports false if the session
// already keeps as many as it may.
func (ss *session) addUpdate(s *liveSearch) bool {
	v := ss.sel
	if len(v.updates) >= maxUpdates {
		return false
	}
	v.updates = append(v.updates, s)
	v.updatedAt = v.modseq
	return true
}

// quoteTag quotes a tag for a response code: tags hold no quotes or
// backslashes (RFC 9051 §9, tag).
func quoteTag(tag string) string { return `"` + tag + `"` }

// cancelUpdate answers CANCELUPDATE (RFC 5267 §4.3).
func (ss *session) cancelUpdate(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.CancelUpdateArgs)
	v := ss.sel
	for _, tag := range args.Tags {
		v.updates = slices.DeleteFunc(v.updates, func(s *liveSearch) bool { return s.tag == tag })
	}
	return ss.ok(cmd.Tag, "CANCELUPDATE completed")
}

// refreshUpdates searches again for each live search when the mailbox
// changed since the last time and writes what entered and left its
// result. It runs before expunges are reported, so that the sequence
// numbers are those the client knows.
func (ss *session) refreshUpdates(ctx context.Context) error {
	v := ss.sel
	if len(v.updates) == 0 || v.updatedAt == v.modseq {
		return nil
	}
	v.updatedAt = v.modseq
	for _, s := range v.updates {
		now, err := ss.liveResult(ctx, s)
		if err != nil {
			return err
		}
		ss.writeUpdate(s, s.result, now)
		s.result = now
	}
	return nil
}

// liveResult runs a live search and returns its result as UIDs, in
// result order.
func (ss *session) liveResult(ctx context.Context, s *liveSearch) ([]uint32, error) {
	if s.criteria == nil {
		found, err := ss.matching(ctx, s.keys)
		if err != nil {
			return nil, err
		}
		out := make([]uint32, 0, len(found))
		for _, c := range found {
			if !ss.sel.gone(c.m.UID) {
				out = append(out, c.m.UID)
			}
		}
		return out, nil
	}
	msgs, err := ss.sortables(ctx, "", s.keys)
	if err != nil {
		return nil, err
	}
	msgs = slices.DeleteFunc(msgs, func(m *sortable) bool { return ss.sel.gone(m.c.m.UID) })
	order := sortOrder(msgs, s.criteria)
	out := make([]uint32, len(order))
	for i, j := range order {
		out[i] = msgs[j].c.m.UID
	}
	return out, nil
}

// writeUpdate writes the ESEARCH REMOVEFROM and ADDTO that turn before
// into after (RFC 5267 §4.3). A SEARCH result is in ascending order, so
// one position and set each say it all; a SORT result gets a position
// for every message.
func (ss *session) writeUpdate(s *liveSearch, before, after []uint32) {
	in := make(map[uint32]bool, len(after))
	for _, u := range after {
		in[u] = true
	}
	was := make(map[uint32]bool, len(before))
	for _, u := range before {
		was[u] = true
	}
	type change struct {
		pos uint32
		num uint32
	}
	var removed, added []change
	for i, u := range before {
		if !in[u] {
			removed = append(removed, change{uint32(i + 1), u})
		}
	}
	for i, u := range after {
		if !was[u] {
			added = append(added, change{uint32(i + 1), u})
		}
	}
	write := func(what string, cs []change) {
		if len(cs) == 0 {
			return
		}
		w := ss.w
		w.Untagged().Atom("ESEARCH (TAG ").String(s.tag).Close()
		if s.uid {
			w.Atom(" UID")
		}
		w.Atom(" " + what + " (")
		num := func(c change) uint32 {
			if s.uid {
				return c.num
			}
			return ss.sel.seq(c.num)
		}
		if s.criteria == nil {
			nums := make([]uint32, len(cs))
			for i, c := range cs {
				nums[i] = num(c)
			}
			w.Number(uint64(cs[0].pos)).SP().SeqSet(imap.SeqSetOf(nums...))
		} else {
			for i, c := range cs {
				if i > 0 {
					w.SP()
				}
				w.Number(uint64(c.pos)).SP().Number(uint64(num(c)))
			}
		}
		w.Close().End()
	}
	// Removals first, and in a sorted result from the end, so that each
	// position is right when the client applies it.
	if s.criteria != nil {
		slices.Reverse(removed)
	}
	write("REMOVEFROM", removed)
	write("ADDTO", added)
}
