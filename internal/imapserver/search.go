package imapserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/mimeutil"
	"sealpost.dev/sealpost/internal/store"
)

// candidate is one message under a search, its header read on demand.
type candidate struct {
	ss     *session
	ctx    context.Context
	m      store.Message
	seq    uint32
	hdr    mimeutil.Header
	hdrErr error
	read   bool // hdr and hdrErr are set
	// texts holds the answers of the search's text keys.
	texts textHits
}

// header returns the message's top-level header, reading it the first
// time; nil if it cannot be read.
func (c *candidate) header() mimeutil.Header {
	if !c.read {
		c.read = true
		c.hdr, c.hdrErr = c.ss.readHeader(c.ctx, c.m)
	}
	return c.hdr
}

// readHeader reads a message's top-level header, at most maxHeader bytes:
// the non-text keys of SEARCH need nothing else of the message.
func (ss *session) readHeader(ctx context.Context, m store.Message) (mimeutil.Header, error) {
	body, err := ss.srv.store.OpenBody(ctx, m.BlobID)
	if err != nil {
		return nil, fmt.Errorf("opening the body: %w", err)
	}
	defer body.Close()
	br := bufio.NewReader(body)
	var raw []byte
	for len(raw) < maxHeader {
		line, err := br.ReadSlice('\n')
		raw = append(raw, line...)
		if errors.Is(err, io.EOF) || string(line) == "\r\n" || string(line) == "\n" {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("reading the header: %w", err)
		}
	}
	_, h := mimeutil.ParseHeader(raw)
	return h, nil
}

// search answers SEARCH and UID SEARCH (RFC 9051 §6.4.4), with the
// RFC 4731 ESEARCH form when RETURN is given or IMAP4rev2 is enabled.
//
// The text keys (TEXT, BODY, HEADER, SUBJECT) are answered first, for the
// whole mailbox, by package textindex: decoded text, case-insensitive
// (i;unicode-casemap-like folding). The other keys, FROM, TO, CC and BCC
// among them (matched as address lists), are then matched message by
// message, combined with those answers.
func (ss *session) search(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.SearchArgs)
	save := slices.Contains(args.Return, "SAVE")
	if save {
		// RFC 5182 §2.1: a failed SEARCH ... RETURN (SAVE) leaves $ empty.
		defer func(v *view) {
			if !v.savedOK {
				v.saved = nil
			}
			v.savedOK = false
		}(ss.sel)
	}
	if !searchCharsetOK(args.Charset) {
		return ss.no(cmd.Tag, imap.CodeBadCharset([]string{"US-ASCII", "UTF-8"}), "unsupported charset")
	}
	if err := decodeSearchStrings(args.Keys, args.Charset); err != nil {
		return ss.bad(cmd.Tag, err.Error())
	}
	if bad := unsupportedKey(args.Keys); bad != "" {
		return ss.bad(cmd.Tag, "search key "+bad+" is not supported")
	}
	if slices.Contains(args.Return, "PARTIAL") && slices.Contains(args.Return, "ALL") {
		return ss.bad(cmd.Tag, "RETURN PARTIAL and ALL exclude each other") // RFC 9394 §3.1
	}
	withModSeq := hasModSeqKey(args.Keys)
	if withModSeq {
		ss.enableCondStore() // RFC 7162 §3.1
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	found, err := ss.match(ctx, args.Keys, withModSeq)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	var hits, hitUIDs []uint32
	var modseqs []uint64
	for _, c := range found {
		if cmd.UID {
			hits = append(hits, c.m.UID)
		} else {
			hits = append(hits, c.seq)
		}
		modseqs = append(modseqs, c.m.ModSeq)
		hitUIDs = append(hitUIDs, c.m.UID)
	}
	if !withModSeq {
		modseqs = nil
	}
	if save {
		ss.sel.saved, ss.sel.savedOK = savedResult(args.Return, hitUIDs), true
	}
	update := slices.Contains(args.Return, "UPDATE")
	if update && !ss.addUpdate(&liveSearch{tag: cmd.Tag, uid: cmd.UID, keys: args.Keys, result: hitUIDs}) {
		ss.w.Status("*", "NO", imap.Code("NOUPDATE "+quoteTag(cmd.Tag)), "too many searches kept up to date")
	}
	switch {
	case save && !slices.ContainsFunc(args.Return, func(r string) bool { return r != "SAVE" }):
		// RFC 5182 §2.4: SAVE alone answers nothing but the tagged OK.
	case args.HasReturn || ss.rev2:
		ss.writeESearch(cmd, args, hits, modseqs)
	default:
		ss.w.Untagged().Atom("SEARCH")
		for _, n := range hits {
			ss.w.SP().Number(uint64(n))
		}
		// RFC 7162 §3.1.5: the highest MODSEQ of the messages found.
		if len(modseqs) > 0 {
			ss.w.Atom(" (MODSEQ ").Number(slices.Max(modseqs)).Close()
		}
		ss.w.End()
	}
	ss.syncEnd(cmd, cmd.UID)
	return ss.ok(cmd.Tag, "SEARCH completed")
}

// matching returns the messages of the selected mailbox that match keys,
// in sequence order.
func (ss *session) matching(ctx context.Context, keys []imap.SearchKey) ([]*candidate, error) {
	return ss.match(ctx, keys, true)
}

// match is matching; without full, the candidates may carry nothing of
// their message but the UID, when that is all keys need.
func (ss *session) match(ctx context.Context, keys []imap.SearchKey, full bool) ([]*candidate, error) {
	texts, err := ss.textMatches(ctx, keys)
	if err != nil {
		return nil, err
	}
	// A text key at the top level leaves only its hits to look at.
	var msgs []store.Message
	uids, narrowed := texts.narrow(keys)
	switch {
	case narrowed && !full && uidOnly(keys):
		// The index found them just now: no need to read them.
		msgs = make([]store.Message, len(uids))
		for i, u := range uids {
			msgs[i].UID = u
		}
	case narrowed:
		msgs, err = ss.loadFew(ctx, uids)
	default:
		msgs, err = ss.loadMessages(ctx, ss.sel.uids.all())
	}
	if err != nil {
		return nil, err
	}
	var found []*candidate
	for _, m := range msgs {
		c := &candidate{ss: ss, ctx: ctx, m: m, seq: ss.sel.seq(m.UID), texts: texts}
		if c.seq != 0 && matchAll(c, keys) {
			found = append(found, c)
		}
		if c.hdrErr != nil {
			return nil, c.hdrErr
		}
	}
	return found, nil
}

// writeESearch writes the RFC 4731 ESEARCH response. modseqs, parallel to
// hits, is set when the search used MODSEQ: the response then ends with
// the highest MODSEQ of the messages it returns (RFC 7162 §3.1.5), only
// those of MIN and MAX when nothing else is asked.
func (ss *session) writeESearch(cmd *imap.Command, args *imap.SearchArgs, hits []uint32, modseqs []uint64) {
	ret := slices.DeleteFunc(slices.Clone(args.Return), func(r string) bool {
		return r == "SAVE" || r == "UPDATE" || r == "CONTEXT"
	})
	if len(ret) == 0 && !slices.Contains(args.Return, "UPDATE") {
		ret = []string{"ALL"}
	}
	var top uint64
	if len(modseqs) > 0 {
		if slices.ContainsFunc(ret, func(r string) bool { return r == "ALL" || r == "COUNT" }) {
			top = slices.Max(modseqs)
		} else {
			for _, r := range ret {
				if r == "MIN" {
					top = max(top, modseqs[0])
				} else {
					top = max(top, modseqs[len(modseqs)-1])
				}
			}
		}
	}
	w := ss.w
	w.Untagged().Atom("ESEARCH (TAG ").String(cmd.Tag).Close()
	if cmd.UID {
		w.Atom(" UID")
	}
	for _, r := range ret {
		switch {
		case r == "COUNT":
			w.Atom(" COUNT ").Number(uint64(len(hits)))
		case r == "PARTIAL":
			writePartial(w, hits, args.Partial, false)
		case len(hits) == 0:
		case r == "MIN":
			w.Atom(" MIN ").Number(uint64(hits[0]))
		case r == "MAX":
			w.Atom(" MAX ").Number(uint64(hits[len(hits)-1]))
		case r == "ALL":
			w.Atom(" ALL ").SeqSet(imap.SeqSetOf(hits...))
		}
	}
	if top > 0 {
		w.Atom(" MODSEQ ").Number(top)
	}
	w.End()
}

// unsupportedKey returns the first key this server cannot evaluate.
func unsupportedKey(keys []imap.SearchKey) string {
	for _, k := range keys {
		switch k.Op {
		case "FUZZY":
			return k.Op
		}
		if s := unsupportedKey(k.Keys); s != "" {
			return s
		}
	}
	return ""
}

func matchAll(c *candidate, keys []imap.SearchKey) bool {
	for _, k := range keys {
		if !matchKey(c, k) {
			return false
		}
	}
	return true
}

var flagKeys = map[string]string{
	"ANSWERED": `\Answered`, "DELETED": `\Deleted`, "DRAFT": `\Draft`, "FLAGGED": `\Flagged`, "SEEN": `\Seen`,
}

func matchKey(c *candidate, k imap.SearchKey) bool {
	m := c.m
	if f, ok := flagKeys[k.Op]; ok {
		return slices.Contains(m.Flags, f)
	}
	if f, ok := flagKeys[strings.TrimPrefix(k.Op, "UN")]; ok && strings.HasPrefix(k.Op, "UN") {
		return !slices.Contains(m.Flags, f)
	}
	switch k.Op {
	case "ALL":
		return true
	case "OLD":
		return !c.ss.sel.isRecent(m.UID)
	case "RECENT":
		return c.ss.sel.isRecent(m.UID)
	case "NEW":
		return c.ss.sel.isRecent(m.UID) && !slices.Contains(m.Flags, `\Seen`)
	case "AND":
		return matchAll(c, k.Keys)
	case "NOT":
		return !matchAll(c, k.Keys)
	case "OR":
		return len(k.Keys) == 2 && (matchKey(c, k.Keys[0]) || matchKey(c, k.Keys[1]))
	case "KEYWORD":
		return slices.ContainsFunc(m.Flags, func(f string) bool { return strings.EqualFold(f, k.Value) })
	case "UNKEYWORD":
		return !slices.ContainsFunc(m.Flags, func(f string) bool { return strings.EqualFold(f, k.Value) })
	case "MODSEQ":
		// One MODSEQ per message serves every entry name (RFC 7162
		// §3.1.5 allows it): a flag's change is a change of the message.
		return m.ModSeq >= k.Num
	case "LARGER":
		return uint64(m.Size) > k.Num
	case "SMALLER":
		return uint64(m.Size) < k.Num
	case "UID", "SEQSET":
		if k.Set.IsDollar() {
			_, ok := slices.BinarySearch(c.ss.sel.saved, m.UID)
			return ok
		}
		if k.Op == "UID" {
			return k.Set.Resolve(c.ss.sel.lastUID()).Contains(m.UID)
		}
		return k.Set.Resolve(c.ss.sel.uids.count()).Contains(c.seq)
	case "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		// A message without a save date matches none (RFC 8514 §4).
		return !m.SaveDate.IsZero() && compareDay(m.SaveDate, k.Date, strings.TrimPrefix(k.Op, "SAVED"))
	case "SAVEDATESUPPORTED":
		return true
	case "EMAILID":
		return k.Value == emailID(m)
	case "THREADID":
		return false // no thread ids: THREADID is always NIL
	case "BEFORE", "ON", "SINCE":
		return compareDay(m.InternalDate, k.Date, k.Op)
	case "OLDER":
		return time.Since(m.InternalDate) >= time.Duration(k.Num)*time.Second
	case "YOUNGER":
		return time.Since(m.InternalDate) < time.Duration(k.Num)*time.Second
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		d, err := mail.ParseDate(c.header().Get("Date"))
		return err == nil && compareDay(d, k.Date, strings.TrimPrefix(k.Op, "SENT"))
	case "FROM", "TO", "CC", "BCC":
		// Addresses are matched as addresses, which text cannot do: a
		// name or an address given in parts (comments, routes, groups,
		// encoded words) still matches.
		for _, f := range c.header() {
			if strings.EqualFold(f.Name, k.Op) && addressMatches(f.Value, k.Value) {
				return true
			}
		}
		return false
	case "HEADER", "SUBJECT":
		if k.Value != "" {
			return c.texts.has(k, m.UID)
		}
		// An empty string matches every message with the field (RFC 9051
		// §6.4.4), whatever its text.
		name := k.Field
		if k.Op == "SUBJECT" {
			name = "Subject"
		}
		return c.header().Has(name)
	case "BODY", "TEXT":
		return c.texts.has(k, m.UID)
	}
	return false
}

// savedResult is what SEARCH RETURN (SAVE) keeps (RFC 5182 §2.4): with
// MIN or MAX but neither ALL nor COUNT, only those; otherwise every UID
// found.
func savedResult(ret []string, uids []uint32) []uint32 {
	if len(uids) == 0 || slices.Contains(ret, "ALL") || slices.Contains(ret, "COUNT") ||
		!(slices.Contains(ret, "MIN") || slices.Contains(ret, "MAX")) {
		return uids
	}
	var out []uint32
	if slices.Contains(ret, "MIN") {
		out = append(out, uids[0])
	}
	if slices.Contains(ret, "MAX") && (len(out) == 0 || uids[len(uids)-1] != out[0]) {
		out = append(out, uids[len(uids)-1])
	}
	return out
}

// compareDay compares t's calendar day (in its own zone, RFC 9051
// §6.4.4: "disregarding time and timezone") with day.
func compareDay(t, day time.Time, op string) bool {
	y, mo, d := t.Date()
	td := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	switch op {
	case "BEFORE":
		return td.Before(day)
	case "ON":
		return td.Equal(day)
	}
	return !td.Before(day)
}
