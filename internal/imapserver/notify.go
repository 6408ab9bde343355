package imapserver

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// notifyEvents is what an event group of NOTIFY (RFC 5465 §5) asks for.
type notifyEvents struct {
	messageNew, messageExpunge, flagChange bool
	mailboxName, subscriptionChange        bool
	fetch                                  []imap.FetchItem // MessageNew's, selected mailbox only
}

// notifyGroup is an event group for mailboxes other than the selected
// one.
type notifyGroup struct {
	filter string   // INBOXES, PERSONAL, SUBSCRIBED, SUBTREE or MAILBOXES
	names  []string // of SUBTREE and MAILBOXES
	ev     notifyEvents
}

// notifier is a session's NOTIFY SET: what to announce, and the
// account's mailboxes as last announced, to which the store's are
// compared when the hub rings or the poll comes round.
type notifier struct {
	selected *notifyEvents // nil: the selected mailbox keeps the base rules
	delayed  bool          // SELECTED-DELAYED: expunges wait for a command
	groups   []notifyGroup
	unwatch  func()
	mbs      map[int64]store.Mailbox
	orphans  map[string]bool // subscribed names without a mailbox
}

// notifyBadEvents are RFC 5465 events Sealpost does not offer: it has no
// annotations and no metadata (RFC 5465 §5.9: NO [BADEVENT]).
var notifyBadEvents = map[string]bool{
	"ANNOTATIONCHANGE": true, "MAILBOXMETADATACHANGE": true, "SERVERMETADATACHANGE": true,
}

// notifyCmd answers NOTIFY SET and NOTIFY NONE (RFC 5465 §3).
func (ss *session) notifyCmd(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.NotifyArgs)
	ss.stopNotify()
	// Changes held back until now (SELECTED-DELAYED, or the base rules)
	// are reported before the new rules apply (RFC 5465 §3).
	ss.syncEnd(cmd, true)
	if args.None {
		return ss.ok(cmd.Tag, "NOTIFY completed")
	}
	n := &notifier{}
	sawSelected := false
	for _, g := range args.Groups {
		ev, bad, err := notifyEventsOf(g)
		if bad != "" {
			return ss.no(cmd.Tag, imap.Code("BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)"), bad+" is not supported")
		}
		if err != "" {
			return ss.bad(cmd.Tag, err)
		}
		switch g.Filter {
		case "SELECTED", "SELECTED-DELAYED":
			if sawSelected {
				return ss.bad(cmd.Tag, "SELECTED given twice")
			}
			sawSelected = true
			if g.Events != nil {
				n.selected = &ev
				n.delayed = g.Filter == "SELECTED-DELAYED"
			}
		default:
			if len(ev.fetch) > 0 {
				return ss.bad(cmd.Tag, "fetch attributes only for the selected mailbox")
			}
			names := make([]string, 0, len(g.Mailboxes))
			for _, raw := range g.Mailboxes {
				name, err := ss.mailboxName(raw)
				if err != nil {
					return ss.bad(cmd.Tag, err.Error())
				}
				names = append(names, name)
			}
			n.groups = append(n.groups, notifyGroup{filter: g.Filter, names: names, ev: ev})
		}
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	n.unwatch = ss.srv.hub.watchAccount(ss.account.ID, ss.ring)
	if err := ss.snapshot(ctx, n); err != nil {
		n.unwatch()
		return ss.storeError(cmd.Tag, err)
	}
	ss.notify = n
	if args.Status {
		for _, mb := range sortedMailboxes(n.mbs) {
			if ev, ok := ss.notifyEventsFor(mb.Name, mb.Subscribed); ok && !ss.isSelected(mb.ID) {
				ss.writeNotifyStatus(mb, ev)
			}
		}
	}
	return ss.ok(cmd.Tag, "NOTIFY completed")
}

// notifyEventsOf reads an event group's events. bad names an event
// Sealpost does not offer; err is a syntax error.
func notifyEventsOf(g imap.NotifyGroup) (ev notifyEvents, bad, err string) {
	for _, e := range g.Events {
		switch e.Name {
		case "MESSAGENEW":
			ev.messageNew = true
			ev.fetch = e.FetchAtts
		case "MESSAGEEXPUNGE":
			ev.messageExpunge = true
		case "FLAGCHANGE":
			ev.flagChange = true
		case "MAILBOXNAME":
			ev.mailboxName = true
		case "SUBSCRIPTIONCHANGE":
			ev.subscriptionChange = true
		default:
			if notifyBadEvents[e.Name] {
				return ev, e.Name, ""
			}
			return ev, "", "unknown event " + e.Name
		}
		if (e.Name == "MAILBOXNAME" || e.Name == "SUBSCRIPTIONCHANGE") && strings.HasPrefix(g.Filter, "SELECTED") {
			return ev, "", e.Name + " is not a selected-mailbox event"
		}
	}
	return ev, "", ""
}

// stopNotify ends NOTIFY: the base rules apply again.
func (ss *session) stopNotify() {
	if ss.notify != nil {
		ss.notify.unwatch()
		ss.notify = nil
	}
}

// snapshot records the account's mailboxes and subscriptions as they
// are now.
func (ss *session) snapshot(ctx context.Context, n *notifier) error {
	mbs, orphans, err := ss.accountState(ctx)
	if err != nil {
		return err
	}
	n.mbs, n.orphans = mbs, orphans
	ids := make([]int64, 0, len(mbs))
	for id := range mbs {
		ids = append(ids, id)
	}
	ss.srv.hub.own(ss.account.ID, ids)
	return nil
}

func (ss *session) accountState(ctx context.Context) (map[int64]store.Mailbox, map[string]bool, error) {
	list, err := ss.srv.store.ListMailboxes(ctx, ss.account.ID)
	if err != nil {
		return nil, nil, err
	}
	names, err := ss.srv.store.SubscribedNames(ctx, ss.account.ID)
	if err != nil {
		return nil, nil, err
	}
	mbs := make(map[int64]store.Mailbox, len(list))
	for _, mb := range list {
		mbs[mb.ID] = mb
	}
	orphans := make(map[string]bool, len(names))
	for _, n := range names {
		orphans[n] = true
	}
	return mbs, orphans, nil
}

func sortedMailboxes(mbs map[int64]store.Mailbox) []store.Mailbox {
	out := make([]store.Mailbox, 0, len(mbs))
	for _, mb := range mbs {
		out = append(out, mb)
	}
	slices.SortFunc(out, func(a, b store.Mailbox) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// notifyEventsFor returns the events asked for a mailbox by the event
// groups of other mailboxes than the selected one: those of the first
// group whose filter takes it.
func (ss *session) notifyEventsFor(name string, subscribed bool) (notifyEvents, bool) {
	for _, g := range ss.notify.groups {
		if g.matches(name, subscribed) {
			return g.ev, true
		}
	}
	return notifyEvents{}, false
}

// matches reports whether the group's filter takes the mailbox (RFC 5465
// §6). INBOX is the only mailbox mail is delivered to.
func (g notifyGroup) matches(name string, subscribed bool) bool {
	switch g.filter {
	case "PERSONAL":
		return true
	case "INBOXES":
		return name == "INBOX"
	case "SUBSCRIBED":
		return subscribed
	case "MAILBOXES":
		return slices.Contains(g.names, name)
	case "SUBTREE":
		return slices.ContainsFunc(g.names, func(n string) bool { return name == n || strings.HasPrefix(name, n+"/") })
	}
	return false
}

// writeNotifyStatus writes the STATUS that announces message events of
// a mailbox that is not selected (RFC 5465 §5.2–5.4).
func (ss *session) writeNotifyStatus(mb store.Mailbox, ev notifyEvents) {
	var items []string
	if ev.messageNew || ev.messageExpunge {
		items = append(items, "MESSAGES")
	}
	if ev.messageNew {
		items = append(items, "UIDNEXT")
	}
	if ev.messageNew || ev.flagChange {
		items = append(items, "UIDVALIDITY")
	}
	if ev.flagChange {
		items = append(items, "HIGHESTMODSEQ")
	}
	if len(items) == 0 {
		return
	}
	w := ss.w
	w.Untagged().Atom("STATUS ").Mailbox(mb.Name).Atom(" (")
	for i, it := range items {
		if i > 0 {
			w.SP()
		}
		w.Atom(it + " ")
		switch it {
		case "MESSAGES":
			w.Number(uint64(mb.Messages))
		case "UIDNEXT":
			w.Number(uint64(mb.UIDNext))
		case "UIDVALIDITY":
			w.Number(uint64(mb.UIDValidity))
		case "HIGHESTMODSEQ":
			w.Number(mb.HighestModSeq)
		}
	}
	w.Close().End()
}

// notifyResponse is one announcement about a mailbox that is not
// selected, held until the round is counted.
type notifyResponse func()

// announce writes what changed since the last look: the selected
// mailbox's changes at once under SELECTED (its expunges too, as no
// command is running), and for other mailboxes STATUS and LIST responses.
// A round with more than Limits.NotifyBatch announcements ends NOTIFY
// with [NOTIFICATIONOVERFLOW] instead (RFC 5465 §5.8): the client must
// then look for itself.
func (ss *session) announce(ctx context.Context) error {
	n := ss.notify
	if n == nil {
		return nil
	}
	if ss.sel != nil && n.selected != nil {
		if err := ss.announceSelected(ctx, n); err != nil || ss.notify == nil {
			return err
		}
	}
	mbs, orphans, err := ss.accountState(ctx)
	if err != nil {
		return err
	}
	out := ss.accountChanges(n, mbs, orphans)
	n.mbs, n.orphans = mbs, orphans
	ids := make([]int64, 0, len(mbs))
	for id := range mbs {
		ids = append(ids, id)
	}
	ss.srv.hub.own(ss.account.ID, ids)
	if len(out) > ss.srv.cfg.Limits.NotifyBatch {
		ss.overflow()
		return nil
	}
	for _, r := range out {
		r()
	}
	return nil
}

// overflow ends NOTIFY for too many changes at once.
func (ss *session) overflow() {
	ss.stopNotify()
	ss.w.Status("*", "OK", "NOTIFICATIONOVERFLOW", "too many changes: NOTIFY is off")
}

// announceSelected reports the selected mailbox's changes, with the
// fetch attributes of MessageNew for new messages.
func (ss *session) announceSelected(ctx context.Context, n *notifier) error {
	v := ss.sel
	last := v.lastUID()
	if err := ss.sync(ctx, !n.delayed); err != nil {
		return err
	}
	if !n.selected.messageNew || len(n.selected.fetch) == 0 || v.lastUID() == last {
		return nil
	}
	fresh := slices.Collect(v.uids.between(last+1, v.lastUID()))
	if len(fresh) > ss.srv.cfg.Limits.NotifyBatch {
		ss.overflow()
		return nil
	}
	cmd := &imap.Command{Name: "FETCH"}
	args := &imap.FetchArgs{Items: n.selected.fetch}
	need := summaryNeeded(args.Items)
	msgs, stored, err := ss.loadBatch(ctx, fresh, need, nil)
	if err != nil {
		return err
	}
	var sums map[string]*fetchSummary
	if need {
		if sums, _, err = ss.summaries(ctx, msgs, stored); err != nil {
			return err
		}
	}
	for _, m := range msgs {
		if need && sums[m.BlobID] == nil {
			continue // its body is gone
		}
		if err := ss.fetchOne(ctx, cmd, args, m, sums[m.BlobID], false); err != nil {
			return err
		}
	}
	return nil
}

// accountChanges compares the account's mailboxes and subscriptions with
// the last snapshot and returns the announcements due.
func (ss *session) accountChanges(n *notifier, mbs map[int64]store.Mailbox, orphans map[string]bool) []notifyResponse {
	var out []notifyResponse
	for _, mb := range sortedMailboxes(mbs) {
		out = append(out, ss.mailboxChanges(n, mb)...)
	}
	for _, old := range sortedMailboxes(n.mbs) {
		if _, ok := mbs[old.ID]; ok {
			continue
		}
		if ev, ok := ss.notifyEventsFor(old.Name, old.Subscribed); ok && ev.mailboxName {
			out = append(out, ss.listResponse(append([]string{`\NonExistent`}, subscribedAttr(orphans[old.Name])...), old.Name, ""))
		}
	}
	// Subscriptions of names without a mailbox; those a deletion or a
	// creation moved are announced with it.
	for _, name := range slices.Sorted(maps.Keys(orphans)) {
		if !n.orphans[name] && !deletedName(n.mbs, mbs, name) {
			if ev, ok := ss.notifyEventsFor(name, true); ok && ev.subscriptionChange {
				out = append(out, ss.listResponse([]string{`\NonExistent`, `\Subscribed`}, name, ""))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(n.orphans)) {
		if !orphans[name] && !createdName(mbs, name) {
			if ev, ok := ss.notifyEventsFor(name, false); ok && ev.subscriptionChange {
				out = append(out, ss.listResponse([]string{`\NonExistent`}, name, ""))
			}
		}
	}
	return out
}

// mailboxChanges returns the announcements about one mailbox that exists
// now: its creation, renaming or change of subscription as LIST, its
// message and flag changes as STATUS.
func (ss *session) mailboxChanges(n *notifier, mb store.Mailbox) []notifyResponse {
	old, existed := n.mbs[mb.ID]
	ev, ok := ss.notifyEventsFor(mb.Name, mb.Subscribed)
	if !ok && existed {
		ev, ok = ss.notifyEventsFor(old.Name, old.Subscribed)
	}
	if !ok {
		return nil
	}
	var out []notifyResponse
	sub := subscribedAttr(mb.Subscribed)
	switch {
	case !existed && ev.mailboxName:
		out = append(out, ss.listResponse(sub, mb.Name, ""))
	case existed && old.Name != mb.Name && ev.mailboxName:
		out = append(out, ss.listResponse(sub, mb.Name, old.Name))
	case existed && old.Subscribed != mb.Subscribed && ev.subscriptionChange:
		out = append(out, ss.listResponse(sub, mb.Name, ""))
	}
	// The selected mailbox's messages are the SELECTED group's
	// business, or the base rules'.
	if ss.isSelected(mb.ID) {
		return out
	}
	if !existed {
		old = store.Mailbox{UIDNext: 1, HighestModSeq: mb.HighestModSeq}
	}
	switch {
	case (old.UIDNext != mb.UIDNext && ev.messageNew) || (old.Messages != mb.Messages && (ev.messageNew || ev.messageExpunge)):
		out = append(out, func() { ss.writeNotifyStatus(mb, ev) })
	case old.HighestModSeq != mb.HighestModSeq && ev.flagChange:
		out = append(out, func() { ss.writeNotifyStatus(mb, notifyEvents{flagChange: true}) })
	}
	return out
}

// listResponse is a LIST announcing a mailbox name event, with OLDNAME
// for a rename (RFC 5465 §5.4).
func (ss *session) listResponse(attrs []string, name, oldName string) notifyResponse {
	return func() {
		w := ss.w
		w.Untagged().Atom("LIST ").Flags(attrs).Atom(` "/" `).Mailbox(name)
		if oldName != "" {
			w.Atom(` ("OLDNAME" (`).Mailbox(oldName).Atom("))")
		}
		w.End()
	}
}

func subscribedAttr(on bool) []string {
	if on {
		return []string{`\Subscribed`}
	}
	return []string{}
}

// deletedName reports whether name was a mailbox before and is not now:
// its subscription is the deletion's, already announced.
func deletedName(before, now map[int64]store.Mailbox, name string) bool {
	for id, mb := range before {
		if _, still := now[id]; mb.Name == name && !still {
			return true
		}
	}
	return false
}

func createdName(now map[int64]store.Mailbox, name string) bool {
	for _, mb := range now {
		if mb.Name == name {
			return true
		}
	}
	return false
}

// waitNotify waits for the first byte of the next command while NOTIFY is
// on, announcing changes whenever the hub rings (RFC 5465
// §4: a client under NOTIFY hears of them without asking). The waiting is
// IDLE's (keepWaiting), without an IDLE command. It leaves the read
// deadline at the idle timer for the command read.
func (ss *session) waitNotify() error {
	ss.idleUntil = time.Now().Add(ss.srv.cfg.Limits.IdleTimeout)
	ss.idleCmd = nil
	ss.setIdling(true)
	err := ss.readCommandBuffer()
	ss.setIdling(false)
	ss.conn.SetReadDeadline(ss.idleUntil)
	return err
}

// announceNow runs one round of announcements and flushes them; false
// means the session cannot go on.
func (ss *session) announceNow() bool {
	ctx, cancel := ss.ctx()
	defer cancel()
	if err := ss.announce(ctx); err != nil {
		if errors.Is(err, store.ErrNotFound) && ss.sel != nil {
			ss.w.Status("*", "BYE", "", "the selected mailbox was deleted")
			ss.closing.Store(true)
		} else {
			ss.srv.log.Warn("notify", "session", ss.id, "err", err)
		}
	}
	return ss.w.Flush() == nil
}

func (ss *session) isSelected(mailboxID int64) bool {
	return ss.sel != nil && ss.sel.mb.ID == mailboxID
}

// accountChanged rings the hub for a change of the account's mailboxes
// or subscriptions.
func (ss *session) accountChanged() {
	ss.srv.hub.AccountChanged(ss.account.ID)
}
