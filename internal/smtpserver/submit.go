package smtpserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/smtp"
	"sealpost.dev/sealpost/internal/store"
)

// maxSubmitHeader bounds the header read to check a submission.
const maxSubmitHeader = 256 << 10

// submit handles a message from an authenticated user: its From (and
// Sender) must be the user's, Message-ID and Date are added when missing
// (RFC 6409 §8). Mail only for local recipients is delivered at once;
// mail with any outside recipient is queued whole, local recipients
// included, in one durable write, so that no failure can leave part of
// the recipients served and the client retrying for all.
func (ss *session) submit() {
	h, err := ss.readHeader()
	if err != nil {
		ss.fail(550, "5.6.0", "cannot parse the message header: "+err.Error())
		return
	}
	if r := ss.checkAuthorFields(h); r != nil {
		ss.failReply(r)
		return
	}
	var add []string
	if h.Get("Message-Id") == "" {
		add = append(add, "Message-ID: <"+randomID()+"@"+ss.srv.cfg.Hostname+">")
	}
	if h.Get("Date") == "" {
		add = append(add, "Date: "+time.Now().Format(time.RFC1123Z))
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	sigs, err := ss.signDKIM(ctx, h, joinFields(add))
	if err != nil {
		ss.srv.log.Error("DKIM signing a submission", "session", ss.id, "err", err)
		ss.reply(451, "4.3.0", "temporary failure signing the message, try again")
		return
	}
	env := ss.envelope(ss.tx.rcpts)
	msg := &prefixed{prefix: env.Received + "\r\n" + sigs + joinFields(add), Message: ss.tx.spool}
	allLocal := true
	for _, rc := range ss.tx.rcpts {
		allLocal = allLocal && rc.local
	}
	if allLocal {
		// The trace field is already in msg; the pipeline adds only what
		// differs per recipient.
		env.Received = ""
		out, err := ss.srv.pipeline.Deliver(ctx, env, msg)
		if err != nil {
			ss.srv.log.Error("local delivery of a submission", "session", ss.id, "err", err)
			ss.reply(451, "4.3.0", "temporary failure storing the message, try again")
			return
		}
		if out.Verdict.Action != delivery.Accept {
			ss.answer(out.Verdict)
			return
		}
	} else if err := ss.enqueue(ctx, env, msg); err != nil {
		ss.srv.log.Error("queueing a submission", "session", ss.id, "err", err)
		ss.reply(451, "4.3.0", "temporary failure queueing the message, try again")
		return
	}
	ss.srv.log.Info("submitted", "session", ss.id, "account", ss.account.Address,
		"recipients", len(ss.tx.rcpts), "queued", !allLocal, "size", ss.tx.spool.Size())
	ss.reply(250, "2.0.0", "OK: queued as "+ss.id)
}

// signDKIM signs the message (the added fields, then what the client
// sent) with the active keys of its From domain and returns the
// DKIM-Signature fields. A domain without active keys signs nothing.
func (ss *session) signDKIM(ctx context.Context, h mail.Header, added string) (string, error) {
	from, err := mail.ParseAddressList(h.Get("From"))
	if err != nil || len(from) == 0 {
		return "", fmt.Errorf("no From address: %v", err)
	}
	_, domain, _ := strings.Cut(from[0].Address, "@")
	body, err := ss.tx.spool.Open()
	if err != nil {
		return "", err
	}
	defer body.Close()
	sigs, err := ss.srv.accounts.SignDKIM(ctx, domain, io.MultiReader(strings.NewReader(added), body))
	if err == nil && sigs == "" {
		ss.srv.log.Warn("no active DKIM key: the message goes unsigned", "session", ss.id, "domain", domain)
	}
	return sigs, err
}

// checkAuthorFields requires exactly one From field (RFC 5322 §3.6) whose
// addresses, like the Sender's, belong to the account.
func (ss *session) checkAuthorFields(h mail.Header) *smtp.Reply {
	if len(h["From"]) != 1 || len(h["Sender"]) > 1 {
		return &smtp.Reply{Code: 550, Enhanced: "5.6.0", Text: "the message needs exactly one From field and at most one Sender"}
	}
	from, err := mail.ParseAddressList(h.Get("From"))
	if err != nil || len(from) == 0 {
		return &smtp.Reply{Code: 550, Enhanced: "5.6.0", Text: "the message needs a valid From field"}
	}
	if s := h.Get("Sender"); s != "" {
		sender, err := mail.ParseAddress(s)
		if err != nil {
			return &smtp.Reply{Code: 550, Enhanced: "5.6.0", Text: "invalid Sender field"}
		}
		from = append(from, sender)
	}
	for _, a := range from {
		ok, err := ss.allowedSender(a.Address)
		if err != nil {
			return &smtp.Reply{Code: 451, Enhanced: "4.3.0", Text: "temporary failure checking the sender, try again"}
		}
		if !ok {
			return &smtp.Reply{Code: 550, Enhanced: "5.7.1", Text: "you may not send as " + a.Address}
		}
	}
	return nil
}

// enqueue queues the message for all its recipients; the queue delivers
// the local ones itself. When the outbound limits hold the account's mail,
// the outside recipients are queued held, and the local ones apart, ready.
func (ss *session) enqueue(ctx context.Context, env *delivery.Envelope, msg delivery.Message) error {
	if ss.srv.outbound == nil {
		return ss.enqueueFor(ctx, env, msg, ss.tx.rcpts, false)
	}
	var outside, local []recipient
	var addrs []string
	for _, rc := range ss.tx.rcpts {
		if rc.local {
			local = append(local, rc)
		} else {
			outside, addrs = append(outside, rc), append(addrs, rc.addr)
		}
	}
	d, err := ss.srv.outbound.Check(ctx, ss.account, addrs)
	if err != nil {
		return err
	}
	if !d.Hold {
		return ss.enqueueFor(ctx, env, msg, ss.tx.rcpts, false)
	}
	ss.srv.log.Info("submission held", "session", ss.id, "account", ss.account.Address,
		"recipients", len(outside), "reason", d.Reason)
	// The held copy first: should the local one fail, the client's retry
	// adds a held duplicate, which leaves nothing.
	if err := ss.enqueueFor(ctx, env, msg, outside, true); err != nil || len(local) == 0 {
		return err
	}
	return ss.enqueueFor(ctx, env, msg, local, false)
}

// enqueueFor queues the message for rcpts, held or ready.
func (ss *session) enqueueFor(ctx context.Context, env *delivery.Envelope, msg delivery.Message, rcpts []recipient, held bool) error {
	item := store.NewQueueItem{
		From: env.MailFrom, RequireTLS: env.RequireTLS, SMTPUTF8: env.SMTPUTF8,
		BodyType: env.BodyType, EnvID: env.EnvID, Ret: env.Ret, Submitter: ss.account.ID, Held: held,
	}
	for _, rc := range rcpts {
		item.Recipients = append(item.Recipients, store.NewQueueRecipient{Address: rc.addr, Notify: rc.notify, ORCPT: rc.orcpt})
	}
	body, err := msg.Open()
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := ss.srv.store.Enqueue(ctx, body, item); err != nil {
		return err
	}
	if ss.srv.queued != nil {
		ss.srv.queued()
	}
	return nil
}

// readHeader parses the header of the spooled message.
func (ss *session) readHeader() (mail.Header, error) {
	body, err := ss.tx.spool.Open()
	if err != nil {
		return nil, err
	}
	defer body.Close()
	m, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(body, maxSubmitHeader)))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("header too long or not terminated")
		}
		return nil, err
	}
	return m.Header, nil
}

func joinFields(fields []string) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f)
		b.WriteString("\r\n")
	}
	return b.String()
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// prefixed is a message with header fields put in front.
type prefixed struct {
	prefix string
	delivery.Message
}

func (p *prefixed) Open() (io.ReadCloser, error) {
	body, err := p.Message.Open()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(strings.NewReader(p.prefix), body), body}, nil
}

func (p *prefixed) Size() int64 { return int64(len(p.prefix)) + p.Message.Size() }
