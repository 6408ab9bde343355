package imapserver

import (
	"context"
	"errors"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// storeCmd answers STORE and UID STORE (RFC 9051 §6.4.6) with the
// UNCHANGEDSINCE modifier (RFC 7162 §3.1.3): messages changed since are
// left alone and named in [MODIFIED set].
func (ss *session) storeCmd(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.StoreArgs)
	if ss.sel.readOnly {
		return ss.no(cmd.Tag, imap.CodeReadOnly, "mailbox is read-only")
	}
	if f := badFlag(args.Flags); f != "" {
		return ss.bad(cmd.Tag, "flag "+f+" cannot be stored")
	}
	if args.HasUnchangedSince {
		ss.enableCondStore()
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	uids := ss.sel.resolve(args.Set, cmd.UID)
	live := uids[:0:0]
	for _, u := range uids {
		if !ss.sel.gone(u) {
			live = append(live, u)
		}
	}
	res, err := ss.updateFlags(ctx, args, live)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	if len(res.Updated) > 0 {
		ss.changed(ss.sel.mb.ID)
	}
	for _, m := range res.Updated {
		ss.sel.report(m.UID, m.ModSeq)
	}
	switch {
	case !args.Silent && len(live) > 0:
		skip := map[uint32]bool{}
		for _, u := range res.Modified {
			skip[u] = true
		}
		kept := live[:0:0]
		for _, u := range live {
			if !skip[u] {
				kept = append(kept, u)
			}
		}
		msgs, err := ss.loadMessages(ctx, kept)
		if err != nil {
			return ss.storeError(cmd.Tag, err)
		}
		for _, m := range msgs {
			ss.sel.report(m.UID, m.ModSeq)
			ss.writeFlagFetch(m, cmd.UID, true)
		}
	case ss.condstore:
		// RFC 7162 §3.1.3: even with .SILENT, the new MODSEQ is sent.
		for _, m := range res.Updated {
			ss.writeFlagFetch(m, cmd.UID, false)
		}
	}
	ss.syncEnd(cmd, cmd.UID)
	if len(res.Modified) > 0 {
		var set imap.SeqSet
		for _, u := range res.Modified {
			if !cmd.UID {
				u = ss.sel.seq(u)
			}
			if u != 0 {
				set.AddNum(u)
			}
		}
		ss.w.Status(cmd.Tag, "OK", imap.CodeModified(set), "conditional STORE failed for some messages")
		return true
	}
	return ss.okModSeq(cmd.Tag, "STORE completed", len(res.Updated) > 0)
}

// updateFlags applies a STORE to the live UIDs.
func (ss *session) updateFlags(ctx context.Context, args *imap.StoreArgs, live []uint32) (store.FlagResult, error) {
	if len(live) == 0 {
		return store.FlagResult{}, nil
	}
	if args.HasUnchangedSince && args.UnchangedSince == 0 {
		// RFC 7162 §3.1.3: UNCHANGEDSINCE 0 fails for every message,
		// all of which have a MODSEQ; the store reads 0 as no condition.
		return store.FlagResult{Modified: live}, nil
	}
	op := map[imap.StoreMode]store.FlagOp{imap.StoreAdd: store.FlagsAdd, imap.StoreRemove: store.FlagsRemove, imap.StoreReplace: store.FlagsReplace}[args.Mode]
	return ss.srv.store.UpdateFlags(ctx, store.FlagUpdate{MailboxID: ss.sel.mb.ID, UIDs: live, Op: op,
		Flags: canonFlags(args.Flags), UnchangedSince: args.UnchangedSince})
}

// canonFlags spells system flags the way the store keeps them.
// \Recent is left out: the server sets it, a client cannot (RFC 3501
// §2.3.2).
func canonFlags(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if strings.EqualFold(f, `\Recent`) {
			continue
		}
		for _, s := range systemFlags {
			if strings.EqualFold(s, f) {
				f = s
			}
		}
		out = append(out, f)
	}
	return out
}

// badFlag returns the first system flag of flags a client may not store.
func badFlag(flags []string) string {
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) && !strings.EqualFold(f, `\Recent`) &&
			!slices.ContainsFunc(systemFlags, func(s string) bool { return strings.EqualFold(s, f) }) {
			return f
		}
	}
	return ""
}

// expunge answers EXPUNGE and UID EXPUNGE (RFC 4315 §2.1).
func (ss *session) expunge(cmd *imap.Command) bool {
	if ss.sel.readOnly {
		return ss.no(cmd.Tag, imap.CodeReadOnly, "mailbox is read-only")
	}
	var filter []uint32
	if cmd.UID {
		filter = ss.sel.resolve(cmd.Args.(*imap.ExpungeArgs).UIDs, true)
		if len(filter) == 0 {
			ss.syncEnd(cmd, true)
			return ss.ok(cmd.Tag, "EXPUNGE completed")
		}
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	n, err := ss.expungeDeleted(ctx, filter)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	ss.syncEnd(cmd, true)
	return ss.okModSeq(cmd.Tag, "EXPUNGE completed", n > 0)
}

// expungeDeleted expunges the view's messages flagged \Deleted, only those
// in filter if it is not nil. The responses come from the sync.
//
// The \Deleted check and the expunge are two store calls: a STORE -FLAGS
// \Deleted by another session in between is lost. The store needs an
// ExpungeDeleted that checks inside its transaction.
func (ss *session) expungeDeleted(ctx context.Context, filter []uint32) (int, error) {
	uids := filter
	if uids == nil {
		uids = ss.sel.uids.all()
	}
	msgs, err := ss.loadMessages(ctx, uids)
	if err != nil {
		return 0, err
	}
	var del []uint32
	for _, m := range msgs {
		if slices.Contains(m.Flags, `\Deleted`) {
			del = append(del, m.UID)
		}
	}
	if len(del) == 0 {
		return 0, nil
	}
	if _, err := ss.srv.store.Expunge(ctx, ss.sel.mb.ID, del); err != nil {
		return 0, err
	}
	ss.changed(ss.sel.mb.ID)
	return len(del), nil
}

// copyCmd answers COPY and MOVE with their UID forms (RFC 9051 §6.4.7,
// RFC 6851, RFC 4315 COPYUID).
func (ss *session) copyCmd(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.CopyArgs)
	if cmd.Name == "MOVE" && ss.sel.readOnly {
		return ss.no(cmd.Tag, imap.CodeReadOnly, "mailbox is read-only")
	}
	name, err := ss.mailboxName(args.Mailbox)
	if err != nil {
		return ss.bad(cmd.Tag, err.Error())
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	dst, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return ss.no(cmd.Tag, imap.CodeTryCreate, "no such mailbox")
	}
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	var uids []uint32
	for _, u := range ss.sel.resolve(args.Set, cmd.UID) {
		if !ss.sel.gone(u) {
			uids = append(uids, u)
		}
	}
	if len(uids) == 0 {
		ss.syncEnd(cmd, cmd.UID)
		if !cmd.UID && !args.Set.IsEmpty() {
			return ss.no(cmd.Tag, "", "no such message")
		}
		return ss.ok(cmd.Tag, cmd.Name+" completed")
	}
	var msgs []store.Message
	if cmd.Name == "MOVE" {
		msgs, err = ss.srv.store.Move(ctx, ss.sel.mb.ID, uids, dst.ID)
	} else {
		msgs, err = ss.srv.store.Copy(ctx, ss.sel.mb.ID, uids, dst.ID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return ss.no(cmd.Tag, imap.CodeExpungeIssued, "some messages were expunged")
	}
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	ss.changed(dst.ID)
	ss.srv.train.add(trainJob{accountID: ss.account.ID, from: ss.sel.mb, to: dst, ids: messageIDs(msgs)})
	var src, dstSet imap.SeqSet
	for i, m := range msgs {
		src.AddNum(uids[i])
		dstSet.AddNum(m.UID)
	}
	code := imap.CodeCopyUID(dst.UIDValidity, src, dstSet)
	if cmd.Name == "MOVE" {
		ss.changed(ss.sel.mb.ID)
		// RFC 6851 §4.3: COPYUID goes in an untagged OK before the
		// EXPUNGE responses.
		ss.w.Status("*", "OK", code, "moved")
		ss.syncEnd(cmd, true)
		return ss.okModSeq(cmd.Tag, "MOVE completed", true)
	}
	ss.syncEnd(cmd, cmd.UID)
	ss.w.Status(cmd.Tag, "OK", code, cmd.Name+" completed")
	return true
}

// appendCmd answers APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID) and
// MULTIAPPEND (RFC 3502), streaming each message from the connection
// into the store. Of several messages either all stay or none: when one
// fails, those before it are expunged again.
func (ss *session) appendCmd(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.AppendArgs)
	name, err := ss.mailboxName(args.Mailbox)
	if err != nil {
		if args.Discard() != nil {
			return false
		}
		return ss.bad(cmd.Tag, err.Error())
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, name)
	if err != nil {
		if args.Discard() != nil {
			return false
		}
		if errors.Is(err, store.ErrNotFound) {
			return ss.no(cmd.Tag, imap.CodeTryCreate, "no such mailbox")
		}
		return ss.storeError(cmd.Tag, err)
	}
	var uids imap.SeqSet
	for {
		msg, err := args.Next()
		if errors.Is(err, imap.ErrAppendDone) {
			break
		}
		if err != nil {
			ss.undoAppend(mb.ID, uids)
			return ss.readError(err)
		}
		if f := badFlag(msg.Flags); f != "" {
			ss.undoAppend(mb.ID, uids)
			if args.Discard() != nil {
				return false
			}
			return ss.bad(cmd.Tag, "flag "+f+" cannot be stored")
		}
		ms, err := ss.srv.store.Deliver(ctx, msg.Body, []store.Target{{MailboxID: mb.ID, Flags: canonFlags(msg.Flags), InternalDate: msg.Date}})
		if err != nil {
			ss.undoAppend(mb.ID, uids)
			if args.Discard() != nil {
				return false
			}
			return ss.storeError(cmd.Tag, err)
		}
		uids.AddNum(ms[0].UID)
	}
	ss.changed(mb.ID)
	ss.syncEnd(cmd, true)
	ss.w.Status(cmd.Tag, "OK", imap.CodeAppendUID(mb.UIDValidity, uids), "APPEND completed")
	return true
}

// undoAppend expunges the messages a failed MULTIAPPEND had stored
// (RFC 3502 §6.3.11: none of them may stay). A store that fails here
// too leaves them, and says so in the log.
func (ss *session) undoAppend(mailboxID int64, uids imap.SeqSet) {
	if uids.IsEmpty() {
		return
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	list := slices.Collect(uids.All(^uint32(0)))
	if _, err := ss.srv.store.Expunge(ctx, mailboxID, list); err != nil {
		ss.srv.log.Error("undoing a failed MULTIAPPEND", "session", ss.id, "mailbox", mailboxID, "uids", uids.String(), "err", err)
		return
	}
	ss.changed(mailboxID)
}

// messageIDs returns the IDs of msgs.
func messageIDs(msgs []store.Message) []int64 {
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}
