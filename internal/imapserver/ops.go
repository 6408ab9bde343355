package imapserver

import (
	"context"
	"errors"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// storeCmd answers STORE and UID STORE (RFC 9051 §6.4.6).
func (ss *session) storeCmd(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.StoreArgs)
	if args.HasUnchangedSince {
		return ss.bad(cmd.Tag, "UNCHANGEDSINCE is not supported")
	}
	if ss.sel.readOnly {
		return ss.no(cmd.Tag, imap.CodeReadOnly, "mailbox is read-only")
	}
	for _, f := range args.Flags {
		if strings.HasPrefix(f, `\`) && !slices.ContainsFunc(systemFlags, func(s string) bool { return strings.EqualFold(s, f) }) {
			return ss.bad(cmd.Tag, "flag "+f+" cannot be stored")
		}
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	uids := ss.sel.resolve(args.Set, cmd.UID)
	live := uids[:0:0]
	for _, u := range uids {
		if !ss.sel.expunged[u] {
			live = append(live, u)
		}
	}
	op := map[imap.StoreMode]store.FlagOp{imap.StoreAdd: store.FlagsAdd, imap.StoreRemove: store.FlagsRemove, imap.StoreReplace: store.FlagsReplace}[args.Mode]
	if len(live) > 0 {
		res, err := ss.srv.store.UpdateFlags(ctx, store.FlagUpdate{MailboxID: ss.sel.mb.ID, UIDs: live, Op: op, Flags: canonFlags(args.Flags)})
		if err != nil {
			return ss.storeError(cmd.Tag, err)
		}
		if len(res.Updated) > 0 {
			ss.changed(ss.sel.mb.ID)
		}
		if args.Silent {
			for _, m := range res.Updated {
				ss.sel.reported[m.UID] = m.ModSeq
			}
		} else {
			msgs, err := ss.loadMessages(ctx, live)
			if err != nil {
				return ss.storeError(cmd.Tag, err)
			}
			for _, m := range msgs {
				ss.sel.reported[m.UID] = m.ModSeq
				ss.w.Untagged().Number(uint64(ss.sel.seq(m.UID))).Atom(" FETCH (")
				if cmd.UID {
					ss.w.Atom("UID ").Number(uint64(m.UID)).SP()
				}
				ss.w.Atom("FLAGS ").Flags(m.Flags).Close().End()
			}
		}
	}
	ss.syncEnd(cmd, cmd.UID)
	return ss.ok(cmd.Tag, "STORE completed")
}

// canonFlags spells system flags the way the store keeps them.
func canonFlags(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = f
		for _, s := range systemFlags {
			if strings.EqualFold(s, f) {
				out[i] = s
			}
		}
	}
	return out
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
	if _, err := ss.expungeDeleted(ctx, filter); err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	ss.syncEnd(cmd, true)
	return ss.ok(cmd.Tag, "EXPUNGE completed")
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
		uids = ss.sel.uids
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
		if !ss.sel.expunged[u] {
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
	if cmd.Name == "MOVE" && dst.ID != ss.sel.mb.ID {
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
	var src, dstSet imap.SeqSet
	for i, m := range msgs {
		src.AddNum(uids[i])
		dstSet.AddNum(m.UID)
	}
	code := imap.CodeCopyUID(dst.UIDValidity, src, dstSet)
	if cmd.Name == "MOVE" && dst.ID != ss.sel.mb.ID {
		ss.changed(ss.sel.mb.ID)
		// RFC 6851 §4.3: COPYUID goes in an untagged OK before the
		// EXPUNGE responses.
		ss.w.Status("*", "OK", code, "moved")
		ss.syncEnd(cmd, true)
		return ss.ok(cmd.Tag, "MOVE completed")
	}
	ss.syncEnd(cmd, cmd.UID)
	ss.w.Status(cmd.Tag, "OK", code, cmd.Name+" completed")
	return true
}

// appendCmd answers APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID),
// streaming each message from the connection into the store.
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
			return ss.readError(err)
		}
		for _, f := range msg.Flags {
			if strings.HasPrefix(f, `\`) && !slices.ContainsFunc(systemFlags, func(s string) bool { return strings.EqualFold(s, f) }) {
				if args.Discard() != nil {
					return false
				}
				return ss.bad(cmd.Tag, "flag "+f+" cannot be stored")
			}
		}
		ms, err := ss.srv.store.Deliver(ctx, msg.Body, []store.Target{{MailboxID: mb.ID, Flags: canonFlags(msg.Flags), InternalDate: msg.Date}})
		if err != nil {
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
