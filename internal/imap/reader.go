package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Default limits, used where a Limits field is zero.
const (
	DefaultMaxLine       = 64 << 10  // bytes of one line, CRLF excluded
	DefaultMaxCommand    = 256 << 10 // bytes of one command, literals included, APPEND messages excluded
	DefaultMaxLiteral    = 64 << 10  // bytes of one literal outside an APPEND message
	DefaultMaxDepth      = 32        // nesting of parentheses and of SEARCH NOT/OR
	DefaultMaxAppend     = 100 << 20 // bytes of one APPEND message literal
	LiteralMinusMaxBytes = 4096      // RFC 7888 §4: LITERAL- caps non-synchronizing literals
)

// Limits bounds what a Reader accepts from a client. Zero fields take the
// defaults above.
type Limits struct {
	MaxLine    int   // longest line
	MaxCommand int   // largest command, literals included (APPEND message bodies excluded)
	MaxLiteral int   // largest literal outside APPEND message bodies
	MaxDepth   int   // deepest nesting of lists and of SEARCH NOT/OR
	MaxAppend  int64 // largest APPEND message literal
	// MaxNonSync caps non-synchronizing literals ({n+}). Zero means
	// LiteralMinusMaxBytes (the server advertises LITERAL-); a negative
	// value lifts the cap (LITERAL+), leaving MaxLiteral and MaxAppend.
	MaxNonSync int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxCommand <= 0 {
		l.MaxCommand = DefaultMaxCommand
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = DefaultMaxLiteral
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxAppend <= 0 {
		l.MaxAppend = DefaultMaxAppend
	}
	if l.MaxNonSync == 0 {
		l.MaxNonSync = LiteralMinusMaxBytes
	}
	return l
}

// LiteralInfo describes a literal the client has announced.
type LiteralInfo struct {
	Size   int64
	Sync   bool // {n}: the client waits for a continuation request
	Binary bool // ~{n} (RFC 3516 literal8)
	Append bool // the literal is an APPEND message body
}

// LiteralFunc is called for every literal the client announces, before its
// bytes are read and after the Reader's own limits have been checked. For a
// synchronizing literal it must send a continuation request ("+ ...") and
// flush before returning nil. A non-nil error refuses the literal: the
// command fails with a *LiteralError wrapping it.
type LiteralFunc func(LiteralInfo) error

// SyntaxError is a command the server must answer with BAD.
type SyntaxError struct {
	Tag string // "" when no tag could be read: answer "* BAD"
	Msg string
	// Close is set when the stream cannot be resynchronised (an overlong
	// line or a refused non-synchronizing literal whose bytes are on the
	// way): send BYE and close the connection.
	Close bool
}

func (e *SyntaxError) Error() string { return "imap: syntax error: " + e.Msg }

// LiteralError reports a literal refused by a limit or by the LiteralFunc.
// If NonSync is set the client is already sending the bytes: the
// connection must be closed after the response (RFC 7888 §4 lets the
// server choose; Sealpost closes rather than read up to MaxAppend bytes of
// garbage). Otherwise the client waits for a continuation that will not
// come, and the next line is a new command.
type LiteralError struct {
	Tag     string
	Info    LiteralInfo
	NonSync bool
	Err     error // ErrLiteralTooBig or the LiteralFunc's error
}

func (e *LiteralError) Error() string {
	return fmt.Sprintf("imap: literal of %d bytes refused: %v", e.Info.Size, e.Err)
}

func (e *LiteralError) Unwrap() error { return e.Err }

// ErrLiteralTooBig is the LiteralError cause when a literal exceeds a Limits field.
var ErrLiteralTooBig = errors.New("literal too big")

// Reader reads commands from a client.
//
// Cancellation is by the connection's read deadline: a Reader only waits
// inside its bufio.Reader.
type Reader struct {
	br      *bufio.Reader
	lim     Limits
	literal LiteralFunc
	pending *AppendArgs // an APPEND whose messages were not all read
	// buf is the line buffer, kept between commands while small so that
	// an idle connection does not hold a 64 KiB line.
	buf []byte
}

// maxKeptBuf is the largest line buffer a Reader keeps between commands.
const maxKeptBuf = 4 << 10

// newParser starts a parser on the kept buffer, unless an unfinished
// APPEND's parser still uses it.
func (r *Reader) newParser() *parser {
	if r.pending != nil {
		return &parser{r: r}
	}
	return &parser{r: r, line: r.buf[:0]}
}

func (r *Reader) keep(p *parser) {
	if cap(p.line) <= maxKeptBuf {
		r.buf = p.line[:0]
	} else {
		r.buf = nil
	}
}

// NewReader returns a Reader over br. literal may be nil only if the
// server never accepts synchronizing literals (every one is then refused).
func NewReader(br *bufio.Reader, lim Limits, literal LiteralFunc) *Reader {
	return &Reader{br: br, lim: lim.withDefaults(), literal: literal}
}

// SetBuffer makes the Reader read from br from now on. A server that
// lends a connection a pooled bufio.Reader only while a command is under
// way swaps it in and out between commands (see Idle), keeping what br
// has buffered its own business.
func (r *Reader) SetBuffer(br *bufio.Reader) { r.br = br }

// Idle reports whether the Reader is between commands: no APPEND whose
// messages are still to be read. It also lets go of the line buffer, so
// that a connection waiting for its client holds none.
func (r *Reader) Idle() bool {
	if r.pending != nil {
		return false
	}
	r.buf = nil
	return true
}

// SetLimits replaces the limits, for instance after ENABLE or
// authentication changes what the server accepts.
func (r *Reader) SetLimits(lim Limits) { r.lim = lim.withDefaults() }

// Limits returns the limits in force, defaults filled in.
func (r *Reader) Limits() Limits { return r.lim }

// bail carries errors out of the recursive-descent parser; recovered in
// ReadCommand and friends only.
type bail struct{ err error }

// parser holds the state of one command: the current line and the byte
// counts. Literal bytes end a line: the command continues on the next.
type parser struct {
	r     *Reader
	line  []byte
	pos   int
	total int
	depth int
	tag   string
}

func (p *parser) fail(format string, args ...any) {
	panic(bail{&SyntaxError{Tag: p.tag, Msg: fmt.Sprintf(format, args...)}})
}

func (p *parser) failClose(msg string) {
	panic(bail{&SyntaxError{Tag: p.tag, Msg: msg, Close: true}})
}

func (p *parser) ioFail(err error) {
	if err == io.EOF && p.total > 0 {
		err = io.ErrUnexpectedEOF
	}
	panic(bail{err})
}

// catch turns a bail into an error; other panics propagate.
func catch(err *error) {
	if v := recover(); v != nil {
		b, ok := v.(bail)
		if !ok {
			panic(v)
		}
		*err = b.err
	}
}

// readLine reads the next line, without CR LF, into p.line. A bare LF is
// accepted as a line end: some hand-typed sessions send it, and it cannot
// be confused with anything else.
func (p *parser) readLine() {
	p.line = p.line[:0]
	p.pos = 0
	for {
		chunk, err := p.r.br.ReadSlice('\n')
		if len(p.line)+len(chunk) > p.r.lim.MaxLine+2 {
			p.failClose("line too long")
		}
		p.line = append(p.line, chunk...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF && len(p.line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			p.ioFail(err)
		}
	}
	p.total += len(p.line)
	if p.total > p.r.lim.MaxCommand {
		p.failClose("command too long")
	}
	p.line = bytes.TrimSuffix(p.line, []byte("\n"))
	p.line = bytes.TrimSuffix(p.line, []byte("\r"))
	if len(p.line) > p.r.lim.MaxLine {
		p.failClose("line too long")
	}
}

func (p *parser) eol() bool { return p.pos >= len(p.line) }

func (p *parser) peek() byte {
	if p.eol() {
		return 0
	}
	return p.line[p.pos]
}

func (p *parser) peekAt(off int) byte {
	if p.pos+off >= len(p.line) {
		return 0
	}
	return p.line[p.pos+off]
}

func (p *parser) accept(c byte) bool {
	if p.peek() == c && !p.eol() {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(c byte) {
	if !p.accept(c) {
		p.badByte()
		p.fail("expected %q at %s", c, p.where())
	}
}

// badByte fails with a precise message if the next byte is one that can
// appear nowhere outside a string.
func (p *parser) badByte() {
	switch c := p.peek(); {
	case p.eol():
	case c == 0:
		p.fail("NUL byte at offset %d", p.pos)
	case c >= 0x80:
		p.fail("8-bit byte outside a quoted string at offset %d", p.pos)
	case isCTL(c):
		p.fail("control character %#x at offset %d", c, p.pos)
	}
}

func (p *parser) sp() { p.expect(' ') }

// where describes the parse position for error messages.
func (p *parser) where() string {
	if p.eol() {
		return "end of line"
	}
	rest := p.line[p.pos:]
	if len(rest) > 16 {
		rest = rest[:16]
	}
	return strconv.Quote(string(rest))
}

func (p *parser) end() {
	if !p.eol() {
		p.badByte()
		p.fail("unexpected %s", p.where())
	}
}

func (p *parser) enter() {
	p.depth++
	if p.depth > p.r.lim.MaxDepth {
		p.fail("nesting deeper than %d", p.r.lim.MaxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

// Character classes, RFC 9051 §9.
func isCTL(c byte) bool { return c < 0x20 || c == 0x7f }

func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return !isCTL(c) && c < 0x80
}

func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }

func isListChar(c byte) bool { return isAStringChar(c) || c == '%' || c == '*' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) take(ok func(byte) bool) string {
	start := p.pos
	for !p.eol() && ok(p.line[p.pos]) {
		p.pos++
	}
	return string(p.line[start:p.pos])
}

func (p *parser) badChar(what string) {
	p.badByte()
	p.fail("expected %s at %s", what, p.where())
}

func (p *parser) atom() string {
	s := p.take(isAtomChar)
	if s == "" {
		p.badChar("atom")
	}
	return s
}

// word reads an atom and upper-cases it, for keywords.
func (p *parser) word() string { return upper(p.atom()) }

func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'a' && c <= 'z' {
					b[j] = c - 'a' + 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// keyword consumes kw (upper case) if the input has it, case-insensitively,
// followed by a non-atom character.
func (p *parser) keyword(kw string) bool {
	if len(p.line)-p.pos < len(kw) {
		return false
	}
	for i := 0; i < len(kw); i++ {
		c := p.line[p.pos+i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	if p.pos+len(kw) < len(p.line) && isAtomChar(p.line[p.pos+len(kw)]) {
		return false
	}
	p.pos += len(kw)
	return true
}

func (p *parser) number64() uint64 {
	s := p.take(isDigit)
	if s == "" {
		p.fail("expected number at %s", p.where())
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		p.fail("number out of range: %s", s)
	}
	return n
}

func (p *parser) number() uint32 {
	n := p.number64()
	if n > 0xffffffff {
		p.fail("number out of range: %d", n)
	}
	return uint32(n)
}

func (p *parser) nzNumber() uint32 {
	n := p.number()
	if n == 0 {
		p.fail("zero where a non-zero number is required")
	}
	return n
}

// modSeq reads mod-sequence-value (RFC 7162: 1..2^63-1).
func (p *parser) modSeq(allowZero bool) uint64 {
	n := p.number64()
	if n == 0 && !allowZero {
		p.fail("zero mod-sequence")
	}
	return n
}

func (p *parser) quoted() string {
	p.expect('"')
	var b []byte
	for {
		if p.eol() {
			p.fail("unterminated quoted string")
		}
		c := p.line[p.pos]
		p.pos++
		switch {
		case c == '"':
			if !utf8.Valid(b) {
				p.fail("invalid UTF-8 in quoted string")
			}
			return string(b)
		case c == '\\':
			if p.eol() || (p.peek() != '"' && p.peek() != '\\') {
				p.fail("bad escape in quoted string")
			}
			b = append(b, p.line[p.pos])
			p.pos++
		case c == 0 || c == '\r' || c == '\n':
			p.fail("CR, LF or NUL in quoted string")
		default:
			b = append(b, c)
		}
	}
}

// literalHeader parses "{n}", "{n+}", "~{n}" or "~{n+}" which must end the
// line, checks the limits and asks the LiteralFunc.
func (p *parser) literalHeader(allowBinary, isAppend bool) LiteralInfo {
	var info LiteralInfo
	if p.accept('~') {
		if !allowBinary {
			p.fail("literal8 not allowed here")
		}
		info.Binary = true
	}
	p.expect('{')
	info.Size = int64(p.number64())
	info.Sync = !p.accept('+')
	info.Append = isAppend
	p.expect('}')
	if !p.eol() {
		p.fail("literal announcement must end the line")
	}
	max := int64(p.r.lim.MaxLiteral)
	if isAppend {
		max = p.r.lim.MaxAppend
	}
	if !info.Sync && p.r.lim.MaxNonSync > 0 && p.r.lim.MaxNonSync < max {
		max = p.r.lim.MaxNonSync
	}
	if !isAppend && p.total+int(min(info.Size, 1<<40)) > p.r.lim.MaxCommand {
		p.refuse(info, ErrLiteralTooBig)
	}
	if info.Size > max {
		p.refuse(info, ErrLiteralTooBig)
	}
	if p.r.br == nil {
		p.fail("literal not allowed here")
	}
	if p.r.literal == nil && info.Sync {
		p.refuse(info, errors.New("synchronizing literals not accepted"))
	}
	if p.r.literal != nil {
		if err := p.r.literal(info); err != nil {
			p.refuse(info, err)
		}
	}
	return info
}

func (p *parser) refuse(info LiteralInfo, err error) {
	panic(bail{&LiteralError{Tag: p.tag, Info: info, NonSync: !info.Sync, Err: err}})
}

// literal reads a whole literal (never an APPEND message) and moves on to
// the line that follows it.
func (p *parser) literal(allowBinary bool) []byte {
	info := p.literalHeader(allowBinary, false)
	buf := make([]byte, info.Size)
	if _, err := io.ReadFull(p.r.br, buf); err != nil {
		p.ioFail(err)
	}
	p.total += len(buf)
	p.readLine()
	if !info.Binary && bytes.IndexByte(buf, 0) >= 0 {
		p.fail("NUL in literal")
	}
	return buf
}

func (p *parser) isLiteralStart() bool {
	return p.peek() == '{' || (p.peek() == '~' && p.peekAt(1) == '{')
}

// string reads a quoted string or a literal.
func (p *parser) string() string {
	switch {
	case p.peek() == '"':
		return p.quoted()
	case p.peek() == '{':
		b := p.literal(false)
		if !utf8.Valid(b) {
			p.fail("invalid UTF-8 in literal string")
		}
		return string(b)
	}
	p.fail("expected string at %s", p.where())
	return ""
}

func (p *parser) noLiteral8() {
	if p.peek() == '~' && p.peekAt(1) == '{' {
		p.fail("literal8 not allowed here")
	}
}

func (p *parser) astring() string {
	p.noLiteral8()
	if p.peek() == '"' || p.peek() == '{' {
		return p.string()
	}
	s := p.take(isAStringChar)
	if s == "" {
		p.badChar("astring")
	}
	return s
}

// nstring reads a string or NIL; ok is false for NIL.
func (p *parser) nstring() (s string, ok bool) {
	if p.keyword("NIL") {
		return "", false
	}
	return p.string(), true
}

// mailbox reads a mailbox name. "INBOX" is case-insensitive (RFC 9051
// §5.1) and is returned upper-cased; other names are returned as sent
// (modified UTF-7 decoding is the server's, as it depends on UTF8=ACCEPT).
func (p *parser) mailbox() string {
	return CanonicalMailbox(p.astring())
}

// CanonicalMailbox upper-cases name if it is INBOX in any case.
func CanonicalMailbox(name string) string {
	if len(name) == 5 && upper(name) == "INBOX" {
		return "INBOX"
	}
	return name
}

// listMailbox reads list-mailbox: list-chars or a string.
func (p *parser) listMailbox() string {
	p.noLiteral8()
	if p.peek() == '"' || p.peek() == '{' {
		return p.string()
	}
	s := p.take(isListChar)
	if s == "" {
		p.badChar("mailbox pattern")
	}
	return s
}

// list parses "(" [item *(SP item)] ")" calling item for each element.
func (p *parser) list(allowEmpty bool, item func()) {
	p.expect('(')
	p.enter()
	defer p.leave()
	if p.accept(')') {
		if !allowEmpty {
			p.fail("empty list")
		}
		return
	}
	for {
		item()
		if p.accept(')') {
			return
		}
		p.sp()
	}
}

// flag reads a flag: "\" atom or a keyword atom.
func (p *parser) flag() string {
	if p.accept('\\') {
		if p.accept('*') {
			return `\*`
		}
		return `\` + p.atom()
	}
	return p.atom()
}

func (p *parser) flagList() []string {
	flags := []string{}
	p.list(true, func() { flags = append(flags, p.flag()) })
	return flags
}

// resync discards what is left of a failed command so that the next read
// starts on a command boundary. A line ending in a non-synchronizing
// literal continues after the literal's bytes; one ending in a
// synchronizing literal ends the command, since the client waits for a
// continuation request that is not sent.
func (p *parser) resync() (closeConn bool) {
	for range 1 << 10 {
		info, ok := trailingLiteral(p.line[p.pos:])
		if !ok || info.Sync {
			return false
		}
		max := int64(p.r.lim.MaxLiteral)
		if p.r.lim.MaxNonSync > 0 {
			max = p.r.lim.MaxNonSync
		}
		if info.Size > max {
			return true
		}
		if _, err := p.r.br.Discard(int(info.Size)); err != nil {
			return true
		}
		var failed bool
		func() {
			defer func() {
				if recover() != nil {
					failed = true
				}
			}()
			p.readLine()
		}()
		if failed {
			return true
		}
	}
	return true
}

// trailingLiteral reports a literal announcement at the end of b.
func trailingLiteral(b []byte) (LiteralInfo, bool) {
	if len(b) < 3 || b[len(b)-1] != '}' {
		return LiteralInfo{}, false
	}
	open := bytes.LastIndexByte(b, '{')
	if open < 0 {
		return LiteralInfo{}, false
	}
	num := b[open+1 : len(b)-1]
	info := LiteralInfo{Sync: true}
	if bytes.HasSuffix(num, []byte("+")) {
		info.Sync = false
		num = num[:len(num)-1]
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil || n < 0 {
		return LiteralInfo{}, false
	}
	info.Size = n
	return info, true
}
