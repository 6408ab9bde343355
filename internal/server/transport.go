package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/queue"
	"sealpost.dev/sealpost/internal/store"
)

// routingTransport delivers queued mail for hosted domains (delivery
// reports to local senders, for one) through the inbound pipeline, and
// everything else through remote.
type routingTransport struct {
	store    store.Store
	pipeline *delivery.Pipeline
	remote   queue.Transport
}

func (t *routingTransport) Deliver(ctx context.Context, req queue.Request) []queue.Result {
	_, err := t.store.GetDomain(ctx, req.Domain)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return t.remote.Deliver(ctx, req)
	case err != nil:
		return allResults(req, queue.TempFail, "4.3.0", "looking up the domain: "+err.Error())
	}
	// One pipeline run per recipient: the pipeline answers for its whole
	// envelope, so one unknown address in a shared run would fail the
	// others with it.
	out := make([]queue.Result, 0, len(req.Recipients))
	for _, rc := range req.Recipients {
		out = append(out, t.deliverLocal(ctx, req, rc))
	}
	return out
}

// deliverLocal delivers the queued message to one hosted recipient.
func (t *routingTransport) deliverLocal(ctx context.Context, req queue.Request, rc store.QueueRecipient) queue.Result {
	res := func(st queue.Status, enhanced, diag string) queue.Result {
		return queue.Result{Recipient: rc.Address, Status: st, Enhanced: enhanced, Diagnostic: diag}
	}
	if err := ctx.Err(); err != nil {
		return res(queue.TempFail, "4.4.0", "not attempted: "+err.Error())
	}
	env := &delivery.Envelope{ID: fmt.Sprintf("q%d", req.Item.ID), MailFrom: req.Item.From,
		SMTPUTF8: req.Item.SMTPUTF8, RequireTLS: req.Item.RequireTLS, BodyType: req.Item.BodyType,
		EnvID: req.Item.EnvID, Ret: req.Item.Ret,
		Recipients: []delivery.Recipient{{Address: rc.Address, Notify: rc.Notify, ORCPT: rc.ORCPT}}}
	out, err := t.pipeline.Deliver(ctx, env, queuedMessage{ctx: ctx, req: req})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return res(queue.PermFail, "5.1.1", "no such user here")
	case err != nil:
		return res(queue.TempFail, "4.3.0", err.Error())
	case out.Verdict.Action == delivery.Reject:
		return res(queue.PermFail, out.Verdict.Enhanced, out.Verdict.Text)
	case out.Verdict.Action == delivery.Defer:
		return res(queue.TempFail, out.Verdict.Enhanced, out.Verdict.Text)
	}
	return res(queue.Delivered, "2.0.0", "delivered locally")
}

func allResults(req queue.Request, st queue.Status, enhanced, diag string) []queue.Result {
	out := make([]queue.Result, len(req.Recipients))
	for i, rc := range req.Recipients {
		out[i] = queue.Result{Recipient: rc.Address, Status: st, Enhanced: enhanced, Diagnostic: diag}
	}
	return out
}

// queuedMessage reads a queued body as a delivery.Message.
type queuedMessage struct {
	ctx context.Context
	req queue.Request
}

func (m queuedMessage) Open() (io.ReadCloser, error) { return m.req.Open(m.ctx) }
func (m queuedMessage) Size() int64                  { return m.req.Item.Size }

// heldTransport keeps mail for other servers in the queue when outbound
// delivery is off (queue.deliver = false, as in `sealpost dev`).
type heldTransport struct{}

func (heldTransport) Deliver(ctx context.Context, req queue.Request) []queue.Result {
	return allResults(req, queue.TempFail, "4.3.2", "outbound delivery is off (queue.deliver = false); kept in the queue")
}
