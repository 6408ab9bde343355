package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/smtp"
)

// Timeouts bound the steps of a session. Zero fields take the defaults of
// DefaultTimeouts; a step also ends when its context does.
type Timeouts struct {
	Connect   time.Duration // TCP connection (Dial only)
	Greeting  time.Duration // the 220 greeting
	Command   time.Duration // EHLO, HELO, STARTTLS and its handshake, RSET
	Mail      time.Duration // reply to MAIL
	Rcpt      time.Duration // reply to each RCPT
	DataInit  time.Duration // the 354 reply to DATA
	DataBlock time.Duration // each write of the message text
	DataTerm  time.Duration // reply after the final "."
	Quit      time.Duration // reply to QUIT
}

// DefaultTimeouts returns the timeouts RFC 5321 section 4.5.3.2 recommends:
// 5 minutes for the greeting, MAIL and RCPT, 2 for DATA, 3 per data block
// and 10 for the final reply. The RFC names none for connecting, EHLO,
// STARTTLS and QUIT; Sealpost uses 30 seconds to connect, 5 minutes for
// the commands and 30 seconds for QUIT, whose reply changes nothing.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Connect:   30 * time.Second,
		Greeting:  5 * time.Minute,
		Command:   5 * time.Minute,
		Mail:      5 * time.Minute,
		Rcpt:      5 * time.Minute,
		DataInit:  2 * time.Minute,
		DataBlock: 3 * time.Minute,
		DataTerm:  10 * time.Minute,
		Quit:      30 * time.Second,
	}
}

// Scale returns t, with zero fields replaced by their defaults, multiplied
// by f: tests use a small f, operators of slow links a large one.
func (t Timeouts) Scale(f float64) Timeouts {
	t = t.withDefaults()
	for _, d := range []*time.Duration{&t.Connect, &t.Greeting, &t.Command, &t.Mail, &t.Rcpt,
		&t.DataInit, &t.DataBlock, &t.DataTerm, &t.Quit} {
		*d = time.Duration(float64(*d) * f)
	}
	return t
}

func (t Timeouts) withDefaults() Timeouts {
	def := DefaultTimeouts()
	pick := func(d, fallback time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return fallback
	}
	return Timeouts{
		Connect:   pick(t.Connect, def.Connect),
		Greeting:  pick(t.Greeting, def.Greeting),
		Command:   pick(t.Command, def.Command),
		Mail:      pick(t.Mail, def.Mail),
		Rcpt:      pick(t.Rcpt, def.Rcpt),
		DataInit:  pick(t.DataInit, def.DataInit),
		DataBlock: pick(t.DataBlock, def.DataBlock),
		DataTerm:  pick(t.DataTerm, def.DataTerm),
		Quit:      pick(t.Quit, def.Quit),
	}
}

// Options configure a Client.
type Options struct {
	// LocalName is the name sent with EHLO and HELO: this host's fully
	// qualified domain name (RFC 5321 section 4.1.1.1), or an address
	// literal. Required; "localhost" is refused, since receivers treat it
	// as a sign of a misconfigured or forged client.
	LocalName string
	// Timeouts bound the steps of the session.
	Timeouts Timeouts
	// Dial makes the connection for Dial; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o Options) check() error {
	name := o.LocalName
	if name == "" {
		return errors.New("smtpclient: Options.LocalName is required")
	}
	if strings.EqualFold(strings.TrimSuffix(name, "."), "localhost") {
		return errors.New(`smtpclient: Options.LocalName must not be "localhost"`)
	}
	if _, ok := smtp.ParseAddressLiteral(name); !ok && !smtp.ValidDomain(name) {
		return fmt.Errorf("smtpclient: Options.LocalName %q is neither a domain nor an address literal", name)
	}
	return nil
}

// Client is one SMTP session with a server. It is not safe for concurrent
// use. After an error without a reply (Error.Err set) the session is out of
// step and every further call fails: the caller closes it.
type Client struct {
	conn     net.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	name     string
	to       Timeouts
	greeting smtp.Reply
	ext      smtp.Extensions
	esmtp    bool
	tlsState *tls.ConnectionState
	broken   error
}

// Dial connects to addr ("host:port"), reads the greeting and sends EHLO
// (see Hello). The connection is closed if any of that fails.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	to := opts.Timeouts.withDefaults()
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, to.Connect)
	conn, err := dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return nil, &Error{Op: "connect", Err: err}
	}
	c, err := NewClient(conn, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := c.Hello(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// NewClient returns a Client for a connection already made. Nothing is
// read or sent until Hello.
func NewClient(conn net.Conn, opts Options) (*Client, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	return &Client{
		conn: conn,
		r:    bufio.NewReader(conn),
		w:    bufio.NewWriter(conn),
		name: opts.LocalName,
		to:   opts.Timeouts.withDefaults(),
	}, nil
}

// Hello reads the server's greeting and introduces the client with EHLO,
// falling back to HELO when the server does not know EHLO (RFC 5321
// section 3.2). A greeting other than 220 (such as 554, section 3.1) is
// returned as an *Error.
func (c *Client) Hello(ctx context.Context) error {
	rep, _, err := c.read(ctx, "greeting", c.to.Greeting)
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		c.broken = &Error{Op: "greeting", Reply: rep}
		return c.broken
	}
	c.greeting = rep
	return c.hello(ctx)
}

func (c *Client) hello(ctx context.Context) error {
	rep, lines, err := c.cmd(ctx, "EHLO", c.to.Command, "EHLO "+c.name)
	if err != nil {
		return err
	}
	if rep.Code == 250 {
		c.ext, c.esmtp = smtp.ParseEHLO(lines), true
		return nil
	}
	switch rep.Code {
	case 500, 501, 502, 504:
	default:
		return &Error{Op: "EHLO", Reply: rep}
	}
	rep, _, err = c.cmd(ctx, "HELO", c.to.Command, "HELO "+c.name)
	if err != nil {
		return err
	}
	if rep.Code != 250 {
		return &Error{Op: "HELO", Reply: rep}
	}
	c.ext, c.esmtp = smtp.Extensions{}, false
	return nil
}

// Greeting returns the server's 220 greeting.
func (c *Client) Greeting() smtp.Reply { return c.greeting }

// Extensions returns what the server announced in its last EHLO reply;
// empty after HELO.
func (c *Client) Extensions() smtp.Extensions { return c.ext }

// ESMTP reports whether the server accepted EHLO.
func (c *Client) ESMTP() bool { return c.esmtp }

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// LocalAddr returns our end of the connection, as TLS reports name it
// (RFC 8460 section 4.4, sending-mta-ip).
func (c *Client) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// TLSConnectionState returns the state of the TLS connection and true
// after a successful StartTLS.
func (c *Client) TLSConnectionState() (tls.ConnectionState, bool) {
	if c.tlsState == nil {
		return tls.ConnectionState{}, false
	}
	return *c.tlsState, true
}

// StartTLS negotiates TLS with cfg (RFC 3207), which decides how the
// server's certificate is checked: the caller sets ServerName, RootCAs or
// VerifyConnection. It then sends EHLO again, as section 4.2 requires, and
// the extensions announced before TLS are forgotten.
//
// It returns ErrNoSTARTTLS, with the session still usable in plain text,
// when the server did not offer STARTTLS; an *Error carrying the reply when
// it refused the command; and an *Error wrapping the handshake's error
// (such as a *tls.CertificateVerificationError) when TLS failed, after
// which the session is unusable.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if c.tlsState != nil {
		return errors.New("smtpclient: TLS is already active")
	}
	if cfg == nil {
		return errors.New("smtpclient: StartTLS needs a tls.Config")
	}
	if !c.ext.Has("STARTTLS") {
		return ErrNoSTARTTLS
	}
	rep, _, err := c.cmd(ctx, "STARTTLS", c.to.Command, "STARTTLS")
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		return &Error{Op: "STARTTLS", Reply: rep}
	}
	// Whatever the server sent after its 220 was sent in the clear and
	// must not be read as a reply inside TLS.
	if c.r.Buffered() > 0 {
		c.broken = &Error{Op: "STARTTLS", Err: errors.New("server sent data before the TLS handshake")}
		return c.broken
	}
	tc := tls.Client(c.conn, cfg.Clone())
	done := c.deadline(ctx, c.to.Command)
	err = tc.HandshakeContext(ctx)
	done()
	if err != nil {
		c.broken = &Error{Op: "STARTTLS", Err: c.cause(ctx, err)}
		return c.broken
	}
	st := tc.ConnectionState()
	c.conn, c.tlsState = tc, &st
	c.r, c.w = bufio.NewReader(tc), bufio.NewWriter(tc)
	c.ext, c.esmtp = smtp.Extensions{}, false
	return c.hello(ctx)
}

// Reset sends RSET, abandoning the current transaction.
func (c *Client) Reset(ctx context.Context) error {
	rep, _, err := c.cmd(ctx, "RSET", c.to.Command, "RSET")
	if err != nil {
		return err
	}
	if rep.Code != 250 {
		return &Error{Op: "RSET", Reply: rep}
	}
	return nil
}

// Quit sends QUIT, waits briefly for the reply and closes the connection.
// A session that is out of step is closed without QUIT.
func (c *Client) Quit(ctx context.Context) error {
	if c.broken == nil {
		// The reply changes nothing: the transaction is over either way.
		_, _, _ = c.cmd(ctx, "QUIT", c.to.Quit, "QUIT")
	}
	return c.Close()
}

// Close closes the connection without QUIT.
func (c *Client) Close() error {
	if c.broken == nil {
		c.broken = &Error{Op: "QUIT", Err: net.ErrClosed}
	}
	return c.conn.Close()
}

// deadline bounds the next step by timeout and by ctx, whichever ends
// first; done must be called when the step is over.
func (c *Client) deadline(ctx context.Context, timeout time.Duration) (done func()) {
	dl := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = c.conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// cause prefers the context's error to the I/O error it provoked.
func (c *Client) cause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// cmd sends one command line and reads its reply.
func (c *Client) cmd(ctx context.Context, op string, timeout time.Duration, line string) (smtp.Reply, []string, error) {
	if err := c.send(ctx, op, line); err != nil {
		return smtp.Reply{}, nil, err
	}
	return c.read(ctx, op, timeout)
}

// send writes command lines and flushes them.
func (c *Client) send(ctx context.Context, op string, lines ...string) error {
	if c.broken != nil {
		return c.broken
	}
	if err := ctx.Err(); err != nil {
		return &Error{Op: op, Err: err}
	}
	for _, l := range lines {
		c.w.WriteString(l)
		c.w.WriteString("\r\n")
	}
	done := c.deadline(ctx, c.to.Command)
	err := c.w.Flush()
	done()
	if err != nil {
		c.broken = &Error{Op: op, Err: c.cause(ctx, err)}
		return c.broken
	}
	return nil
}

// read reads one reply.
func (c *Client) read(ctx context.Context, op string, timeout time.Duration) (smtp.Reply, []string, error) {
	if c.broken != nil {
		return smtp.Reply{}, nil, c.broken
	}
	done := c.deadline(ctx, timeout)
	rep, lines, err := smtp.ReadReply(c.r)
	done()
	if err != nil {
		c.broken = &Error{Op: op, Err: c.cause(ctx, err)}
		return smtp.Reply{}, nil, c.broken
	}
	return rep, lines, nil
}
