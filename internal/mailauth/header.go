package mailauth

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"

	"sealpost.dev/sealpost/internal/authres"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/mimeinfo"
)

// maxHeader bounds the header section read. Past it, only the first
// maxHeader bytes are looked at, for From and the fields claiming our id,
// and no DKIM signature or ARC set is checked.
const maxHeader = 1 << 20

// readerSize is the read buffer of a check. Large, so that a body on disk
// reaches the hashes in few pieces.
const readerSize = 64 << 10

// msgReader is a read buffer, a header buffer and the fields read into
// it, and the room the check's results are made in, pooled so that they
// cost nothing per message; a header buffer grown
// past maxPooledHeader, or fields past maxPooledFields, are not kept.
type msgReader struct {
	br     *bufio.Reader
	opened io.ReadCloser // what br reads, closed on release
	hdr    []byte
	fields dkim.Header // of hdr or of mem's message; kept when no longer than maxPooledFields
	// mem reads the body of a message held in memory, whose header
	// fields, the first inPlace of fields, are slices of its bytes.
	mem     bytes.Reader
	inPlace int
	// out is where the Authentication-Results field is written before
	// it is copied into a string: kept here, it is not a buffer zeroed
	// on the stack for every message.
	out []byte
	// room is what the check's results refer to until it returns.
	room checkRoom
}

const (
	maxPooledHeader = 64 << 10
	maxPooledFields = 256
	maxPooledOut    = 4 << 10
)

var readers = sync.Pool{New: func() any {
	return &msgReader{br: bufio.NewReaderSize(nil, readerSize), hdr: make([]byte, 0, 4<<10)}
}}

// open reads msg's header section, and returns it and a reader of the
// body that follows. A message held in memory (delivery.InMemory), most
// of them, is read where it lies: its header fields are slices of it and
// its body is hashed from it, where reading it through br copied it into
// br's buffer, then its header again into hdr. The header of one on disk,
// or one dkim.HeaderInPlace leaves (a bare LF, no empty line, a section
// past maxHeader), is read through br as before, to the same fields.
func (m *msgReader) open(msg delivery.Message) (header, io.Reader, error) {
	if b := delivery.Bytes(msg); b != nil {
		if h, body, ok := dkim.HeaderInPlace(b, maxHeader, m.fields); ok {
			if m.keepFields(h) {
				m.inPlace = len(h) // to be cleared on release
			}
			m.mem.Reset(body)
			return header{fields: h}, &m.mem, nil
		}
	}
	r, err := msg.Open()
	if err != nil {
		return header{}, nil, err
	}
	m.opened = r
	m.br.Reset(r)
	h, err := m.readMessageHeader(msg)
	return h, m.br, err
}

// keepFields keeps h's array for the next message, unless it is large,
// and reports whether it did.
func (m *msgReader) keepFields(h dkim.Header) bool {
	if h != nil && cap(h) <= maxPooledFields {
		m.fields = h[:0]
		return true
	}
	return false
}

// release returns m to the pool; neither m nor a header it read may be
// used after. The pool keeps no reference to a message held in memory.
func (m *msgReader) release() {
	if m.opened != nil {
		m.opened.Close()
		m.opened = nil
	}
	m.br.Reset(nil)
	m.mem.Reset(nil)
	if m.inPlace > 0 {
		clear(m.fields[:m.inPlace])
		m.inPlace = 0
	}
	if cap(m.out) > maxPooledOut {
		m.out = nil
	}
	m.room = checkRoom{} // nothing of one message's left for the next
	readers.Put(m)
}

// header is a message's header section, read once for every check.
type header struct {
	fields dkim.Header
	// truncated is set when the section was longer than maxHeader:
	// fields then holds its first maxHeader bytes.
	truncated bool
}

// readMessageHeader reads the header section from m.br, leaving it at the
// start of the body. For a section too large it reads the start of it from
// msg anew.
func (m *msgReader) readMessageHeader(msg delivery.Message) (header, error) {
	h, buf, err := dkim.ReadHeaderInto(m.br, maxHeader, m.hdr, m.fields)
	if cap(buf) <= maxPooledHeader {
		m.hdr = buf[:0]
	}
	m.keepFields(h)
	if errors.Is(err, dkim.ErrHeaderTooLarge) {
		return readTruncatedHeader(msg)
	}
	if err != nil {
		return header{}, err
	}
	return header{fields: h}, nil
}

func readTruncatedHeader(msg delivery.Message) (header, error) {
	r, err := msg.Open()
	if err != nil {
		return header{}, err
	}
	defer r.Close()
	start, err := io.ReadAll(io.LimitReader(r, maxHeader))
	if err != nil {
		return header{}, err
	}
	// The start is shorter than the limit, and ends where it ends: as a
	// header section of its own it reads without error.
	h, err := dkim.ReadHeader(bufio.NewReader(bytes.NewReader(start)), 2*maxHeader)
	if err != nil {
		return header{}, err
	}
	return header{fields: h, truncated: true}, nil
}

// claiming returns the Authentication-Results fields that claim
// authservID (authres.Claiming), indexed as delivery counts fields.
func (m *header) claiming(authservID string) []authres.Field {
	for _, f := range m.fields {
		if isName(f.Name, authres.FieldName) {
			return authres.Claiming(m.fields.Bytes(), authservID)
		}
	}
	return nil
}

// isName reports whether the field name equals name, an ASCII one, as
// strings.EqualFold tells. A name that matches is never shorter: the only
// other runes that fold to ASCII letters (U+017F, U+212A) take more bytes.
// Most fields are shorter than Authentication-Results, and are told so at
// once.
func isName(field, name string) bool {
	return len(field) >= len(name) && strings.EqualFold(field, name)
}

// fromDomains returns the domains of the addresses of the From fields.
func (m *header) fromDomains() []string { return m.appendFromDomains(nil, nil) }

// appendFromDomains appends to out the domains of the addresses of the
// From fields. A domain written as one of known is given as that string:
// the From domain of most mail is the domain of its signature, or of its
// envelope sender, and then it is not copied out of the header.
func (m *header) appendFromDomains(out, known []string) []string {
	for _, f := range m.fields {
		if !isName(f.Name, "From") {
			continue
		}
		if d, ok := plainFromDomain(f.Raw[bytes.IndexByte(f.Raw, ':')+1:]); ok {
			if string(d) != mimeinfo.MissingDomain {
				out = append(out, knownString(d, known))
			}
			continue
		}
		for _, a := range mimeinfo.ParseAddressList(unfold(f.Value())) {
			if !a.Group && a.Host != "" && a.Host != mimeinfo.MissingDomain {
				out = append(out, a.Host)
			}
		}
	}
	return out
}

// knownString returns b as a string: the one of known that it equals, or
// else a copy.
func knownString(b []byte, known []string) string {
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// plainFromDomain returns the domain of a From field's value in one of
// the two forms nearly every message has, on one line: "Name
// <local@domain>" (the name words and white space only, or nothing) and
// "local@domain", words being what mimeinfo reads as atoms. For those,
// mimeinfo.ParseAddressList reads one address, with that domain; this
// finds it in one pass, without the copies and allocations of the parser.
// Anything else (a comment, a quoted string, a group, several addresses,
// a folded line) returns false, for the parser.
func plainFromDomain(value []byte) ([]byte, bool) {
	value = trimWhite(value)
	addr := value
	if n := len(value); n > 0 && value[n-1] == '>' {
		lt := bytes.LastIndexByte(value, '<')
		if lt < 0 || !plainWords(value[:lt]) {
			return nil, false
		}
		addr = value[lt+1 : n-1]
	}
	at := bytes.IndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || !atoms(addr[:at]) || !atoms(addr[at+1:]) {
		return nil, false
	}
	return addr[at+1:], true
}

// trimWhite is bytes.Trim(b, " \t\r\n"), without building the set of
// four bytes for every call.
func trimWhite(b []byte) []byte {
	for len(b) > 0 && isWhite(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWhite(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isWhite(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// plainWords reports whether b is atoms separated by spaces and tabs.
func plainWords(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && !atomChar[c] {
			return false
		}
	}
	return true
}

func atoms(b []byte) bool {
	for _, c := range b {
		if !atomChar[c] {
			return false
		}
	}
	return true
}

// atomChar tells the bytes mimeinfo's address parser reads as part of an
// atom: all but the specials and white space. It is never written after
// init.
var atomChar = func() (t [256]bool) {
	for c := range t {
		t[c] = !strings.ContainsRune("()<>[]:;@\\,\" \t\r\n", rune(c))
	}
	return t
}()

// unfold joins a field value's lines with single spaces, as a header
// parser does.
func unfold(value string) string {
	if i := strings.IndexByte(value, '\n'); i < 0 || i == len(value)-1 {
		// One line, as most fields are.
		return strings.TrimSpace(value)
	}
	var b strings.Builder
	for line := range strings.Lines(value) {
		if line = strings.TrimSpace(line); line != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(line)
		}
	}
	return b.String()
}
