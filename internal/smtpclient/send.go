package smtpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/smtp"
)

// Envelope is what Send needs besides the message text.
type Envelope struct {
	// From is the reverse-path, "" for the null path of a bounce.
	From       string
	Recipients []Recipient
	// Size is the message size in octets, declared with SIZE; 0 for
	// unknown.
	Size int64
	// BodyType is "", "7BIT", "8BITMIME" or "BINARYMIME" (RFC 6152,
	// RFC 3030).
	BodyType string
	// SMTPUTF8 says the envelope or the header holds UTF-8 (RFC 6531).
	SMTPUTF8 bool
	// RequireTLS asks for REQUIRETLS (RFC 8689).
	RequireTLS bool
	// Ret is RET: "", "FULL" or "HDRS" (RFC 3461 section 4.3).
	Ret string
	// EnvID is ENVID, decoded; it is sent as xtext (RFC 3461 section 4.4).
	EnvID string
}

// Recipient is one forward-path with its DSN parameters.
type Recipient struct {
	Address string
	// Notify is NOTIFY (RFC 3461 section 4.1): "", "NEVER", or a
	// comma-separated list of SUCCESS, FAILURE and DELAY.
	Notify string
	// ORCPT is ORCPT (RFC 3461 section 4.2) as "type;address", the address
	// decoded; it is sent as xtext.
	ORCPT string
}

// Send runs one mail transaction: MAIL, RCPT for each recipient (pipelined
// when the server offers PIPELINING, RFC 2920), and, if any recipient was
// accepted, DATA with the text read from body, which must use CRLF or LF
// line endings and is dot-stuffed on the way.
//
// rcptErrs has one entry per recipient of env, in order: nil when the
// server took responsibility for the message for that recipient, otherwise
// an *Error with the RCPT reply, or the transaction's error. err is the
// error that ended the transaction as a whole (refused MAIL or DATA, a
// local refusal, a failed connection); it is nil when the transaction ran
// to its end, even if every recipient was refused. After an err without a
// reply the session is unusable.
func (c *Client) Send(ctx context.Context, env Envelope, body io.Reader) (rcptErrs []error, err error) {
	rcptErrs = make([]error, len(env.Recipients))
	fail := func(err error) ([]error, error) {
		for i := range rcptErrs {
			if rcptErrs[i] == nil {
				rcptErrs[i] = err
			}
		}
		return rcptErrs, err
	}
	if c.broken != nil {
		return fail(c.broken)
	}
	mail, lerr := c.mailCommand(env)
	if lerr != nil {
		return fail(lerr)
	}
	var lines []string
	var sent []int // indexes of the recipients whose RCPT is in lines
	for i, rc := range env.Recipients {
		l, lerr := c.rcptCommand(rc, env.SMTPUTF8)
		if lerr != nil {
			rcptErrs[i] = lerr
			continue
		}
		lines = append(lines, l)
		sent = append(sent, i)
	}
	if len(sent) == 0 {
		return rcptErrs, nil
	}
	accepted, err := c.mailRcpt(ctx, mail, lines, sent, rcptErrs)
	if err != nil {
		return fail(err)
	}
	if accepted == 0 {
		// Keep the session usable for another transaction.
		_ = c.Reset(ctx)
		return rcptErrs, nil
	}
	if err := c.data(ctx, body); err != nil {
		return fail(err)
	}
	return rcptErrs, nil
}

// mailRcpt sends MAIL and the RCPT lines and reads their replies, filling
// rcptErrs for refused recipients. It returns how many were accepted.
func (c *Client) mailRcpt(ctx context.Context, mail string, lines []string, sent []int, rcptErrs []error) (int, error) {
	pipelining := c.ext.Has("PIPELINING")
	if pipelining {
		if err := c.send(ctx, "MAIL", append([]string{mail}, lines...)...); err != nil {
			return 0, err
		}
	} else if err := c.send(ctx, "MAIL", mail); err != nil {
		return 0, err
	}
	rep, _, err := c.read(ctx, "MAIL", c.to.Mail)
	if err != nil {
		return 0, err
	}
	var mailErr error
	if rep.Code != 250 {
		mailErr = &Error{Op: "MAIL", Reply: rep}
		if !pipelining {
			return 0, mailErr
		}
	}
	accepted := 0
	for k, i := range sent {
		if !pipelining {
			if err := c.send(ctx, "RCPT", lines[k]); err != nil {
				return 0, err
			}
		}
		// With pipelining every RCPT is answered, even after a refused
		// MAIL; the replies are read to stay in step.
		rep, _, err := c.read(ctx, "RCPT", c.to.Rcpt)
		if err != nil {
			return 0, err
		}
		switch {
		case mailErr != nil:
		case rep.Code == 250 || rep.Code == 251:
			accepted++
		default:
			rcptErrs[i] = &Error{Op: "RCPT", Reply: rep}
		}
	}
	return accepted, mailErr
}

// data sends DATA and the message text and reads the final reply.
func (c *Client) data(ctx context.Context, body io.Reader) error {
	rep, _, err := c.cmd(ctx, "DATA", c.to.DataInit, "DATA")
	if err != nil {
		return err
	}
	if rep.Code != 354 {
		return &Error{Op: "DATA", Reply: rep}
	}
	if err := c.writeText(ctx, body); err != nil {
		return err
	}
	rep, _, err = c.read(ctx, "DATA", c.to.DataTerm)
	if err != nil {
		return err
	}
	if rep.Code != 250 {
		return &Error{Op: "DATA", Reply: rep}
	}
	return nil
}

// writeText copies body as dot-stuffed text, each block bounded by the
// data block timeout. Any failure leaves the session out of step: no end
// marker may follow a partial message.
func (c *Client) writeText(ctx context.Context, body io.Reader) error {
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	dw := smtp.NewDataWriter(c.w)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			c.blockDeadline(ctx)
			if _, err := dw.Write(buf[:n]); err != nil {
				return c.textError(ctx, err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			c.broken = &Error{Op: "DATA", Err: fmt.Errorf("reading the message: %w", rerr)}
			return c.broken
		}
	}
	c.blockDeadline(ctx)
	if err := dw.Close(); err != nil {
		return c.textError(ctx, err)
	}
	return nil
}

func (c *Client) blockDeadline(ctx context.Context) {
	dl := time.Now().Add(c.to.DataBlock)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = c.conn.SetDeadline(dl)
	// Checked after setting: a cancellation that fired before must not
	// be undone by the new deadline.
	if ctx.Err() != nil {
		_ = c.conn.SetDeadline(time.Unix(1, 0))
	}
}

func (c *Client) textError(ctx context.Context, err error) error {
	if errors.Is(err, smtp.ErrMessageBareCR) {
		// The message itself is at fault: no server would take it, now
		// or later (RFC 5321 section 2.3.8).
		e := local("DATA", 554, "5.6.0", "message holds a bare CR")
		e.Err = err
		c.broken = e
		return e
	}
	c.broken = &Error{Op: "DATA", Err: c.cause(ctx, err)}
	return c.broken
}

// mailCommand builds the MAIL command line, or refuses the message when the
// server lacks an extension it needs.
func (c *Client) mailCommand(env Envelope) (string, error) {
	from := ""
	if env.From != "" {
		p, err := smtp.ParseMailbox(env.From, env.SMTPUTF8)
		if err != nil {
			return "", local("MAIL", 553, "5.1.7", fmt.Sprintf("bad sender address %q", env.From))
		}
		from = p.String()
	}
	var ps smtp.Params
	if env.RequireTLS {
		// RFC 8689 section 4.2.1: only over TLS, and only to a server
		// that announced REQUIRETLS after it.
		if c.tlsState == nil {
			return "", local("MAIL", 550, "5.7.10", "REQUIRETLS message needs a TLS connection")
		}
		if !c.ext.Has("REQUIRETLS") {
			return "", local("MAIL", 550, "5.7.30", "REQUIRETLS support required but not offered by the server")
		}
		ps = append(ps, smtp.Param{Keyword: "REQUIRETLS"})
	}
	if env.Size > 0 && c.ext.Has("SIZE") {
		if limit, _ := c.ext.Size(); limit > 0 && env.Size > limit {
			return "", local("MAIL", 552, "5.3.4", fmt.Sprintf("message size %d exceeds the server's limit of %d", env.Size, limit))
		}
		ps = append(ps, smtp.Param{Keyword: "SIZE", Value: strconv.FormatInt(env.Size, 10)})
	}
	switch strings.ToUpper(env.BodyType) {
	case "":
	case "7BIT":
		if c.ext.Has("8BITMIME") {
			ps = append(ps, smtp.Param{Keyword: "BODY", Value: "7BIT"})
		}
	case "8BITMIME":
		if !c.ext.Has("8BITMIME") {
			return "", local("MAIL", 554, "5.6.3", "8-bit message and the server does not offer 8BITMIME")
		}
		ps = append(ps, smtp.Param{Keyword: "BODY", Value: "8BITMIME"})
	default:
		return "", local("MAIL", 554, "5.6.3", fmt.Sprintf("body type %q cannot be sent", env.BodyType))
	}
	if env.SMTPUTF8 {
		if !c.ext.Has("SMTPUTF8") {
			return "", local("MAIL", 553, "5.6.7", "SMTPUTF8 required but not offered by the server")
		}
		ps = append(ps, smtp.Param{Keyword: "SMTPUTF8"})
	}
	if c.ext.Has("DSN") {
		switch ret := strings.ToUpper(env.Ret); ret {
		case "FULL", "HDRS":
			ps = append(ps, smtp.Param{Keyword: "RET", Value: ret})
		}
		if env.EnvID != "" {
			ps = append(ps, smtp.Param{Keyword: "ENVID", Value: smtp.EncodeXtext(env.EnvID)})
		}
	}
	return "MAIL FROM:<" + from + ">" + ps.String(), nil
}

// rcptCommand builds one RCPT command line. DSN parameters are sent only to
// a server that offers DSN (RFC 3461 section 4).
func (c *Client) rcptCommand(rc Recipient, utf8 bool) (string, error) {
	p, err := smtp.ParseMailbox(rc.Address, utf8)
	if err != nil {
		return "", local("RCPT", 553, "5.1.3", fmt.Sprintf("bad recipient address %q", rc.Address))
	}
	var ps smtp.Params
	if c.ext.Has("DSN") {
		if n := strings.ToUpper(rc.Notify); validNotify(n) {
			ps = append(ps, smtp.Param{Keyword: "NOTIFY", Value: n})
		}
		if typ, addr, ok := strings.Cut(rc.ORCPT, ";"); ok && validAtom(typ) && addr != "" {
			ps = append(ps, smtp.Param{Keyword: "ORCPT", Value: typ + ";" + smtp.EncodeXtext(addr)})
		}
	}
	return "RCPT TO:<" + p.String() + ">" + ps.String(), nil
}

func validNotify(n string) bool {
	if n == "" {
		return false
	}
	for w := range strings.SplitSeq(n, ",") {
		switch w {
		case "NEVER", "SUCCESS", "FAILURE", "DELAY":
		default:
			return false
		}
	}
	return true
}

func validAtom(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
