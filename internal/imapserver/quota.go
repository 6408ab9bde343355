package imapserver

import (
	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// Every account has one quota root, named "", holding all its mailboxes;
// its one resource is STORAGE, in units of 1024 bytes (RFC 9208 §5.1).
const quotaRoot = ""

// getQuotaRoot answers GETQUOTAROOT (RFC 9208 §4.3). An account without a
// limit has no quota root.
func (ss *session) getQuotaRoot(cmd *imap.Command) bool {
	name, err := ss.mailboxName(cmd.Args.(*imap.MailboxArgs).Mailbox)
	if err != nil {
		return ss.bad(cmd.Tag, err.Error())
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, name)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	// The account read at login has a stale UsedBytes.
	acc, err := ss.srv.store.GetAccountByID(ctx, ss.account.ID)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	ss.w.Untagged().Atom("QUOTAROOT ").Mailbox(mb.Name)
	if acc.QuotaBytes > 0 {
		ss.w.SP().String(quotaRoot)
	}
	ss.w.End()
	if acc.QuotaBytes > 0 {
		writeQuota(ss.w, acc)
	}
	return ss.ok(cmd.Tag, "GETQUOTAROOT completed")
}

// getQuota answers GETQUOTA (RFC 9208 §4.2).
func (ss *session) getQuota(cmd *imap.Command) bool {
	ctx, cancel := ss.ctx()
	defer cancel()
	acc, err := ss.srv.store.GetAccountByID(ctx, ss.account.ID)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	if cmd.Args.(*imap.QuotaArgs).Root != quotaRoot || acc.QuotaBytes <= 0 {
		return ss.no(cmd.Tag, imap.CodeNonExistent, "no such quota root")
	}
	writeQuota(ss.w, acc)
	return ss.ok(cmd.Tag, "GETQUOTA completed")
}

func writeQuota(w *imap.Writer, acc store.Account) {
	used := (max(acc.UsedBytes, 0) + 1023) / 1024
	w.Untagged().Atom("QUOTA ").String(quotaRoot).Atom(" (STORAGE ").
		Number(uint64(used)).SP().Number(uint64(acc.QuotaBytes / 1024)).Close().End()
}
