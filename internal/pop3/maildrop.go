package pop3

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// maildrop is the INBOX as it was at login (RFC 1939 section 5: message
// numbers do not change during a session).
type maildrop struct {
	mailbox   store.Mailbox
	msgs      []store.Message // in UID order; message n is msgs[n-1]
	deleted   []bool
	retrieved []bool
}

func openMaildrop(ctx context.Context, st store.Store, acct store.Account) (*maildrop, error) {
	mb, err := st.GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		return nil, fmt.Errorf("INBOX: %w", err)
	}
	msgs, err := st.ListMessages(ctx, mb.ID, 1, 0)
	if err != nil {
		return nil, fmt.Errorf("INBOX messages: %w", err)
	}
	return &maildrop{mailbox: mb, msgs: msgs, deleted: make([]bool, len(msgs)), retrieved: make([]bool, len(msgs))}, nil
}

// count and size give the messages not marked deleted, for STAT.
func (d *maildrop) count() int {
	n := 0
	for _, del := range d.deleted {
		if !del {
			n++
		}
	}
	return n
}

func (d *maildrop) size() int64 {
	var n int64
	for i, m := range d.msgs {
		if !d.deleted[i] {
			n += m.Size
		}
	}
	return n
}

// uid returns the unique-id listing of message i (0-based):
// UIDVALIDITY.UID.
func (d *maildrop) uid(i int) string {
	return strconv.FormatUint(uint64(d.mailbox.UIDValidity), 10) + "." + strconv.FormatUint(uint64(d.msgs[i].UID), 10)
}

// msg parses a message number and returns its index, or answers -ERR and
// returns false for a malformed, unknown or deleted one.
func (ss *session) msg(arg string) (int, bool) {
	n, err := parseNumber(arg)
	switch {
	case err != nil:
		ss.fail("invalid message number")
		return 0, false
	case n < 1 || n > len(ss.drop.msgs):
		ss.fail("no such message")
		return 0, false
	case ss.drop.deleted[n-1]:
		ss.fail("message " + arg + " already deleted")
		return 0, false
	}
	return n - 1, true
}

// parseNumber parses a decimal argument: digits only, no sign, at most
// nine of them.
func parseNumber(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, errors.New("bad number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("bad number")
		}
	}
	return strconv.Atoi(s)
}

func (ss *session) stat(arg string) {
	if arg != "" {
		ss.fail("STAT takes no argument")
		return
	}
	ss.ok(fmt.Sprintf("%d %d", ss.drop.count(), ss.drop.size()))
}

// list answers LIST and UIDL, which share their shape: one message, or all
// those not deleted as a multi-line response.
func (ss *session) list(arg string) {
	ss.listing(arg, func(i int) string { return strconv.FormatInt(ss.drop.msgs[i].Size, 10) })
}

func (ss *session) uidl(arg string) { ss.listing(arg, ss.drop.uid) }

func (ss *session) listing(arg string, value func(int) string) {
	if arg != "" {
		i, ok := ss.msg(arg)
		if ok {
			ss.ok(strconv.Itoa(i+1) + " " + value(i))
		}
		return
	}
	ss.ok(fmt.Sprintf("%d messages (%d octets)", ss.drop.count(), ss.drop.size()))
	for i := range ss.drop.msgs {
		if !ss.drop.deleted[i] {
			ss.line(strconv.Itoa(i+1) + " " + value(i))
		}
	}
	ss.line(".")
}

func (ss *session) retr(arg string) bool {
	i, ok := ss.msg(arg)
	if !ok {
		return true
	}
	return ss.send(i, -1, fmt.Sprintf("%d octets", ss.drop.msgs[i].Size))
}

// top answers TOP n m: the header, the blank line and m lines of the body.
func (ss *session) top(arg string) bool {
	num, lines, found := cutSpace(arg)
	if !found {
		ss.fail("TOP needs a message number and a line count")
		return true
	}
	i, ok := ss.msg(num)
	if !ok {
		return true
	}
	n, err := parseNumber(lines)
	if err != nil {
		ss.fail("invalid line count")
		return true
	}
	return ss.send(i, n, "top of message follows")
}

// cutSpace splits s at its one space.
func cutSpace(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// send streams message i as a multi-line response, with at most bodyLines
// lines of its body (-1: all), and reports whether the session goes on.
// Once +OK is out an error cannot be answered any more, so a failure to
// read the body ends the session; the client sees a truncated response.
func (ss *session) send(i, bodyLines int, text string) bool {
	m := ss.drop.msgs[i]
	ctx, cancel := ss.ctx()
	defer cancel()
	body, err := ss.srv.store.OpenBody(ctx, m.BlobID)
	if errors.Is(err, store.ErrNotFound) {
		ss.fail("message " + strconv.Itoa(i+1) + " was removed by another session")
		return true
	}
	if err != nil {
		ss.srv.log.Error("opening a message", "session", ss.id, "uid", m.UID, "err", err)
		ss.err("[SYS/TEMP] cannot read the message, try again")
		return true
	}
	defer body.Close()
	ss.sending.Store(true)
	defer ss.sending.Store(false)
	ss.ok(text)
	if err := copyBody(ss.w, body, bodyLines); err != nil {
		ss.srv.log.Warn("sending a message", "session", ss.id, "uid", m.UID, "err", err)
		return false
	}
	ss.line(".")
	if bodyLines < 0 {
		ss.drop.retrieved[i] = true
	}
	return true
}

func (ss *session) dele(arg string) {
	i, ok := ss.msg(arg)
	if !ok {
		return
	}
	ss.drop.deleted[i] = true
	ss.ok("message " + arg + " deleted")
}

// rset unmarks every message marked deleted.
func (ss *session) rset(arg string) {
	if arg != "" {
		ss.fail("RSET takes no argument")
		return
	}
	clear(ss.drop.deleted)
	ss.ok(fmt.Sprintf("maildrop has %d messages (%d octets)", ss.drop.count(), ss.drop.size()))
}

// update is the UPDATE state (RFC 1939 section 6), entered by QUIT from
// TRANSACTION: the marked messages are expunged, and retrieved ones that
// stay are flagged \Seen.
func (ss *session) update() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := ss.drop
	var del, seen []uint32
	for i, m := range d.msgs {
		switch {
		case d.deleted[i]:
			del = append(del, m.UID)
		case d.retrieved[i]:
			seen = append(seen, m.UID)
		}
	}
	if len(seen) > 0 || len(del) > 0 {
		// IMAP sessions on the mailbox hear of the change at once.
		defer ss.srv.changed(d.mailbox.ID)
	}
	if len(seen) > 0 {
		// \Seen is a courtesy to IMAP clients; losing it is not worth an
		// error to the POP3 client.
		_, err := ss.srv.store.UpdateFlags(ctx, store.FlagUpdate{MailboxID: d.mailbox.ID, UIDs: seen, Op: store.FlagsAdd, Flags: []string{`\Seen`}})
		if err != nil {
			ss.srv.log.Warn("flagging retrieved messages seen", "session", ss.id, "err", err)
		}
	}
	if len(del) > 0 {
		if _, err := ss.srv.store.Expunge(ctx, d.mailbox.ID, del); err != nil {
			ss.srv.log.Error("expunging deleted messages", "session", ss.id, "err", err)
			ss.err("[SYS/TEMP] some deleted messages not removed")
			return
		}
	}
	ss.ok(fmt.Sprintf("Sealpost POP3 server signing off (%d messages deleted)", len(del)))
}
