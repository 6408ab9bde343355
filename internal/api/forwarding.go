package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// forwardEntry is a forwarding rule in answers; never its token.
type forwardEntry struct {
	ID        int64      `json:"id"`
	Target    string     `json:"target"`
	KeepCopy  bool       `json:"keep_copy"`
	State     string     `json:"state"`
	Created   time.Time  `json:"created"`
	Confirmed *time.Time `json:"confirmed,omitempty"`
	// Expires is when a pending rule's confirmation link stops working.
	Expires *time.Time `json:"confirmation_expires,omitempty"`
}

func forwardOf(f store.ForwardRule) forwardEntry {
	e := forwardEntry{ID: f.ID, Target: f.Target, KeepCopy: f.KeepCopy, State: string(f.State), Created: f.Created.UTC()}
	if !f.Confirmed.IsZero() {
		t := f.Confirmed.UTC()
		e.Confirmed = &t
	}
	if f.State == store.ForwardPending && !f.TokenExpires.IsZero() {
		t := f.TokenExpires.UTC()
		e.Expires = &t
	}
	return e
}

// listForwarding is GET /forwarding.
func (s *Server) listForwarding(w http.ResponseWriter, r *http.Request, c *caller) error {
	rules, err := s.Accounts.ListForwarding(r.Context(), c.account.Address)
	if err != nil {
		return err
	}
	out := []forwardEntry{}
	for _, f := range rules {
		out = append(out, forwardOf(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"forwarding": out})
	return nil
}

type forwardRequest struct {
	Target   string `json:"target"`
	KeepCopy *bool  `json:"keep_copy"`
}

// addForwarding is POST /forwarding (step-up). A target outside the
// hosted domains starts pending: it gets a message with a link, and
// nothing is forwarded to it before it follows it.
func (s *Server) addForwarding(w http.ResponseWriter, r *http.Request, c *caller) error {
	var q forwardRequest
	if err := decode(r, &q, false); err != nil {
		return err
	}
	if err := text("target", q.Target, true, maxAddress); err != nil {
		return err
	}
	if q.KeepCopy == nil {
		return badRequest("keep_copy", "field \"keep_copy\" is missing: true keeps a copy in the account, false only forwards")
	}
	f, err := s.Accounts.AddForwarding(r.Context(), c.stepUp(), c.account.Address, strings.TrimSpace(q.Target), *q.KeepCopy)
	if errors.Is(err, store.ErrQuota) {
		return &apiError{status: http.StatusConflict, msg: fmt.Sprintf("an account has at most %d forwarding rules", store.MaxForwardRules)}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, forwardOf(f))
	return nil
}

// removeForwarding is DELETE /forwarding/{id}. It takes no step-up: it
// can only keep mail at home, and the owner must be able to remove a
// thief's rule at once.
func (s *Server) removeForwarding(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "the forwarding rule's")
	if err != nil {
		return err
	}
	ctx := r.Context()
	rules, err := s.Accounts.ListForwarding(ctx, c.account.Address)
	if err != nil {
		return err
	}
	notFound := &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no forwarding rule with ID %d", id)}
	if !slices.ContainsFunc(rules, func(f store.ForwardRule) bool { return f.ID == id }) {
		return notFound
	}
	err = s.Accounts.RemoveForwarding(ctx, c.stepUp(), c.account.Address, id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"removed": id})
	return nil
}
