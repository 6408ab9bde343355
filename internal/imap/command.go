package imap

import (
	"encoding/base64"
	"errors"
)

// Command is one parsed client command.
type Command struct {
	Tag  string
	Name string // upper case: "FETCH", "UID" is not part of it
	UID  bool   // the command was prefixed with UID
	// Args holds the arguments: nil for commands without any, otherwise
	// one of the *...Args types of this package (see each command's
	// parse function in the table below).
	Args any
}

// Argument types. Where a field is upper-cased the grammar is
// case-insensitive; strings chosen by the client (names, flags, search
// strings) are kept as sent.

// AuthenticateArgs is AUTHENTICATE mechanism [initial-response] (RFC 9051
// §6.2.2, RFC 4959 SASL-IR).
type AuthenticateArgs struct {
	Mechanism string // upper case
	// InitialResponse is the decoded SASL-IR response: nil if none was
	// sent, empty (not nil) for "=".
	InitialResponse []byte
}

// LoginArgs is LOGIN userid password.
type LoginArgs struct{ Username, Password string }

// EnableArgs is ENABLE capability... (RFC 5161).
type EnableArgs struct{ Capabilities []string } // upper case

// SelectArgs is SELECT or EXAMINE with RFC 7162 parameters.
type SelectArgs struct {
	Mailbox   string
	CondStore bool
	QResync   *QResyncParams
}

// QResyncParams is "QRESYNC (uidvalidity modseq [known-uids [seq-match]])"
// (RFC 7162 §3.2.5).
type QResyncParams struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   SeqSet // empty if absent
	// KnownSeqs and KnownSeqUIDs are seq-match-data, empty if absent.
	KnownSeqs    SeqSet
	KnownSeqUIDs SeqSet
}

// MailboxArgs is the argument of DELETE, SUBSCRIBE, UNSUBSCRIBE,
// GETQUOTAROOT, and of CREATE without options.
type MailboxArgs struct{ Mailbox string }

// CreateArgs is CREATE mailbox [(USE (attrs))] (RFC 6154 §3).
type CreateArgs struct {
	Mailbox    string
	SpecialUse []string // e.g. `\Sent`, as sent
}

// RenameArgs is RENAME from to.
type RenameArgs struct{ From, To string }

// ListArgs is LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 5819
// LIST-STATUS, RFC 6154 SPECIAL-USE) and LSUB (only Reference and one
// pattern).
type ListArgs struct {
	Reference string
	Patterns  []string
	// Selection holds upper-cased selection options: SUBSCRIBED, REMOTE,
	// RECURSIVEMATCH, SPECIAL-USE.
	Selection []string
	// Return holds upper-cased return options except STATUS: SUBSCRIBED,
	// CHILDREN, SPECIAL-USE, MYRIGHTS.
	Return []string
	// Status holds the items of RETURN (STATUS (...)); nil if absent.
	Status []string
	// Extended is set when the command used LIST-EXTENDED syntax
	// (selection options, several patterns or RETURN).
	Extended bool
}

// StatusArgs is STATUS mailbox (items).
type StatusArgs struct {
	Mailbox string
	Items   []string // upper case
}

// CopyArgs is COPY or MOVE (and their UID forms).
type CopyArgs struct {
	Set     SeqSet
	Mailbox string
}

// ExpungeArgs is UID EXPUNGE uid-set (RFC 4315).
type ExpungeArgs struct{ UIDs SeqSet }

// StoreMode says how STORE combines the flags.
type StoreMode int

// Store modes.
const (
	StoreReplace StoreMode = iota // FLAGS
	StoreAdd                      // +FLAGS
	StoreRemove                   // -FLAGS
)

// StoreArgs is STORE / UID STORE (RFC 9051 §6.4.6, RFC 7162 UNCHANGEDSINCE).
type StoreArgs struct {
	Set    SeqSet
	Mode   StoreMode
	Silent bool
	Flags  []string
	// UnchangedSince is the UNCHANGEDSINCE modifier; HasUnchangedSince
	// tells 0 (a legal value) from absent.
	UnchangedSince    uint64
	HasUnchangedSince bool
}

// IDArgs is ID (RFC 2971). Params is nil for "ID NIL"; keys keep their
// order, values may be absent (NIL).
type IDArgs struct{ Params []IDParam }

// IDParam is one field of ID.
type IDParam struct {
	Key      string
	Value    string
	HasValue bool
}

// QuotaArgs is GETQUOTA root (RFC 9208).
type QuotaArgs struct{ Root string }

// CompressArgs is COMPRESS mechanism (RFC 4978).
type CompressArgs struct{ Mechanism string } // upper case

// CancelUpdateArgs is CANCELUPDATE tag... (RFC 5267).
type CancelUpdateArgs struct{ Tags []string }

// ReadCommand reads the next command. Empty lines are skipped.
//
// The error is a *SyntaxError (answer BAD, or BYE and close if Close is
// set), a *LiteralError (answer NO/BAD; close if NonSync) or an I/O error
// (close). For APPEND, the messages must then be read with
// AppendArgs.Next; an APPEND left unfinished is discarded by the next
// ReadCommand.
func (r *Reader) ReadCommand() (cmd *Command, err error) {
	if r.pending != nil {
		if err := r.pending.Discard(); err != nil {
			return nil, err
		}
	}
	p := r.newParser()
	defer func() {
		if r.pending == nil {
			r.keep(p)
		}
		if err == nil {
			return
		}
		cmd = nil
		var le *LiteralError
		if errors.As(err, &le) {
			return
		}
		var se *SyntaxError
		if errors.As(err, &se) && !se.Close {
			se.Close = p.resync()
		}
	}()
	defer catch(&err)
	for range 64 {
		p.total = 0
		p.readLine()
		if len(p.line) > 0 {
			return p.command()
		}
	}
	p.failClose("too many empty lines")
	return nil, nil
}

func (p *parser) command() (*Command, error) {
	tag := p.take(func(c byte) bool { return isAStringChar(c) && c != '+' })
	if tag == "" {
		p.badChar("tag")
	}
	p.tag = tag
	cmd := &Command{Tag: tag}
	p.sp()
	cmd.Name = p.word()
	if cmd.Name == "UID" {
		cmd.UID = true
		p.sp()
		cmd.Name = p.word()
		if !uidCommands[cmd.Name] {
			p.fail("UID %s is not a command", cmd.Name)
		}
	}
	parse, ok := commands[cmd.Name]
	if !ok {
		p.fail("unknown command %s", cmd.Name)
	}
	cmd.Args = parse(p, cmd)
	if a, ok := cmd.Args.(*AppendArgs); ok {
		p.r.pending = a
		return cmd, nil
	}
	p.end()
	return cmd, nil
}

var uidCommands = map[string]bool{
	"FETCH": true, "SEARCH": true, "STORE": true, "COPY": true, "MOVE": true,
	"EXPUNGE": true, "SORT": true, "THREAD": true,
}

func noArgs(*parser, *Command) any { return nil }

// commands maps a command name to its argument parser. It is never
// modified.
var commands = map[string]func(*parser, *Command) any{
	"CAPABILITY": noArgs, "NOOP": noArgs, "LOGOUT": noArgs, "STARTTLS": noArgs,
	"CLOSE": noArgs, "UNSELECT": noArgs, "IDLE": noArgs, "NAMESPACE": noArgs,
	"CHECK":        noArgs,
	"AUTHENTICATE": parseAuthenticate, "LOGIN": parseLogin, "ENABLE": parseEnable,
	"SELECT": parseSelect, "EXAMINE": parseSelect, "CREATE": parseCreate,
	"DELETE": parseMailboxArg, "SUBSCRIBE": parseMailboxArg, "UNSUBSCRIBE": parseMailboxArg,
	"GETQUOTAROOT": parseMailboxArg, "RENAME": parseRename, "LIST": parseList,
	"LSUB": parseLsub, "STATUS": parseStatus, "APPEND": parseAppend,
	"EXPUNGE": parseExpunge, "SEARCH": parseSearch, "FETCH": parseFetch,
	"STORE": parseStore, "COPY": parseCopy, "MOVE": parseCopy, "ID": parseID,
	"GETQUOTA": parseGetQuota, "SORT": parseSort, "THREAD": parseThread,
	"COMPRESS": parseCompress, "NOTIFY": parseNotify, "CANCELUPDATE": parseCancelUpdate,
}

func parseAuthenticate(p *parser, _ *Command) any {
	p.sp()
	a := &AuthenticateArgs{Mechanism: p.word()}
	if p.accept(' ') {
		a.InitialResponse = p.base64Line()
	}
	return a
}

// base64Line reads base64 or "=" (an empty response, RFC 4959).
func (p *parser) base64Line() []byte {
	if p.accept('=') {
		return []byte{}
	}
	s := p.take(func(c byte) bool {
		return c == '+' || c == '/' || c == '=' || isDigit(c) ||
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	})
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || s == "" {
		p.fail("invalid base64")
	}
	return b
}

func parseLogin(p *parser, _ *Command) any {
	p.sp()
	u := p.astring()
	p.sp()
	return &LoginArgs{Username: u, Password: p.astring()}
}

func parseEnable(p *parser, _ *Command) any {
	a := &EnableArgs{}
	for p.accept(' ') {
		a.Capabilities = append(a.Capabilities, p.word())
	}
	if len(a.Capabilities) == 0 {
		p.fail("ENABLE needs a capability")
	}
	return a
}

func parseMailboxArg(p *parser, _ *Command) any {
	p.sp()
	return &MailboxArgs{Mailbox: p.mailbox()}
}

func parseGetQuota(p *parser, _ *Command) any {
	p.sp()
	return &QuotaArgs{Root: p.astring()}
}

func parseRename(p *parser, _ *Command) any {
	p.sp()
	a := &RenameArgs{From: p.mailbox()}
	p.sp()
	a.To = p.mailbox()
	return a
}

func parseCreate(p *parser, _ *Command) any {
	p.sp()
	a := &CreateArgs{Mailbox: p.mailbox()}
	if p.accept(' ') {
		p.list(false, func() {
			if !p.keyword("USE") {
				p.fail("unknown CREATE parameter at %s", p.where())
			}
			p.sp()
			p.list(true, func() {
				p.expect('\\')
				a.SpecialUse = append(a.SpecialUse, `\`+p.atom())
			})
		})
	}
	return a
}

func parseSelect(p *parser, _ *Command) any {
	p.sp()
	a := &SelectArgs{Mailbox: p.mailbox()}
	if !p.accept(' ') {
		return a
	}
	p.list(false, func() {
		switch name := p.word(); name {
		case "CONDSTORE":
			a.CondStore = true
		case "QRESYNC":
			if a.QResync != nil {
				p.fail("QRESYNC given twice")
			}
			p.sp()
			a.QResync = p.qresyncParams()
		default:
			p.fail("unknown SELECT parameter %s", name)
		}
	})
	return a
}

func (p *parser) qresyncParams() *QResyncParams {
	q := &QResyncParams{}
	p.expect('(')
	p.enter()
	defer p.leave()
	q.UIDValidity = p.nzNumber()
	p.sp()
	q.ModSeq = p.modSeq(false)
	if p.accept(' ') && p.peek() != '(' {
		q.KnownUIDs = p.seqSet(false)
		p.accept(' ')
	}
	if p.peek() == '(' {
		p.expect('(')
		q.KnownSeqs = p.seqSet(false)
		p.sp()
		q.KnownSeqUIDs = p.seqSet(false)
		p.expect(')')
	}
	p.expect(')')
	return q
}

func parseStatus(p *parser, _ *Command) any {
	p.sp()
	a := &StatusArgs{Mailbox: p.mailbox()}
	p.sp()
	a.Items = p.statusItems()
	return a
}

// statusItems reads "(" status-att *(SP status-att) ")".
func (p *parser) statusItems() []string {
	var items []string
	p.list(false, func() {
		w := p.word()
		if !statusItems[w] {
			p.fail("unknown STATUS item %s", w)
		}
		items = append(items, w)
	})
	return items
}

var statusItems = map[string]bool{
	"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true,
	"DELETED": true, "SIZE": true, "HIGHESTMODSEQ": true, "APPENDLIMIT": true,
	"RECENT": true, "MAILBOXID": true, "DELETED-STORAGE": true,
}

func parseAppend(p *parser, _ *Command) any {
	p.sp()
	return &AppendArgs{Mailbox: p.mailbox(), p: p}
}

func parseExpunge(p *parser, cmd *Command) any {
	if !cmd.UID {
		return nil
	}
	p.sp()
	return &ExpungeArgs{UIDs: p.seqSet(true)}
}

func parseCopy(p *parser, _ *Command) any {
	p.sp()
	a := &CopyArgs{Set: p.seqSet(true)}
	p.sp()
	a.Mailbox = p.mailbox()
	return a
}

func parseStore(p *parser, _ *Command) any {
	p.sp()
	a := &StoreArgs{Set: p.seqSet(true)}
	p.sp()
	if p.peek() == '(' {
		p.list(false, func() {
			if !p.keyword("UNCHANGEDSINCE") || a.HasUnchangedSince {
				p.fail("unknown STORE modifier at %s", p.where())
			}
			p.sp()
			a.UnchangedSince, a.HasUnchangedSince = p.modSeq(true), true
		})
		p.sp()
	}
	switch {
	case p.accept('+'):
		a.Mode = StoreAdd
	case p.accept('-'):
		a.Mode = StoreRemove
	}
	switch p.word() {
	case "FLAGS":
	case "FLAGS.SILENT":
		a.Silent = true
	default:
		p.fail("expected FLAGS or FLAGS.SILENT")
	}
	p.sp()
	if p.peek() == '(' {
		a.Flags = p.flagList()
	} else {
		a.Flags = []string{p.flag()}
		for p.accept(' ') {
			a.Flags = append(a.Flags, p.flag())
		}
	}
	return a
}

func parseID(p *parser, _ *Command) any {
	p.sp()
	a := &IDArgs{}
	if p.keyword("NIL") {
		return a
	}
	a.Params = []IDParam{}
	p.list(true, func() {
		if len(a.Params) >= 30 {
			p.fail("more than 30 ID fields")
		}
		k := p.string()
		p.sp()
		v, ok := p.nstring()
		a.Params = append(a.Params, IDParam{Key: k, Value: v, HasValue: ok})
	})
	return a
}

func parseCompress(p *parser, _ *Command) any {
	p.sp()
	return &CompressArgs{Mechanism: p.word()}
}

func parseCancelUpdate(p *parser, _ *Command) any {
	a := &CancelUpdateArgs{}
	for p.accept(' ') {
		a.Tags = append(a.Tags, p.quoted())
	}
	if len(a.Tags) == 0 {
		p.fail("CANCELUPDATE needs a tag")
	}
	return a
}

// ReadLine reads one raw line without its CRLF, bounded by MaxLine: an
// AUTHENTICATE response or the DONE that ends IDLE.
func (r *Reader) ReadLine() (line string, err error) {
	p := r.newParser()
	defer r.keep(p)
	defer catch(&err)
	p.readLine()
	return string(p.line), nil
}

// ReadAuthResponse reads a client's answer to an AUTHENTICATE challenge.
// It returns ErrAuthCanceled if the client sent "*" (RFC 9051 §6.2.2).
func (r *Reader) ReadAuthResponse() ([]byte, error) {
	line, err := r.ReadLine()
	if err != nil {
		return nil, err
	}
	if line == "*" {
		return nil, ErrAuthCanceled
	}
	p := &parser{r: r, line: []byte(line)}
	var b []byte
	err = func() (err error) {
		defer catch(&err)
		b = p.base64Line()
		p.end()
		return nil
	}()
	return b, err
}

// ErrAuthCanceled is returned by ReadAuthResponse when the client cancels.
var ErrAuthCanceled = errors.New("imap: authentication canceled")

// ReadDone reads the line that ends IDLE: nil for "DONE" (any case), a
// *SyntaxError otherwise.
func (r *Reader) ReadDone() error {
	line, err := r.ReadLine()
	if err != nil {
		return err
	}
	if upper(line) != "DONE" {
		return &SyntaxError{Msg: "expected DONE"}
	}
	return nil
}
