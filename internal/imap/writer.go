package imap

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultWriteBuffer is the Writer's buffer: responses reach the network
// when it fills (about every 32 KiB) or when the server calls Flush at the
// end of a command, never line by line.
const DefaultWriteBuffer = 32 << 10

// maxQuoted is the longest string sent quoted; longer ones go as literals
// so that clients with small line buffers cope.
const maxQuoted = 1024

// Writer encodes responses. Its methods chain and remember the first
// write error, which Err, End and Flush return.
//
// The buffer comes from a pool shared by all Writers when the first byte
// is written and goes back to it at Release, so that a connection waiting
// for its client holds none.
type Writer struct {
	out io.Writer
	bw  *bufio.Writer // nil while released
	// UTF8 allows UTF-8 in quoted strings and mailbox names (IMAP4rev2 or
	// ENABLE UTF8=ACCEPT, RFC 6855). Without it, 8-bit strings are sent as
	// literals and Mailbox encodes modified UTF-7.
	UTF8 bool
	err  error
}

// writeBuffers holds the buffers of released Writers.
var writeBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, DefaultWriteBuffer) }}

// NewWriter returns a Writer buffering DefaultWriteBuffer bytes.
func NewWriter(w io.Writer) *Writer { return &Writer{out: w} }

// Reset points the Writer at w, dropping buffered data and any error (for
// STARTTLS and COMPRESS, after a Flush).
func (w *Writer) Reset(out io.Writer) {
	w.out = out
	if w.bw != nil {
		w.bw.Reset(out)
	}
	w.err = nil
}

// Release returns the buffer to the pool if nothing waits in it: call it
// after Flush, before waiting for the client. The Writer takes a buffer
// again when next written to.
func (w *Writer) Release() {
	if w.bw == nil || w.bw.Buffered() > 0 {
		return
	}
	w.bw.Reset(nil)
	writeBuffers.Put(w.bw)
	w.bw = nil
}

func (w *Writer) buf() *bufio.Writer {
	if w.bw == nil {
		w.bw = writeBuffers.Get().(*bufio.Writer)
		w.bw.Reset(w.out)
	}
	return w.bw
}

// Err returns the first write error.
func (w *Writer) Err() error { return w.err }

// Buffered returns the number of bytes not yet flushed.
func (w *Writer) Buffered() int {
	if w.bw == nil {
		return 0
	}
	return w.bw.Buffered()
}

// Flusher is a destination that buffers on its own, such as a
// compressing layer (COMPRESS=DEFLATE, RFC 4978): Flush passes the flush
// on, so that what the client waits for is on the wire.
type Flusher interface {
	io.Writer
	Flush() error
}

// Flush sends what is buffered: at the end of a command, before waiting
// for the client (continuation requests, IDLE).
func (w *Writer) Flush() error {
	if w.err == nil && w.bw != nil {
		w.err = w.bw.Flush()
	}
	if f, ok := w.out.(Flusher); ok && w.err == nil {
		w.err = f.Flush()
	}
	return w.err
}

func (w *Writer) raw(s string) *Writer {
	if w.err == nil {
		_, w.err = w.buf().WriteString(s)
	}
	return w
}

func (w *Writer) byte(c byte) *Writer {
	if w.err == nil {
		w.err = w.buf().WriteByte(c)
	}
	return w
}

// Atom writes s as is. The caller guarantees it is an atom (or a flag,
// a keyword like "FETCH", or a pre-formatted token).
func (w *Writer) Atom(s string) *Writer { return w.raw(s) }

// SP writes a space.
func (w *Writer) SP() *Writer { return w.byte(' ') }

// Open writes "(".
func (w *Writer) Open() *Writer { return w.byte('(') }

// Close writes ")".
func (w *Writer) Close() *Writer { return w.byte(')') }

// Number writes a decimal number.
func (w *Writer) Number(n uint64) *Writer {
	var buf [20]byte
	return w.raw(string(strconv.AppendUint(buf[:0], n, 10)))
}

// NIL writes NIL.
func (w *Writer) NIL() *Writer { return w.raw("NIL") }

// Untagged starts an untagged response: "* ".
func (w *Writer) Untagged() *Writer { return w.raw("* ") }

// End finishes a response line with CRLF. The line is not flushed.
func (w *Writer) End() error {
	w.raw("\r\n")
	return w.err
}

// stringForm says how String would send s.
type stringForm int

const (
	formQuoted stringForm = iota
	formLiteral
	formLiteral8 // holds NUL: only a literal8 can carry it
)

func (w *Writer) formOf(s string) stringForm {
	form := formQuoted
	if len(s) > maxQuoted {
		form = formLiteral
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return formLiteral8
		case c == '\r' || c == '\n':
			form = formLiteral
		case c >= 0x80 && (!w.UTF8 || !utf8.ValidString(s)):
			form = formLiteral
		}
	}
	return form
}

// String writes s as a quoted string, or as a literal if it holds CR, LF,
// 8-bit data the client has not accepted (see UTF8) or more than 1024
// bytes. A string with NUL goes as a literal8 (RFC 3516); callers sending
// to clients without BINARY must not pass one.
func (w *Writer) String(s string) *Writer {
	switch w.formOf(s) {
	case formLiteral:
		return w.literalString(s, false)
	case formLiteral8:
		return w.literalString(s, true)
	}
	w.byte('"')
	if !strings.ContainsAny(s, `"\`) {
		return w.raw(s).byte('"')
	}
	return w.quotedSlow(s)
}

// quotedSlow writes the escaped body of a quoted string and its closing
// quote; String has written the opening one.
func (w *Writer) quotedSlow(s string) *Writer {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return w.raw(b.String()).byte('"')
}

func (w *Writer) literalString(s string, binary bool) *Writer {
	if binary {
		w.byte('~')
	}
	return w.byte('{').Number(uint64(len(s))).raw("}\r\n").raw(s)
}

// NString writes s, or NIL if !ok.
func (w *Writer) NString(s string, ok bool) *Writer {
	if !ok {
		return w.NIL()
	}
	return w.String(s)
}

// AString writes s as an atom when it is one (and is not NIL), else as
// String does.
func (w *Writer) AString(s string) *Writer {
	if isAtomString(s) && !strings.EqualFold(s, "NIL") {
		return w.raw(s)
	}
	return w.String(s)
}

func isAtomString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAStringChar(s[i]) {
			return false
		}
	}
	return true
}

// Mailbox writes a mailbox name given in UTF-8: modified UTF-7 unless the
// client accepts UTF-8 (RFC 9051 §5.1, RFC 6855 §3).
func (w *Writer) Mailbox(name string) *Writer {
	if !w.UTF8 {
		name = EncodeMailboxUTF7(name)
	}
	return w.AString(name)
}

// Literal streams a literal of n bytes from r (literal8 if binary). It
// fails with io.ErrUnexpectedEOF if r ends early: the response is then
// broken and the connection must be closed.
func (w *Writer) Literal(n int64, r io.Reader, binary bool) *Writer {
	if binary {
		w.byte('~')
	}
	w.byte('{').Number(uint64(n)).raw("}\r\n")
	if w.err != nil {
		return w
	}
	got, err := io.CopyN(w.buf(), r, n)
	if err != nil && got < n {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		w.err = fmt.Errorf("imap: writing literal: %w", err)
	}
	return w
}

// SeqSet writes a sequence set.
func (w *Writer) SeqSet(s SeqSet) *Writer { return w.raw(s.String()) }

// DateTime writes a quoted date-time.
func (w *Writer) DateTime(t time.Time) *Writer {
	return w.byte('"').raw(FormatDateTime(t)).byte('"')
}

// List writes "(" items ")" with each item written by item.
func (w *Writer) List(n int, item func(i int)) *Writer {
	w.Open()
	for i := range n {
		if i > 0 {
			w.SP()
		}
		item(i)
	}
	return w.Close()
}

// Flags writes a parenthesised flag list.
func (w *Writer) Flags(flags []string) *Writer {
	return w.List(len(flags), func(i int) { w.raw(flags[i]) })
}

// text makes resp-text safe: no CR, LF or NUL, and never empty (some
// clients need text after the code).
func text(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "done"
	}
	return s
}

// Status writes a status response: tag ("*" for untagged), status (OK,
// NO, BAD, PREAUTH, BYE), an optional response code and text.
func (w *Writer) Status(tag, status string, code Code, txt string) error {
	w.raw(tag).SP().raw(status).SP()
	if code != "" {
		w.byte('[').raw(string(code)).raw("] ")
	}
	return w.raw(text(txt)).End()
}

// Continue sends a continuation request and flushes: the client is
// waiting for it.
func (w *Writer) Continue(txt string) error {
	w.raw("+ ").raw(text(txt)).End()
	return w.Flush()
}

// Exists writes "* n EXISTS".
func (w *Writer) Exists(n uint32) error {
	return w.Untagged().Number(uint64(n)).raw(" EXISTS").End()
}

// Expunge writes "* n EXPUNGE".
func (w *Writer) Expunge(seq uint32) error {
	return w.Untagged().Number(uint64(seq)).raw(" EXPUNGE").End()
}

// Vanished writes "* VANISHED [(EARLIER)] uids" (RFC 7162 §3.2.10).
func (w *Writer) Vanished(earlier bool, uids SeqSet) error {
	w.raw("* VANISHED ")
	if earlier {
		w.raw("(EARLIER) ")
	}
	return w.SeqSet(uids).End()
}

// Capability writes "* CAPABILITY caps...".
func (w *Writer) Capability(caps []string) error {
	w.raw("* CAPABILITY")
	for _, c := range caps {
		w.SP().raw(c)
	}
	return w.End()
}

// Code is a response code's contents, without the brackets: "CLOSED",
// "UIDVALIDITY 3". Build parameterised ones with the Code* functions.
type Code string

// Response codes without parameters (RFC 9051 §7.1, RFC 5530, RFC 7162,
// RFC 4315, RFC 9208).
const (
	CodeAlert              Code = "ALERT"
	CodeAlreadyExists      Code = "ALREADYEXISTS"
	CodeAuthenticationFail Code = "AUTHENTICATIONFAILED"
	CodeAuthorizationFail  Code = "AUTHORIZATIONFAILED"
	CodeCannot             Code = "CANNOT"
	CodeClientBug          Code = "CLIENTBUG"
	CodeClosed             Code = "CLOSED"
	CodeContactAdmin       Code = "CONTACTADMIN"
	CodeCorruption         Code = "CORRUPTION"
	CodeExpired            Code = "EXPIRED"
	CodeExpungeIssued      Code = "EXPUNGEISSUED"
	CodeHasChildren        Code = "HASCHILDREN"
	CodeInUse              Code = "INUSE"
	CodeLimit              Code = "LIMIT"
	CodeNoModSeq           Code = "NOMODSEQ"
	CodeNonExistent        Code = "NONEXISTENT"
	CodeNoPerm             Code = "NOPERM"
	CodeOverQuota          Code = "OVERQUOTA"
	CodeParse              Code = "PARSE"
	CodePrivacyRequired    Code = "PRIVACYREQUIRED"
	CodeReadOnly           Code = "READ-ONLY"
	CodeReadWrite          Code = "READ-WRITE"
	CodeServerBug          Code = "SERVERBUG"
	CodeTooBig             Code = "TOOBIG"
	CodeTryCreate          Code = "TRYCREATE"
	CodeUIDNotSticky       Code = "UIDNOTSTICKY"
	CodeUnavailable        Code = "UNAVAILABLE"
	CodeUnknownCTE         Code = "UNKNOWN-CTE"
	CodeCompressionActive  Code = "COMPRESSIONACTIVE"
	CodeNotSaved           Code = "NOTSAVED"
)

// CodeUIDValidity is [UIDVALIDITY n].
func CodeUIDValidity(v uint32) Code { return Code("UIDVALIDITY " + strconv.FormatUint(uint64(v), 10)) }

// CodeUIDNext is [UIDNEXT n].
func CodeUIDNext(n uint32) Code { return Code("UIDNEXT " + strconv.FormatUint(uint64(n), 10)) }

// CodeHighestModSeq is [HIGHESTMODSEQ n] (RFC 7162 §3.1.2.1).
func CodeHighestModSeq(n uint64) Code { return Code("HIGHESTMODSEQ " + strconv.FormatUint(n, 10)) }

// CodeModified is [MODIFIED set] (RFC 7162 §3.1.3).
func CodeModified(s SeqSet) Code { return Code("MODIFIED " + s.String()) }

// CodeAppendUID is [APPENDUID uidvalidity uids] (RFC 4315 §3).
func CodeAppendUID(validity uint32, uids SeqSet) Code {
	return Code("APPENDUID " + strconv.FormatUint(uint64(validity), 10) + " " + uids.String())
}

// CodeCopyUID is [COPYUID uidvalidity source-uids dest-uids] (RFC 4315
// §3). The sets must list corresponding UIDs in the same ascending order.
func CodeCopyUID(validity uint32, src, dst SeqSet) Code {
	return Code("COPYUID " + strconv.FormatUint(uint64(validity), 10) + " " + src.String() + " " + dst.String())
}

// CodePermanentFlags is [PERMANENTFLAGS (flags)].
func CodePermanentFlags(flags []string) Code {
	return Code("PERMANENTFLAGS (" + strings.Join(flags, " ") + ")")
}

// CodeCapability is [CAPABILITY caps].
func CodeCapability(caps []string) Code { return Code("CAPABILITY " + strings.Join(caps, " ")) }

// CodeBadCharset is [BADCHARSET (charsets)].
func CodeBadCharset(charsets []string) Code {
	return Code("BADCHARSET (" + strings.Join(charsets, " ") + ")")
}

// CodeMailboxID is [MAILBOXID (id)] (RFC 8474).
func CodeMailboxID(id string) Code { return Code("MAILBOXID (" + id + ")") }
