package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"sealpost.dev/sealpost/internal/store"
)

// Teacher learns from a message a person reported; package training's
// Trainer is one.
type Teacher interface {
	Teach(ctx context.Context, accountID int64, m store.Message, class string) error
}

// Bounds of a report.
const (
	maxReportUIDs  = 500  // messages one report names
	maxMailboxName = 1000 // bytes of the mailbox's name
)

// The mailboxes reports move messages to, and the classes they teach.
var reportTargets = map[string]store.NewMailbox{
	"phish": {Name: "Phishing", Subscribed: true},
	"spam":  {Name: "Junk", SpecialUse: `\Junk`, Subscribed: true},
	"ham":   {Name: "INBOX", Subscribed: true},
}

type reportRequest struct {
	Mailbox string   `json:"mailbox"`
	UIDs    []uint32 `json:"uids"`
	As      string   `json:"as"`
}

// report is POST /messages/report: it moves the messages named to
// Phishing, Junk or INBOX and teaches the filter what they are, as a
// person's report. The messages already there are taught without a move.
// A failed lesson is logged: the move is what the caller sees.
func (s *Server) report(w http.ResponseWriter, r *http.Request, c *caller) error {
	var q reportRequest
	if err := decode(r, &q, false); err != nil {
		return err
	}
	if err := text("mailbox", q.Mailbox, true, maxMailboxName); err != nil {
		return err
	}
	target, ok := reportTargets[q.As]
	if !ok {
		return badRequest("as", `field "as" must be "phish", "spam" or "ham"`)
	}
	if len(q.UIDs) == 0 || len(q.UIDs) > maxReportUIDs {
		return badRequest("uids", `field "uids" must list 1 to %d UIDs`, maxReportUIDs)
	}
	if slices.Contains(q.UIDs, 0) {
		return badRequest("uids", `field "uids": UIDs start at 1`)
	}
	uids := slices.Clone(q.UIDs)
	slices.Sort(uids)
	uids = slices.Compact(uids)

	ctx := r.Context()
	src, err := s.Store.GetMailbox(ctx, c.account.ID, q.Mailbox)
	if errors.Is(err, store.ErrNotFound) {
		return &apiError{status: http.StatusNotFound, field: "mailbox", msg: fmt.Sprintf("no mailbox %q", truncate(q.Mailbox, 100))}
	}
	if err != nil {
		return err
	}
	msgs := make([]store.Message, 0, len(uids))
	for _, u := range uids {
		m, err := s.Store.GetMessage(ctx, src.ID, u)
		if errors.Is(err, store.ErrNotFound) {
			return &apiError{status: http.StatusNotFound, field: "uids", msg: fmt.Sprintf("no message with UID %d in %q", u, truncate(q.Mailbox, 100))}
		}
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	dst, err := s.reportMailbox(ctx, c.account.ID, target)
	if err != nil {
		return err
	}
	if dst.ID != src.ID {
		msgs, err = s.Store.Move(ctx, src.ID, uids, dst.ID)
		if errors.Is(err, store.ErrNotFound) {
			return &apiError{status: http.StatusConflict, field: "uids", msg: "some of the messages were removed meanwhile: nothing was moved"}
		}
		if err != nil {
			return err
		}
	}
	trained := 0
	if s.Trainer != nil {
		for _, m := range msgs {
			if err := s.Trainer.Teach(ctx, c.account.ID, m, q.As); err != nil {
				s.logger().Warn("api: learning from a report", "account", c.account.ID, "message", m.ID, "as", q.As, "err", err)
				continue
			}
			trained++
		}
	}
	out := make([]uint32, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	writeJSON(w, http.StatusOK, map[string]any{"mailbox": dst.Name, "uids": out, "moved": dst.ID != src.ID, "trained": trained})
	return nil
}

// reportMailbox finds the mailbox a report goes to: for spam, the
// account's \Junk mailbox whatever its name. It creates a missing one
// (Phishing is created on the first report; see package training).
func (s *Server) reportMailbox(ctx context.Context, accountID int64, target store.NewMailbox) (store.Mailbox, error) {
	if target.SpecialUse != "" {
		all, err := s.Store.ListMailboxes(ctx, accountID)
		if err != nil {
			return store.Mailbox{}, err
		}
		for _, mb := range all {
			if mb.SpecialUse == target.SpecialUse {
				return mb, nil
			}
		}
	}
	mb, err := s.Store.GetMailbox(ctx, accountID, target.Name)
	if !errors.Is(err, store.ErrNotFound) {
		return mb, err
	}
	mb, err = s.Store.CreateMailbox(ctx, accountID, target)
	if errors.Is(err, store.ErrExists) { // made meanwhile
		return s.Store.GetMailbox(ctx, accountID, target.Name)
	}
	return mb, err
}
