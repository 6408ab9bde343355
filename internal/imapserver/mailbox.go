package imapserver

import (
	"context"
	"errors"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// systemFlags are the flags every mailbox keeps; keywords may be added
// freely (PERMANENTFLAGS \*).
var systemFlags = []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}

func (ss *session) selectCmd(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.SelectArgs)
	q := args.QResync
	// RFC 7162 §3.2.5: QRESYNC without ENABLE QRESYNC is BAD.
	if q != nil && !ss.qresync {
		return ss.bad(cmd.Tag, "QRESYNC needs ENABLE QRESYNC first")
	}
	if q != nil && q.KnownSeqs.Count(^uint32(0)) != q.KnownSeqUIDs.Count(^uint32(0)) {
		return ss.bad(cmd.Tag, "QRESYNC sequence match data of unequal lengths")
	}
	// RFC 9051 §6.3.2: a SELECT, even one that fails, deselects first.
	// [CLOSED] marks where the old mailbox's responses end (RFC 7162
	// §3.2.11); clients that do not know the code ignore it.
	if ss.sel != nil {
		ss.deselect()
		ss.w.Status("*", "OK", imap.CodeClosed, "previous mailbox closed")
	}
	if args.CondStore {
		// SELECT reports HIGHESTMODSEQ itself.
		ss.condstore = true
	}
	name, err := ss.mailboxName(args.Mailbox)
	if err != nil {
		return ss.no(cmd.Tag, imap.CodeCannot, err.Error())
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, name)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	// The UIDs are read after the mailbox: a message that arrives in
	// between is in the view and comes again, harmlessly, in the next
	// sync; read the other way round it would be missed.
	e, err := ss.srv.selects.load(ctx, ss.srv.store, mb, !ss.rev2)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	v := &view{mb: mb, readOnly: cmd.Name == "EXAMINE", modseq: mb.HighestModSeq, uids: e.uids}
	unseen := v.seq(e.firstUnseen)
	v.unwatch = ss.srv.hub.watch(mb.ID, ss.ring, ss.srv.store, ss.srv.cfg.Limits.PollInterval, ss.srv.log)
	ss.sel, ss.state = v, selected
	if err := ss.claimRecent(ctx, 0); err != nil {
		ss.deselect()
		return ss.storeError(cmd.Tag, err)
	}

	ss.w.Untagged().Atom("FLAGS ").Flags(systemFlags).End()
	ss.w.Status("*", "OK", imap.CodePermanentFlags(append(slices.Clone(systemFlags), `\*`)), "flags permitted")
	ss.w.Exists(v.uids.count())
	if !ss.rev2 {
		ss.w.Untagged().Number(uint64(v.recentCount())).Atom(" RECENT").End()
		if unseen > 0 {
			ss.w.Status("*", "OK", imap.Code("UNSEEN "+itoa(int(unseen))), "first unseen")
		}
	}
	ss.w.Status("*", "OK", imap.CodeUIDValidity(mb.UIDValidity), "UIDs valid")
	ss.w.Status("*", "OK", imap.CodeUIDNext(mb.UIDNext), "predicted next UID")
	ss.w.Status("*", "OK", imap.CodeHighestModSeq(v.modseq), "highest")
	ss.w.Status("*", "OK", imap.Code("MAILBOXID ("+mailboxID(mb)+")"), "object id")
	if ss.rev2 {
		// RFC 9051 §6.3.2 asks for the mailbox's name; IMAP4rev1 clients
		// would take it for an unsolicited LIST.
		ss.w.Untagged().Atom("LIST () \"/\" ").Mailbox(mb.Name).End()
	}
	if q != nil && q.UIDValidity == mb.UIDValidity {
		if err := ss.qresyncSelect(ctx, q); err != nil {
			ss.deselect()
			return ss.storeError(cmd.Tag, err)
		}
	}
	code := imap.CodeReadWrite
	if v.readOnly {
		code = imap.CodeReadOnly
	}
	ss.w.Status(cmd.Tag, "OK", code, cmd.Name+" completed")
	return true
}

// closeCmd answers CLOSE, which expunges silently in a read-write
// mailbox, and UNSELECT (RFC 3691), which does not.
func (ss *session) closeCmd(cmd *imap.Command) bool {
	if cmd.Name == "CLOSE" && !ss.sel.readOnly {
		ctx, cancel := ss.ctx()
		defer cancel()
		if _, err := ss.expungeDeleted(ctx, nil); err != nil {
			return ss.storeError(cmd.Tag, err)
		}
	}
	ss.deselect()
	return ss.ok(cmd.Tag, cmd.Name+" completed")
}

func (ss *session) create(cmd *imap.Command) bool {
	var raw string
	var use []string
	switch a := cmd.Args.(type) {
	case *imap.CreateArgs:
		raw, use = a.Mailbox, a.SpecialUse
	case *imap.MailboxArgs:
		raw = a.Mailbox
	}
	name, err := ss.mailboxName(strings.TrimSuffix(raw, "/"))
	if err != nil || !validName(name) {
		return ss.bad(cmd.Tag, "invalid mailbox name")
	}
	if len(use) > 1 {
		return ss.no(cmd.Tag, "USEATTR", "one special-use attribute at most")
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	// Parents are created too (RFC 9051 §6.3.4), as plain mailboxes.
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		_, err := ss.srv.store.CreateMailbox(ctx, ss.account.ID, store.NewMailbox{Name: strings.Join(parts[:i], "/")})
		if err != nil && !errors.Is(err, store.ErrExists) {
			return ss.storeError(cmd.Tag, err)
		}
	}
	nm := store.NewMailbox{Name: name}
	if len(use) == 1 {
		nm.SpecialUse = use[0]
	}
	mb, err := ss.srv.store.CreateMailbox(ctx, ss.account.ID, nm)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	ss.accountChanged()
	ss.w.Status(cmd.Tag, "OK", imap.Code("MAILBOXID ("+mailboxID(mb)+")"), "CREATE completed")
	return true
}

func (ss *session) deleteCmd(cmd *imap.Command) bool {
	name, err := ss.mailboxName(cmd.Args.(*imap.MailboxArgs).Mailbox)
	if err != nil {
		return ss.no(cmd.Tag, imap.CodeCannot, err.Error())
	}
	if name == "INBOX" {
		return ss.no(cmd.Tag, imap.CodeCannot, "INBOX cannot be deleted")
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, name)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	if err := ss.srv.store.DeleteMailbox(ctx, mb.ID); err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	ss.changed(mb.ID)
	return ss.ok(cmd.Tag, "DELETE completed")
}

// rename answers RENAME. Renaming INBOX, which RFC 9051 §6.3.6 defines as
// moving its messages, is refused for now.
func (ss *session) rename(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.RenameArgs)
	from, err1 := ss.mailboxName(args.From)
	to, err2 := ss.mailboxName(args.To)
	if err1 != nil || err2 != nil || !validName(to) {
		return ss.bad(cmd.Tag, "invalid mailbox name")
	}
	if from == "INBOX" {
		return ss.no(cmd.Tag, imap.CodeCannot, "renaming INBOX is not supported")
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, from)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	if err := ss.srv.store.RenameMailbox(ctx, mb.ID, to); err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	if ss.sel != nil && ss.sel.mb.ID == mb.ID {
		ss.sel.mb.Name = to
	}
	ss.accountChanged()
	return ss.ok(cmd.Tag, "RENAME completed")
}

// subscribe answers SUBSCRIBE and UNSUBSCRIBE. A name without a mailbox
// may be subscribed too (RFC 9051 §6.3.7 lets the server accept it): it
// is what a deleted mailbox leaves behind.
func (ss *session) subscribe(cmd *imap.Command) bool {
	name, err := ss.mailboxName(cmd.Args.(*imap.MailboxArgs).Mailbox)
	if err != nil {
		return ss.no(cmd.Tag, imap.CodeCannot, err.Error())
	}
	on := cmd.Name == "SUBSCRIBE"
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if on && !validName(name) {
			return ss.no(cmd.Tag, imap.CodeCannot, "invalid mailbox name")
		}
		err = ss.srv.store.SetNameSubscribed(ctx, ss.account.ID, name, on)
	case err == nil:
		err = ss.srv.store.SetSubscribed(ctx, mb.ID, on)
	}
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	ss.accountChanged()
	return ss.ok(cmd.Tag, cmd.Name+" completed")
}

// listEntry is one name LIST or LSUB may return: a mailbox, or a
// subscribed name without one (mb is nil).
type listEntry struct {
	name       string
	mb         *store.Mailbox
	subscribed bool
}

// listEntries returns the account's mailboxes and subscribed names,
// sorted by name.
func (ss *session) listEntries(ctx context.Context) ([]listEntry, error) {
	mbs, err := ss.srv.store.ListMailboxes(ctx, ss.account.ID)
	if err != nil {
		return nil, err
	}
	orphans, err := ss.srv.store.SubscribedNames(ctx, ss.account.ID)
	if err != nil {
		return nil, err
	}
	out := make([]listEntry, 0, len(mbs)+len(orphans))
	exists := make(map[string]bool, len(mbs))
	for i := range mbs {
		out = append(out, listEntry{name: mbs[i].Name, mb: &mbs[i], subscribed: mbs[i].Subscribed})
		exists[mbs[i].Name] = true
	}
	for _, n := range orphans {
		if !exists[n] {
			out = append(out, listEntry{name: n, subscribed: true})
		}
	}
	slices.SortFunc(out, func(a, b listEntry) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// list answers LIST (with the RFC 5258 selection options SUBSCRIBED,
// REMOTE, which changes nothing as there are no remote mailboxes,
// RECURSIVEMATCH and SPECIAL-USE, the return options SUBSCRIBED,
// CHILDREN and SPECIAL-USE, and RFC 5819 STATUS) and LSUB.
func (ss *session) list(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.ListArgs)
	if len(args.Patterns) == 1 && args.Patterns[0] == "" && !args.Extended {
		ss.w.Untagged().Atom(cmd.Name + ` (\Noselect) "/" ""`).End()
		return ss.ok(cmd.Tag, cmd.Name+" completed")
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	entries, err := ss.listEntries(ctx)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	// A reference or pattern that is not valid modified UTF-7 names no
	// mailbox: it matches nothing, which is not an error.
	ref, err := ss.mailboxName(args.Reference)
	var pats []string
	for _, p := range args.Patterns {
		p, perr := ss.mailboxName(p)
		if err == nil && perr == nil {
			pats = append(pats, ref+p)
		}
	}
	if args.Status != nil {
		if slices.Contains(args.Status, "HIGHESTMODSEQ") {
			ss.enableCondStore() // RFC 7162 §3.1
		}
	}
	lsub := cmd.Name == "LSUB"
	subscribedOnly := lsub || slices.Contains(args.Selection, "SUBSCRIBED")
	specialOnly := slices.Contains(args.Selection, "SPECIAL-USE")
	recursive := lsub || slices.Contains(args.Selection, "RECURSIVEMATCH")
	showSub := subscribedOnly || slices.Contains(args.Return, "SUBSCRIBED")
	for i, e := range entries {
		if !matchAny(pats, e.name) || (specialOnly && (e.mb == nil || e.mb.SpecialUse == "")) {
			continue
		}
		if e.mb == nil && !subscribedOnly {
			continue // LIST shows mailboxes; a subscription alone is not one
		}
		// RFC 5258 §3.5: with RECURSIVEMATCH a name that fails the
		// selection but has a descendant that passes, and that the
		// patterns do not return, is listed with CHILDINFO; LSUB lists it
		// as \Noselect (RFC 3501 §6.3.9).
		childInfo := false
		if subscribedOnly && !e.subscribed {
			if !recursive || !hiddenSubscribedChild(entries[i+1:], e.name, pats) {
				continue
			}
			childInfo = true
		}
		var attrs []string
		switch {
		case lsub && (childInfo || e.mb == nil):
			attrs = append(attrs, `\Noselect`) // LSUB predates \NonExistent
		case e.mb == nil:
			attrs = append(attrs, `\NonExistent`)
		case hasChildMailbox(entries[i+1:], e.name):
			attrs = append(attrs, `\HasChildren`)
		default:
			attrs = append(attrs, `\HasNoChildren`)
		}
		if e.mb != nil && e.mb.SpecialUse != "" {
			attrs = append(attrs, e.mb.SpecialUse)
		}
		if showSub && e.subscribed && !lsub {
			attrs = append(attrs, `\Subscribed`)
		}
		ss.w.Untagged().Atom(cmd.Name + " ").Flags(attrs).Atom(` "/" `).Mailbox(e.name)
		if childInfo && !lsub {
			ss.w.Atom(` ("CHILDINFO" ("SUBSCRIBED"))`)
		}
		ss.w.End()
		if args.Status != nil && !lsub && e.mb != nil {
			// RFC 5819 §2: a mailbox whose status cannot be read is
			// listed without it.
			if err := ss.writeStatus(ctx, *e.mb, args.Status); err != nil {
				ss.srv.log.Warn("list-status", "session", ss.id, "mailbox", e.mb.ID, "err", err)
			}
		}
	}
	return ss.ok(cmd.Tag, cmd.Name+" completed")
}

// hiddenSubscribedChild reports whether a subscribed descendant of name
// among after (the entries sorted after it) is one the patterns do not
// return.
func hiddenSubscribedChild(after []listEntry, name string, pats []string) bool {
	for _, e := range after {
		if !strings.HasPrefix(e.name, name+"/") {
			if e.name > name+"/" {
				break
			}
			continue
		}
		if e.subscribed && !matchAny(pats, e.name) {
			return true
		}
	}
	return false
}

// hasChildMailbox reports whether a mailbox below name is among after.
func hasChildMailbox(after []listEntry, name string) bool {
	for _, e := range after {
		if strings.HasPrefix(e.name, name+"/") && e.mb != nil {
			return true
		}
		if e.name > name+"/" {
			break
		}
	}
	return false
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if match(p, name) || (strings.EqualFold(p, "INBOX") && name == "INBOX") {
			return true
		}
	}
	return false
}

// match reports whether name matches a LIST pattern: "*" matches
// anything, "%" anything but the hierarchy separator (RFC 9051 §6.3.9).
func match(pat, name string) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*', '%':
			for i := 0; i <= len(name); i++ {
				if match(pat[1:], name[i:]) {
					return true
				}
				if i < len(name) && pat[0] == '%' && name[i] == '/' {
					return false
				}
			}
			return false
		default:
			if len(name) == 0 || name[0] != pat[0] {
				return false
			}
			pat, name = pat[1:], name[1:]
		}
	}
	return name == ""
}

// status answers STATUS (RFC 9051 §6.3.11, RFC 8438 SIZE, RFC 8474
// MAILBOXID, RFC 7889 APPENDLIMIT).
func (ss *session) status(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.StatusArgs)
	name, err := ss.mailboxName(args.Mailbox)
	if err != nil {
		return ss.no(cmd.Tag, imap.CodeCannot, err.Error())
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	mb, err := ss.srv.store.GetMailbox(ctx, ss.account.ID, name)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	if slices.Contains(args.Items, "HIGHESTMODSEQ") {
		ss.enableCondStore() // RFC 7162 §3.1
	}
	if err := ss.writeStatus(ctx, mb, args.Items); err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	return ss.ok(cmd.Tag, "STATUS completed")
}

// writeStatus writes the STATUS response of mb. UNSEEN and DELETED are
// counted by the store.
func (ss *session) writeStatus(ctx context.Context, mb store.Mailbox, items []string) error {
	var unseen, deleted int
	if slices.Contains(items, "UNSEEN") || slices.Contains(items, "DELETED") {
		counts, err := ss.srv.store.CountFlags(ctx, mb.ID)
		if err != nil {
			return err
		}
		unseen, deleted = counts.Unseen, counts.Deleted
	}
	var recent int
	if slices.Contains(items, "RECENT") {
		var err error
		if recent, err = ss.countRecent(ctx, mb); err != nil {
			return err
		}
	}
	ss.w.Untagged().Atom("STATUS ").Mailbox(mb.Name).Atom(" (")
	first := true
	for _, item := range items {
		if item == "DELETED-STORAGE" {
			continue // not tracked: left out rather than invented
		}
		if !first {
			ss.w.SP()
		}
		first = false
		ss.w.Atom(item + " ")
		switch item {
		case "MESSAGES":
			ss.w.Number(uint64(mb.Messages))
		case "UIDNEXT":
			ss.w.Number(uint64(mb.UIDNext))
		case "UIDVALIDITY":
			ss.w.Number(uint64(mb.UIDValidity))
		case "UNSEEN":
			ss.w.Number(uint64(unseen))
		case "DELETED":
			ss.w.Number(uint64(deleted))
		case "SIZE":
			ss.w.Number(uint64(mb.Size))
		case "HIGHESTMODSEQ":
			ss.w.Number(mb.HighestModSeq)
		case "APPENDLIMIT":
			ss.w.Number(uint64(ss.srv.cfg.Limits.Wire.MaxAppend))
		case "MAILBOXID":
			ss.w.Atom("(" + mailboxID(mb) + ")")
		case "RECENT":
			ss.w.Number(uint64(recent))
		}
	}
	ss.w.Close()
	return ss.w.End()
}

// countRecent counts the messages of mb no session has claimed as \Recent.
func (ss *session) countRecent(ctx context.Context, mb store.Mailbox) (int, error) {
	mark, err := ss.srv.store.ClaimRecent(ctx, mb.ID, 0)
	if err != nil || mark+1 >= mb.UIDNext {
		return 0, err
	}
	msgs, err := ss.srv.store.ListMessages(ctx, mb.ID, mark+1, 0)
	return len(msgs), err
}
