package imapserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// state is an IMAP connection state (RFC 9051 §3). Logout is not waited
// in: LOGOUT ends the session.
type state int

const (
	notAuthenticated state = iota
	authenticated
	selected
)

// storeTimeout bounds the store work of one command.
const storeTimeout = 2 * time.Minute

// session is one IMAP connection.
type session struct {
	srv *Server
	// raw is the accepted connection; conn is raw or the TLS connection
	// over it. Shutdown touches only raw, which never changes.
	raw  net.Conn
	conn net.Conn
	// Commands are read through lead (from the connection, or from
	// inflate under COMPRESS) into br, which is lent only while a command
	// is under way (see io.go).
	lead    leadReader
	inflate *inflater
	br      *bufio.Reader
	r       *imap.Reader
	w       *imap.Writer
	remote  netip.Addr
	id      string

	tls      bool
	state    state
	authFail int
	errors   int
	rev2     bool // ENABLE IMAP4rev2
	// condstore is set by the first CONDSTORE enabling command (RFC 7162
	// §3.1), qresync by ENABLE QRESYNC, which implies condstore.
	condstore bool
	qresync   bool

	account store.Account
	sel     *view
	notify  *notifier // NOTIFY SET in force, nil if none

	// deregister takes the session out of the registry of live sessions.
	deregister func()
	// appPassword is the ID of the app password the session logged in
	// with, 0 for the main password.
	appPassword int64
	// client is the client's name/version from ID (RFC 2971), when it
	// sent ID before logging in.
	client string

	busy    atomic.Bool // inside a command
	closing atomic.Bool

	// While IDLE waits, idling is set and the hub's ring moves the read
	// deadline to now; rung says it rang since the last look.
	idleMu    sync.Mutex
	idling    bool
	rung      bool
	idleUntil time.Time
	idleCmd   *imap.Command
}

func newSession(srv *Server, c net.Conn, remote netip.Addr) *session {
	var id [6]byte
	rand.Read(id[:])
	ss := &session{srv: srv, raw: c, remote: remote, id: hex.EncodeToString(id[:])}
	ss.w = imap.NewWriter(nil)
	ss.r = imap.NewReader(nil, ss.srv.cfg.Limits.Wire, ss.literal)
	ss.setConn(c)
	return ss
}

// setConn makes c the connection the session reads and writes, with fresh
// buffers: whatever the client sent ahead on the previous one is dropped
// (RFC 9051 §6.2.1, the STARTTLS injection class of CVE-2011-0411).
func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.dropCommandBuffer()
	ss.lead = leadReader{src: waitReader{ss}}
	ss.r = imap.NewReader(nil, ss.srv.cfg.Limits.Wire, ss.literal)
	ss.w.Reset(&deadlineWriter{c: c, timeout: ss.srv.cfg.Limits.WriteTimeout})
}

// literal accepts a synchronizing literal by sending the continuation.
func (ss *session) literal(info imap.LiteralInfo) error {
	if info.Append && ss.state == notAuthenticated {
		return errors.New("not authenticated")
	}
	if info.Sync {
		return ss.w.Continue("go ahead")
	}
	return nil
}

// deadlineWriter gives every write to the client its own deadline, so a
// long FETCH to a slow but live reader goes on while a stalled one ends.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

// shutdown asks the session to end: at once if it waits for a command or
// idles, after the command otherwise.
func (ss *session) Shutdown() {
	ss.closing.Store(true)
	if !ss.busy.Load() {
		ss.raw.SetReadDeadline(time.Now())
	}
}

func (ss *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// Close implements listener.Session.
func (ss *session) Close() { ss.raw.Close() }

func (ss *session) Run() {
	defer func() {
		// The hub must let go of the session, or it would keep it all.
		ss.deselect()
		ss.stopNotify()
		ss.unregister()
		ss.conn.Close()
	}()
	if ss.srv.cfg.Mode == IMAPS {
		if !ss.handshake() {
			return
		}
	}
	ss.w.Status("*", "OK", imap.CodeCapability(ss.capabilities()), ss.srv.cfg.Hostname+" Sealpost IMAP server ready")
	for {
		if ss.closing.Load() {
			ss.w.Status("*", "BYE", imap.CodeUnavailable, "server shutting down")
			ss.w.Flush()
			return
		}
		if err := ss.w.Flush(); err != nil {
			return
		}
		ss.releaseBuffers()
		ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.Limits.IdleTimeout))
		if ss.closing.Load() {
			continue
		}
		if ss.notify != nil {
			err := ss.waitNotify()
			if ss.closing.Load() {
				continue
			}
			if err != nil {
				if !ss.readError(err) {
					ss.w.Flush()
					return
				}
				continue
			}
		}
		cmd, err := ss.readCommand()
		if err != nil {
			if !ss.readError(err) {
				ss.w.Flush()
				return
			}
			continue
		}
		ss.busy.Store(true)
		goOn := ss.dispatch(cmd)
		ss.busy.Store(false)
		if !goOn {
			ss.w.Flush()
			return
		}
	}
}

func (ss *session) readCommand() (*imap.Command, error) {
	if err := ss.readCommandBuffer(); err != nil {
		return nil, err
	}
	return ss.r.ReadCommand()
}

// readError answers a command that could not be read and reports whether
// the session goes on.
func (ss *session) readError(err error) bool {
	var se *imap.SyntaxError
	var le *imap.LiteralError
	switch {
	case errors.As(err, &se):
		if se.Close {
			ss.w.Status("*", "BYE", "", se.Msg)
			return false
		}
		tag := se.Tag
		if tag == "" {
			tag = "*"
		}
		ss.w.Status(tag, "BAD", "", se.Msg)
		return !ss.tooManyErrors()
	case errors.As(err, &le):
		code := imap.CodeTooBig
		if !errors.Is(le.Err, imap.ErrLiteralTooBig) {
			code = ""
		}
		if le.NonSync {
			ss.w.Status(le.Tag, "BAD", code, "literal refused")
			ss.w.Status("*", "BYE", "", "closing: the refused literal is on its way")
			return false
		}
		ss.w.Status(le.Tag, "NO", code, "literal refused: "+le.Err.Error())
		return !ss.tooManyErrors()
	}
	if ss.closing.Load() {
		return true // the loop answers the shutdown
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		ss.w.Status("*", "BYE", "", "autologout: idle for too long")
	} else if !errors.Is(err, io.EOF) {
		ss.srv.log.Debug("session ended", "session", ss.id, "remote", ss.remote, "err", err)
	}
	return false
}

// tooManyErrors counts a BAD answer and reports whether the session must
// end, after saying BYE.
func (ss *session) tooManyErrors() bool {
	ss.errors++
	if ss.errors >= ss.srv.cfg.Limits.MaxErrors {
		ss.w.Status("*", "BYE", "", "too many errors")
		return true
	}
	return false
}

func (ss *session) handshake() bool {
	tc := tls.Server(ss.conn, ss.srv.cfg.TLS)
	tc.SetDeadline(time.Now().Add(time.Minute))
	if err := tc.Handshake(); err != nil {
		ss.srv.log.Debug("TLS handshake", "session", ss.id, "remote", ss.remote, "err", err)
		return false
	}
	tc.SetDeadline(time.Time{})
	ss.tls = true
	ss.setConn(tc)
	return true
}

// capabilities lists what the session may use now (RFC 9051 §7.2.2): no
// AUTH= before TLS on port 143, and LOGINDISABLED instead.
func (ss *session) capabilities() []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2", "LITERAL+", "ID", "ENABLE"}
	if !ss.tls {
		return append(caps, "STARTTLS", "LOGINDISABLED")
	}
	if ss.state == notAuthenticated {
		return append(caps, "AUTH=PLAIN", "SASL-IR")
	}
	return append(caps, "IDLE", "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN",
		"SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "CONDSTORE", "QRESYNC",
		"SEARCHRES", "SAVEDATE", "OBJECTID", "PREVIEW", "BINARY", "QUOTA", "QUOTA=RES-STORAGE",
		"MULTIAPPEND", "ESEARCH", "CONTEXT=SEARCH", "CONTEXT=SORT", "PARTIAL", "NOTIFY",
		"SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
		"COMPRESS=DEFLATE",
		"APPENDLIMIT="+strconv.FormatInt(ss.srv.cfg.Limits.Wire.MaxAppend, 10))
}

type handler struct {
	states []state
	fn     func(ss *session, cmd *imap.Command) bool
}

var (
	anyState = []state{notAuthenticated, authenticated, selected}
	notAuth  = []state{notAuthenticated}
	authed   = []state{authenticated, selected}
	selOnly  = []state{selected}
)

// handlers is the dispatch table; it is never modified.
var handlers = map[string]handler{
	"CAPABILITY":   {anyState, (*session).capabilityCmd},
	"NOOP":         {anyState, (*session).noop},
	"LOGOUT":       {anyState, (*session).logout},
	"ID":           {anyState, (*session).idCmd},
	"STARTTLS":     {notAuth, (*session).startTLS},
	"LOGIN":        {notAuth, (*session).login},
	"AUTHENTICATE": {notAuth, (*session).authenticate},
	"ENABLE":       {authed, (*session).enable},
	"NAMESPACE":    {authed, (*session).namespace},
	"SELECT":       {authed, (*session).selectCmd},
	"EXAMINE":      {authed, (*session).selectCmd},
	"CREATE":       {authed, (*session).create},
	"DELETE":       {authed, (*session).deleteCmd},
	"RENAME":       {authed, (*session).rename},
	"SUBSCRIBE":    {authed, (*session).subscribe},
	"UNSUBSCRIBE":  {authed, (*session).subscribe},
	"LIST":         {authed, (*session).list},
	"LSUB":         {authed, (*session).list},
	"STATUS":       {authed, (*session).status},
	"APPEND":       {authed, (*session).appendCmd},
	"IDLE":         {authed, (*session).idle},
	"CLOSE":        {selOnly, (*session).closeCmd},
	"UNSELECT":     {selOnly, (*session).closeCmd},
	"CHECK":        {selOnly, (*session).noop},
	"EXPUNGE":      {selOnly, (*session).expunge},
	"SEARCH":       {selOnly, (*session).search},
	"FETCH":        {selOnly, (*session).fetch},
	"STORE":        {selOnly, (*session).storeCmd},
	"COPY":         {selOnly, (*session).copyCmd},
	"MOVE":         {selOnly, (*session).copyCmd},
	"SORT":         {selOnly, (*session).sortCmd},
	"THREAD":       {selOnly, (*session).thread},
	"GETQUOTA":     {authed, (*session).getQuota},
	"NOTIFY":       {authed, (*session).notifyCmd},
	"CANCELUPDATE": {selOnly, (*session).cancelUpdate},
	"GETQUOTAROOT": {authed, (*session).getQuotaRoot},
	"COMPRESS":     {authed, (*session).compress},
}

// dispatch runs one command and reports whether the session goes on.
func (ss *session) dispatch(cmd *imap.Command) bool {
	h, ok := handlers[cmd.Name]
	if !ok || !inState(h.states, ss.state) {
		if a, isAppend := cmd.Args.(*imap.AppendArgs); isAppend {
			if err := a.Discard(); err != nil {
				return false
			}
		}
		if !ok {
			ss.w.Status(cmd.Tag, "BAD", "", cmd.Name+" is not supported")
		} else {
			ss.w.Status(cmd.Tag, "BAD", imap.CodeClientBug, cmd.Name+" is not allowed in this state")
		}
		return !ss.tooManyErrors()
	}
	return h.fn(ss, cmd)
}

func inState(states []state, s state) bool {
	for _, x := range states {
		if x == s {
			return true
		}
	}
	return false
}

func (ss *session) ok(tag, txt string) bool {
	ss.w.Status(tag, "OK", "", txt)
	return true
}

func (ss *session) no(tag string, code imap.Code, txt string) bool {
	ss.w.Status(tag, "NO", code, txt)
	return true
}

func (ss *session) bad(tag, txt string) bool {
	ss.w.Status(tag, "BAD", "", txt)
	return !ss.tooManyErrors()
}

// storeError answers a store failure with NO, or with BYE when the
// session cannot go on, and reports whether it goes on.
func (ss *session) storeError(tag string, err error) bool {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ss.no(tag, imap.CodeNonExistent, "no such mailbox")
	case errors.Is(err, store.ErrExists):
		return ss.no(tag, imap.CodeAlreadyExists, "mailbox exists")
	case errors.Is(err, store.ErrQuota):
		return ss.no(tag, imap.CodeOverQuota, "quota exceeded")
	case errors.Is(err, store.ErrNotEmpty):
		return ss.no(tag, imap.CodeHasChildren, "mailbox has children")
	case errors.Is(err, store.ErrInvalid):
		return ss.no(tag, imap.CodeCannot, "not possible: "+err.Error())
	}
	ss.srv.log.Error("store", "session", ss.id, "err", err)
	return ss.no(tag, imap.CodeServerBug, "internal error, try again")
}

func (ss *session) capabilityCmd(cmd *imap.Command) bool {
	ss.w.Capability(ss.capabilities())
	return ss.ok(cmd.Tag, "CAPABILITY completed")
}

func (ss *session) noop(cmd *imap.Command) bool {
	ss.syncEnd(cmd, true)
	return ss.ok(cmd.Tag, cmd.Name+" completed")
}

func (ss *session) logout(cmd *imap.Command) bool {
	ss.w.Status("*", "BYE", "", "logging out")
	ss.ok(cmd.Tag, "LOGOUT completed")
	return false
}

// idCmd answers ID (RFC 2971) with the server's name only: no version, so
// as not to help attackers pick exploits.
func (ss *session) idCmd(cmd *imap.Command) bool {
	if ss.state == notAuthenticated {
		ss.client = idClient(cmd.Args.(*imap.IDArgs).Params)
	}
	ss.w.Untagged().Atom("ID ").Open().String("name").SP().String("Sealpost").Close().End()
	return ss.ok(cmd.Tag, "ID completed")
}

// maxClientLen bounds the client identity kept from ID.
const maxClientLen = 100

// idClient makes "name/version" of the ID fields, for the login log:
// printable ASCII only, bounded.
func idClient(params []imap.IDParam) string {
	var name, version string
	for _, p := range params {
		switch strings.ToLower(p.Key) {
		case "name":
			name = p.Value
		case "version":
			version = p.Value
		}
	}
	client := name
	if name != "" && version != "" {
		client += "/" + version
	}
	client = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, client)
	if len(client) > maxClientLen {
		client = client[:maxClientLen]
	}
	return client
}

func (ss *session) startTLS(cmd *imap.Command) bool {
	if ss.tls {
		return ss.bad(cmd.Tag, "TLS is already active")
	}
	ss.ok(cmd.Tag, "begin TLS negotiation now")
	if err := ss.w.Flush(); err != nil {
		return false
	}
	return ss.handshake()
}

// compress answers COMPRESS (RFC 4978): after the tagged OK, which goes
// out uncompressed, both directions are raw deflate (RFC 1951). What the
// client sent after the command is already compressed: it goes to the
// inflater first.
func (ss *session) compress(cmd *imap.Command) bool {
	if ss.inflate != nil {
		return ss.no(cmd.Tag, imap.CodeCompressionActive, "DEFLATE is already active")
	}
	if cmd.Args.(*imap.CompressArgs).Mechanism != "DEFLATE" {
		return ss.bad(cmd.Tag, "unknown compression mechanism")
	}
	ss.ok(cmd.Tag, "DEFLATE active")
	if err := ss.w.Flush(); err != nil {
		return false
	}
	var ahead []byte
	if ss.br != nil {
		ahead, _ = ss.br.Peek(ss.br.Buffered())
	}
	ss.inflate = newInflater(waitReader{ss}, ahead)
	ss.dropCommandBuffer()
	ss.lead = leadReader{src: ss.inflate}
	ss.w.Reset(&deflater{dst: &deadlineWriter{c: ss.conn, timeout: ss.srv.cfg.Limits.WriteTimeout}})
	return true
}

// enable answers ENABLE (RFC 5161) for IMAP4rev2, CONDSTORE and QRESYNC
// (RFC 7162 §3.2.3: QRESYNC implies CONDSTORE). RFC 9051 §6.3.1:
// enabling IMAP4rev2 changes response formats, which this server keeps
// compatible with both revisions. ENABLED lists what this command turned
// on.
func (ss *session) enable(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.EnableArgs)
	var on []string
	for _, c := range args.Capabilities {
		switch {
		case c == "IMAP4REV2" && !ss.rev2:
			ss.rev2 = true
			ss.w.UTF8 = true
			on = append(on, "IMAP4rev2")
		case c == "CONDSTORE" && !ss.condstore:
			ss.enableCondStore()
			on = append(on, "CONDSTORE")
		case c == "QRESYNC" && !ss.qresync:
			ss.enableCondStore()
			ss.qresync = true
			on = append(on, "QRESYNC")
		}
	}
	ss.w.Untagged().Atom("ENABLED")
	for _, c := range on {
		ss.w.SP().Atom(c)
	}
	ss.w.End()
	return ss.ok(cmd.Tag, "ENABLE completed")
}

// namespace answers NAMESPACE (RFC 2342): one personal namespace, "/"
// separated.
func (ss *session) namespace(cmd *imap.Command) bool {
	ss.w.Untagged().Atom(`NAMESPACE (("" "/")) NIL NIL`).End()
	return ss.ok(cmd.Tag, "NAMESPACE completed")
}

// mailboxName decodes a client's mailbox name to UTF-8.
func (ss *session) mailboxName(name string) (string, error) {
	if ss.rev2 || name == "INBOX" {
		return name, nil
	}
	n, err := imap.DecodeMailboxUTF7(name)
	if err != nil {
		return "", fmt.Errorf("mailbox name: %w", err)
	}
	return n, nil
}

// validName reports whether a mailbox name may be created: no empty
// levels, no wildcards, no control characters.
func validName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return false
	}
	return !strings.ContainsAny(name, "*%\r\n\x00")
}
