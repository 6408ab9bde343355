// Package delivery is Sealpost's inbound pipeline: what happens to a
// message between the end of DATA and the reply. Checks run first (hooks:
// authentication results and filtering plug in here, and may reject, defer,
// leave out header fields (those that falsely claim our checks),
// add header fields or file the message into another folder, for all
// recipients or, through Verdict.ForAccount, for each local account, and
// have the stored copies rewritten, e.g. with a warning at the top of the
// body); then each
// recipient is resolved through accounts, their forwarding rules, aliases
// and catch-alls, trace fields are added, and the message is stored
// durably in the mailboxes of local accounts and queued for forwarding
// targets outside. Only when that has returned may the session answer 250.
//
// Mail loops are stopped (RFC 5321 §6.3): more than MaxHops Received
// fields, or a Delivered-To field naming the account being delivered to,
// rejects the message.
//
// Forwarded copies can be sealed with ARC (a Sealer, package mailauth),
// and their reverse path rewritten with the Sender Rewriting Scheme (a
// SenderRewriter, package srs) into an address of the domain whose alias
// forwarded them, so that they pass SPF at the receiver; the null sender
// and senders in hosted domains are kept. Mail to an account with an
// active forwarding rule takes the same path as mail to an alias with an
// outside target, SRS-rewritten into an address of the account's domain,
// unless that account's verdict files it into Junk: spam does not follow
// forwarding rules, it stays in the account's Junk folder (copy kept or
// not), as the large providers do, so that Sealpost's addresses do not
// send spam on under their own name.
package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
)

// MaxHops is the most Received fields a message may carry (RFC 5321 §6.3
// asks for at least 100).
const MaxHops = 100

// Envelope is what the SMTP session knows about a message.
type Envelope struct {
	// ID names the transaction in logs and in the Received field.
	ID         string
	MailFrom   string // reverse path; "" is the null sender
	Recipients []Recipient
	RemoteIP   netip.Addr
	// Helo is the name the client gave in HELO or EHLO.
	Helo string
	// Received is the complete Received field the session composed,
	// without the trailing CRLF (RFC 5321 §4.4).
	Received string
	// Account is the authenticated submitter's account ID, 0 for mail from
	// other servers.
	Account int64
	// Local keeps the message at home: the accounts' forwarding rules are
	// not followed (account.Service.ResolveLocal). Security alerts about
	// an account are delivered so, lest a thief's forward take them away.
	Local      bool
	SMTPUTF8   bool
	RequireTLS bool
	BodyType   string
	EnvID      string
	Ret        string
	// Auth is what the mail-authentication hook found, for the hooks
	// after it; nil when the message was not checked (mail of our own
	// users, mail the queue hands back for local delivery).
	Auth *Auth
}

// Auth summarises the authentication of a message (SPF, DKIM, DMARC,
// ARC) in plain values, so that later hooks need not know the packages
// that found them. Results are the lower-case words of
// Authentication-Results (RFC 8601): "pass", "fail", "none" ...
type Auth struct {
	SPF       string // result for MAIL FROM (or HELO for the null sender)
	SPFDomain string // the domain SPF checked
	// DKIM are the domains (d=) of the signatures that passed and cover
	// the whole body.
	DKIM       []string
	DMARC      string // DMARC result; "" when DMARC was not evaluated
	FromDomain string // the RFC5322.From domain DMARC evaluated
	// Policy is what the From domain's DMARC record asks for it (p=, or
	// sp= or np= where those apply): "none", "quarantine", "reject"; ""
	// without a usable record. Disposition is the policy left after pct
	// sampling.
	Policy, Disposition string
	// Aligned is the DMARC-aligned identifier that passed: the DKIM d= or
	// the SPF domain; "" when none did.
	Aligned string
	// TrustedARC names the trusted forwarder whose ARC chain says DMARC
	// passed before it forwarded the message; Exempted the local exemption
	// that spared a DMARC failure.
	TrustedARC, Exempted string
}

// Recipient is one RCPT TO with its DSN parameters.
type Recipient struct {
	Address string
	Notify  string
	ORCPT   string
}

// Message is a received message, spooled so that it can be read several
// times (by the checks, then by the store).
type Message interface {
	Open() (io.ReadCloser, error)
	Size() int64
}

// InMemory is a Message that may be held in memory, and says so: a reader
// then uses its bytes where they lie instead of copying them through a
// read buffer. Bytes returns the whole message, which is not to be
// changed, or nil when the message is not in memory after all (a spool
// moved to a file): then, as for an empty one, it is read with Open.
type InMemory interface {
	Message
	Bytes() []byte
}

// Bytes returns msg's bytes when it is held in memory (InMemory), or nil.
func Bytes(msg Message) []byte {
	if m, ok := msg.(InMemory); ok {
		return m.Bytes()
	}
	return nil
}

// Action is what a Verdict decides.
type Action int

const (
	Accept Action = iota
	Reject        // 5xx: the sender gets a permanent failure
	Defer         // 4xx: the sender tries again later
)

// Verdict is the outcome of the checks, and of the pipeline.
type Verdict struct {
	Action Action
	// Code, Enhanced and Text are the SMTP reply for Reject and Defer.
	Code     int
	Enhanced string
	Text     string
	// Folder is the special-use attribute of the mailbox to file into
	// (e.g. `\Junk`); "" means INBOX.
	Folder string
	// Headers are header fields to add at the top, each "Name: value"
	// without CRLF.
	Headers []string
	// Drop lists header fields of the message, by position (0 for the
	// first), to leave out when it is stored or forwarded: fields that
	// claim to come from us but arrived from outside.
	Drop []int
	// Reason says why, for the log.
	Reason string
	// ForAccount, when set, decides for one local account, before its
	// copy is stored: the Folder it returns (when not "") replaces the
	// one above, its Headers are added after these, and its Rewrite (when
	// set) replaces the one above; its Action is ignored (the message was
	// accepted for all recipients). An error is logged and the copy
	// stored as the message-level verdict says. It lets a hook carry
	// what it found for the whole message into the per-account decision
	// (a per-user classifier, the user's correspondents).
	ForAccount func(ctx context.Context, account string) (Verdict, error)
	// Rewrite, when set, gives the message to store in local mailboxes in
	// place of the one received, e.g. with a warning at the top of its
	// body. It reads the received message, with the Drop fields already
	// left out and without our trace fields, and returns the message to
	// store; the reader it returns must not read msg after Rewrite
	// returned (msg is closed then). An error stores the message as
	// received. Forwarded copies
	// are never rewritten: that would break their DKIM signatures.
	Rewrite func(msg io.Reader) (io.Reader, error)
}

// Sealer seals forwarded messages. SealForward reads the message as it
// will be forwarded (our trace fields included), as often as it needs,
// through open, and returns the header fields to put on top of it; ""
// leaves it as it is. added are the fields the hooks added (among them
// our Authentication-Results).
type Sealer interface {
	SealForward(ctx context.Context, env *Envelope, open func() (io.ReadCloser, error), added []string) (string, error)
}

// SenderRewriter rewrites the reverse path of a forwarded message into an
// address of ourDomain (SRS, package srs). It returns the null sender and
// senders in ourDomain as they are; an error means the sender cannot be
// rewritten and is kept.
type SenderRewriter interface {
	Forward(sender, ourDomain string) (string, error)
}

// Hook is a check between DATA and storage.
type Hook interface {
	Check(ctx context.Context, env *Envelope, msg Message) (Verdict, error)
}

// Pipeline delivers received messages.
type Pipeline struct {
	Store    store.Store
	Accounts *account.Service
	Hooks    []Hook
	// Queued is called after a message was queued for forwarding, to wake
	// the outbound queue; may be nil.
	Queued func()
	// Changed is called with each mailbox a message was stored in, so that
	// IMAP sessions announce it at once; may be nil.
	Changed func(mailboxID int64)
	// Sealer, when set, adds an ARC set (RFC 8617) to the messages the
	// pipeline forwards to outside addresses, so that their receivers can
	// trust the results of our checks.
	Sealer Sealer
	// Rewriter, when set, rewrites the reverse path of the messages the
	// pipeline forwards to outside addresses (SRS).
	Rewriter SenderRewriter
	// Received, when set, is called after a message from outside was
	// stored for an account, with its envelope sender, so that outbound
	// abuse control knows the sender as a correspondent.
	Received func(ctx context.Context, accountID int64, sender string)
	Logger   *slog.Logger
}

// Outcome says where a delivered message went.
type Outcome struct {
	Verdict   Verdict
	Delivered []string // local accounts
	Forwarded []string // outside targets, queued
	QueueID   int64
}

// Deliver runs the checks and stores the message. A nil error with
// Verdict.Action Accept means the message is durable and the session may
// answer 250. Reject and Defer carry the reply to send. An error means the
// message could not be stored and the session must answer with a temporary
// failure.
func (p *Pipeline) Deliver(ctx context.Context, env *Envelope, msg Message) (Outcome, error) {
	log := p.log().With("id", env.ID)
	v, err := p.check(ctx, env, msg)
	if err != nil {
		return Outcome{}, err
	}
	if v.Action != Accept {
		log.Info("message refused by a check", "action", v.Action, "reason", v.Reason)
		return Outcome{Verdict: v}, nil
	}
	seen, err := scanTrace(msg)
	if err != nil {
		return Outcome{}, err
	}
	if seen.hops > MaxHops {
		return Outcome{Verdict: reject(554, "5.4.6", "too many hops, a mail loop?", "loop: %d Received fields", seen.hops)}, nil
	}

	local, external, forwardedBy, via, err := p.route(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	verdicts := make(map[string]Verdict, len(local))
	for _, acct := range local {
		verdicts[acct] = p.forAccount(ctx, env, v, acct)
	}
	local, external = p.holdJunk(ctx, env, v, local, external, forwardedBy, verdicts)
	for _, acct := range local {
		if seen.deliveredTo[strings.ToLower(acct)] {
			return Outcome{Verdict: reject(554, "5.4.6", "mail forwarding loop for "+acct, "loop: Delivered-To %s", acct)}, nil
		}
	}

	out := Outcome{Verdict: v}
	trace := topFields(env, v.Headers)
	// Once one copy is stored, the sender must get 250: a 4xx would make it
	// send again to everyone. Accounts whose copy failed are retried from
	// the queue, with the outside targets, in one durable write.
	var retry []string
	var lastErr error
	for _, acct := range local {
		av := verdicts[acct]
		if err := p.deliverLocal(ctx, env, msg, acct, av, topFields(env, av.Headers)); err != nil {
			log.Warn("local delivery failed", "account", acct, "err", err)
			retry, lastErr = append(retry, acct), err
			continue
		}
		out.Delivered = append(out.Delivered, acct)
	}
	if len(out.Delivered) == 0 && len(retry) > 0 && len(external) == 0 {
		// Nothing is stored: the sender's retry duplicates nothing.
		if errors.Is(lastErr, store.ErrQuota) {
			return Outcome{Verdict: Verdict{Action: Defer, Code: 452, Enhanced: "4.2.2",
				Text: "mailbox full", Reason: "quota"}}, nil
		}
		return out, fmt.Errorf("delivering to %v: %w", retry, lastErr)
	}
	if queued := append(external, retry...); len(queued) > 0 {
		from := env.MailFrom
		if len(external) > 0 {
			// Accounts retried with the outside targets share the item and
			// so its reverse path; a reply to it still reaches the sender.
			if from, err = p.rewriteSender(ctx, env, via); err != nil {
				return out, err
			}
		}
		id, err := p.forward(ctx, env, msg, v, from, queued, trace)
		if err != nil {
			return out, fmt.Errorf("queueing for %v: %w", queued, err)
		}
		out.Forwarded, out.QueueID = queued, id
	}
	log.Info("delivered", "from", env.MailFrom, "local", out.Delivered, "forwarded", out.Forwarded,
		"folder", v.Folder, "size", msg.Size())
	return out, nil
}

// topFields returns the fields put on top of a stored or forwarded
// message: the session's Received field and the hooks' fields, each line
// ended by CRLF.
func topFields(env *Envelope, headers []string) string {
	var b strings.Builder
	if env.Received != "" {
		b.WriteString(env.Received + "\r\n")
	}
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	return b.String()
}

// forAccount returns the verdict for one local account's copy: v with
// what the hooks decide for that account.
func (p *Pipeline) forAccount(ctx context.Context, env *Envelope, v Verdict, acct string) Verdict {
	if v.ForAccount == nil {
		return v
	}
	av, err := v.ForAccount(ctx, acct)
	if err != nil {
		p.log().Warn("per-account check failed", "id", env.ID, "account", acct, "err", err)
		return v
	}
	return merge(v, av)
}

// merge returns v with a later verdict's folder, header fields and
// rewrite applied.
func merge(v, later Verdict) Verdict {
	v.Headers = append(slices.Clip(v.Headers), later.Headers...)
	if later.Folder != "" {
		v.Folder, v.Reason = later.Folder, later.Reason
	}
	if later.Rewrite != nil {
		v.Rewrite = later.Rewrite
	}
	return v
}

// chainAccount returns a ForAccount that asks first, then second.
func chainAccount(first, second func(context.Context, string) (Verdict, error)) func(context.Context, string) (Verdict, error) {
	if first == nil {
		return second
	}
	return func(ctx context.Context, acct string) (Verdict, error) {
		a, err := first(ctx, acct)
		if err != nil {
			return Verdict{}, err
		}
		b, err := second(ctx, acct)
		if err != nil {
			return Verdict{}, err
		}
		return merge(a, b), nil
	}
}

func (p *Pipeline) log() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// check runs the hooks. The first that rejects or defers decides; header
// fields add up; a later folder overrides an earlier one.
func (p *Pipeline) check(ctx context.Context, env *Envelope, msg Message) (Verdict, error) {
	var v Verdict
	for _, h := range p.Hooks {
		hv, err := h.Check(ctx, env, msg)
		if err != nil {
			return Verdict{}, fmt.Errorf("check: %w", err)
		}
		if hv.Action != Accept {
			return hv, nil
		}
		v.Headers = append(v.Headers, hv.Headers...)
		v.Drop = append(v.Drop, hv.Drop...)
		if hv.Folder != "" {
			v.Folder, v.Reason = hv.Folder, hv.Reason
		}
		if hv.Rewrite != nil {
			v.Rewrite = hv.Rewrite
		}
		if hv.ForAccount != nil {
			v.ForAccount = chainAccount(v.ForAccount, hv.ForAccount)
		}
	}
	return v, nil
}

// holdJunk keeps spam from following forwarding rules: an outside target
// that an account's forwarding rule leads to (forwardedBy) is dropped when
// that account's verdict files the message into Junk, and the account
// gets the message in its Junk folder instead, even when its rules keep no
// copy, so that nothing is lost and its owner can still see it. Forwarding
// spam would spread it under our name and cost our addresses their
// reputation with the receivers. Targets of aliases alone have no account
// to keep the message and are forwarded as the message-level verdict says.
func (p *Pipeline) holdJunk(ctx context.Context, env *Envelope, v Verdict, local, external []string, forwardedBy map[string]string, verdicts map[string]Verdict) ([]string, []string) {
	if len(forwardedBy) == 0 {
		return local, external
	}
	kept := external[:0:0]
	for _, target := range external {
		acct, ok := forwardedBy[target]
		if !ok {
			kept = append(kept, target)
			continue
		}
		av, known := verdicts[acct]
		if !known {
			av = p.forAccount(ctx, env, v, acct)
			verdicts[acct] = av
		}
		if av.Folder != `\Junk` {
			kept = append(kept, target)
			continue
		}
		if !known {
			local = append(local, acct)
		}
		p.log().Info("not forwarding junk", "id", env.ID, "account", acct, "to", target, "reason", av.Reason)
	}
	return local, kept
}

// route resolves the recipients to local accounts and outside targets,
// each once, and names the account whose forwarding rule leads to each
// outside target that one does (forwardedBy). via is the domain of the
// first recipient that leads outside: the domain that forwards.
func (p *Pipeline) route(ctx context.Context, env *Envelope) (local, external []string, forwardedBy map[string]string, via string, err error) {
	seen := map[string]bool{}
	for _, r := range env.Recipients {
		resolve := p.Accounts.Resolve
		if env.Local {
			resolve = p.Accounts.ResolveLocal
		}
		res, err := resolve(ctx, r.Address)
		if err != nil {
			return nil, nil, nil, "", fmt.Errorf("resolving %s: %w", r.Address, err)
		}
		for target, acct := range res.ForwardedBy {
			if _, ok := forwardedBy[target]; !ok {
				if forwardedBy == nil {
					forwardedBy = make(map[string]string)
				}
				forwardedBy[target] = acct
			}
		}
		if via == "" && len(res.External) > 0 {
			via = r.Address[strings.LastIndexByte(r.Address, '@')+1:]
		}
		for _, a := range res.Accounts {
			if !seen[a] {
				seen[a] = true
				local = append(local, a)
			}
		}
		for _, a := range res.External {
			if !seen[a] {
				seen[a] = true
				external = append(external, a)
			}
		}
	}
	return local, external, forwardedBy, via, nil
}

// rewriteSender returns the reverse path for mail forwarded through the
// domain via: the SRS address when a Rewriter is set, the sender as it is
// when it is null, in a hosted domain (whose SPF record names us), or
// cannot be rewritten.
func (p *Pipeline) rewriteSender(ctx context.Context, env *Envelope, via string) (string, error) {
	from := env.MailFrom
	at := strings.LastIndexByte(from, '@')
	if p.Rewriter == nil || from == "" || at < 0 || via == "" {
		return from, nil
	}
	if _, err := p.Store.GetDomain(ctx, strings.ToLower(from[at+1:])); err == nil {
		return from, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("rewriting the sender: %w", err)
	}
	srs, err := p.Rewriter.Forward(from, via)
	if err != nil {
		p.log().Warn("forwarding with the original sender", "id", env.ID, "from", from, "err", err)
		return from, nil
	}
	return srs, nil
}

// deliverLocal stores one copy in the account's mailbox, with the fields
// that differ per account: Return-Path and Delivered-To.
func (p *Pipeline) deliverLocal(ctx context.Context, env *Envelope, msg Message, addr string, v Verdict, trace string) error {
	acct, err := p.Store.GetAccount(ctx, addr)
	if err != nil {
		return err
	}
	mbox, err := p.mailbox(ctx, acct.ID, v.Folder)
	if err != nil {
		return err
	}
	content := p.rewrite(env, v, msg)
	if content == nil {
		body, err := msg.Open()
		if err != nil {
			return err
		}
		defer body.Close()
		content = dropFields(body, v.Drop)
	}
	prefix := "Return-Path: <" + env.MailFrom + ">\r\nDelivered-To: " + addr + "\r\n" + trace
	if _, err := p.Store.Deliver(ctx, io.MultiReader(strings.NewReader(prefix), content), []store.Target{{MailboxID: mbox.ID}}); err != nil {
		return err
	}
	if p.Changed != nil {
		p.Changed(mbox.ID)
	}
	if p.Received != nil && env.Account == 0 && env.MailFrom != "" {
		p.Received(ctx, acct.ID, env.MailFrom)
	}
	return nil
}

// rewrite returns the message to store: v.Rewrite's, or nil when there
// is none or it fails (then the received one is stored).
func (p *Pipeline) rewrite(env *Envelope, v Verdict, msg Message) io.Reader {
	if v.Rewrite == nil {
		return nil
	}
	body, err := msg.Open()
	if err != nil {
		p.log().Warn("storing the message as received: reading it for the rewrite", "id", env.ID, "err", err)
		return nil
	}
	defer body.Close()
	r, err := v.Rewrite(dropFields(body, v.Drop))
	if err != nil {
		p.log().Warn("storing the message as received: rewriting failed", "id", env.ID, "err", err)
		return nil
	}
	return r
}

// mailbox finds the account's mailbox with the special-use attribute, or
// INBOX.
func (p *Pipeline) mailbox(ctx context.Context, accountID int64, specialUse string) (store.Mailbox, error) {
	if specialUse != "" {
		boxes, err := p.Store.ListMailboxes(ctx, accountID)
		if err != nil {
			return store.Mailbox{}, err
		}
		for _, b := range boxes {
			if strings.EqualFold(b.SpecialUse, specialUse) {
				return b, nil
			}
		}
	}
	return p.Store.GetMailbox(ctx, accountID, "INBOX")
}

// forward queues the message for the outside targets of aliases.
func (p *Pipeline) forward(ctx context.Context, env *Envelope, msg Message, v Verdict, from string, targets []string, trace string) (int64, error) {
	seal, err := p.seal(ctx, env, msg, v, trace)
	if err != nil {
		return 0, err
	}
	body, err := msg.Open()
	if err != nil {
		return 0, err
	}
	defer body.Close()
	item := store.NewQueueItem{From: from, RequireTLS: env.RequireTLS, SMTPUTF8: env.SMTPUTF8,
		BodyType: env.BodyType, EnvID: env.EnvID, Ret: env.Ret}
	for _, t := range targets {
		item.Recipients = append(item.Recipients, store.NewQueueRecipient{Address: t})
	}
	it, err := p.Store.Enqueue(ctx, io.MultiReader(strings.NewReader(seal+trace), dropFields(body, v.Drop)), item)
	if err != nil {
		return 0, err
	}
	if p.Queued != nil {
		p.Queued()
	}
	return it.ID, nil
}

// seal returns the Sealer's fields for the message as it will be
// forwarded. A failure to seal is logged and the message goes unsealed:
// the seal helps its receivers, and its absence loses nothing.
func (p *Pipeline) seal(ctx context.Context, env *Envelope, msg Message, v Verdict, trace string) (string, error) {
	if p.Sealer == nil {
		return "", nil
	}
	open := func() (io.ReadCloser, error) {
		body, err := msg.Open()
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(strings.NewReader(trace), dropFields(body, v.Drop)), body}, nil
	}
	fields, err := p.Sealer.SealForward(ctx, env, open, v.Headers)
	if err != nil {
		p.log().Warn("sealing a forwarded message with ARC", "id", env.ID, "err", err)
		return "", nil
	}
	return fields, nil
}

// maxHeaderScan bounds how much of a message is read looking for trace
// fields.
const maxHeaderScan = 1 << 20

type traceFields struct {
	hops        int
	deliveredTo map[string]bool
}

// scanTrace counts Received fields and collects Delivered-To addresses in
// the message header.
func scanTrace(msg Message) (traceFields, error) {
	t := traceFields{deliveredTo: map[string]bool{}}
	body, err := msg.Open()
	if err != nil {
		return t, err
	}
	defer body.Close()
	r := bufio.NewReader(io.LimitReader(body, maxHeaderScan))
	for {
		line, err := r.ReadSlice('\n')
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 && (len(line) > 0 || err != nil) {
			return t, nil // end of header
		}
		name, value, ok := bytes.Cut(trimmed, []byte(":"))
		if ok && line[0] != ' ' && line[0] != '\t' {
			switch strings.ToLower(string(name)) {
			case "received":
				t.hops++
			case "delivered-to":
				t.deliveredTo[strings.ToLower(strings.TrimSpace(string(value)))] = true
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// An overlong line: skip the rest of it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
		}
		if err != nil {
			return t, nil
		}
	}
}

func reject(code int, enhanced, text, reason string, args ...any) Verdict {
	return Verdict{Action: Reject, Code: code, Enhanced: enhanced, Text: text, Reason: fmt.Sprintf(reason, args...)}
}

// Spool is a Message held in memory.
type Spool []byte

// Open implements Message.
func (s Spool) Open() (io.ReadCloser, error) {
	r := new(spoolReader)
	r.r.Reset(s)
	return r, nil
}

// spoolReader is a Spool open for reading: io.NopCloser(bytes.NewReader)
// in one allocation instead of two (each inbound check opens its message),
// with the same methods: Read, WriteTo (which io.NopCloser keeps) and a
// Close that does nothing.
type spoolReader struct{ r bytes.Reader }

func (s *spoolReader) Read(p []byte) (int, error)         { return s.r.Read(p) }
func (s *spoolReader) WriteTo(w io.Writer) (int64, error) { return s.r.WriteTo(w) }
func (*spoolReader) Close() error                         { return nil }

// Size implements Message.
func (s Spool) Size() int64 { return int64(len(s)) }

// Bytes implements InMemory: s itself.
func (s Spool) Bytes() []byte { return s }
