package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Reply is an SMTP reply: a three-digit code (RFC 5321 section 4.2), an
// optional enhanced status code (RFC 2034, RFC 3463) such as "5.1.1", and
// human-readable text. Text may hold several lines separated by "\n"; each
// becomes one line of a multi-line reply.
//
// *Reply is also an error: parsers and readers in this package return a
// *Reply (often one of the Err* values) whenever the session must answer
// something specific. Use errors.As to recover it.
type Reply struct {
	Code     int
	Enhanced string
	Text     string
}

// Error formats the reply as it would appear on one line of the wire,
// without CRLF.
func (r *Reply) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(r.Code))
	if r.Enhanced != "" {
		b.WriteByte(' ')
		b.WriteString(r.Enhanced)
	}
	if r.Text != "" {
		b.WriteByte(' ')
		b.WriteString(strings.ReplaceAll(r.Text, "\n", " / "))
	}
	return b.String()
}

// ReplyOf returns the reply carried by err, if err is or wraps a *Reply.
func ReplyOf(err error) (*Reply, bool) {
	var r *Reply
	if errors.As(err, &r) {
		return r, true
	}
	return nil, false
}

// WriteTo writes the reply in wire form. A multi-line reply uses "code-"
// on every line but the last (RFC 5321 section 4.2.1); the enhanced code is
// repeated at the start of every line's text (RFC 2034 section 4). CR, LF
// and other control characters inside a line are replaced by spaces so a
// reply can never inject a line of its own. An empty Text yields one line
// with the code (and enhanced code) alone.
//
// Code must be in 200..599; other values are written as 451 so that a bug
// cannot produce a reply a client would misread as success.
func (r *Reply) WriteTo(w io.Writer) (int64, error) {
	code := r.Code
	if code < 200 || code > 599 {
		code = 451
	}
	lines := strings.Split(r.Text, "\n")
	var b bytes.Buffer
	for i, line := range lines {
		b.WriteString(strconv.Itoa(code))
		if i < len(lines)-1 {
			b.WriteByte('-')
		} else {
			b.WriteByte(' ')
		}
		if r.Enhanced != "" {
			b.WriteString(r.Enhanced)
			if line != "" {
				b.WriteByte(' ')
			}
		}
		for j := 0; j < len(line); j++ {
			c := line[j]
			if c < ' ' || c == 0x7f {
				c = ' '
			}
			b.WriteByte(c)
		}
		b.WriteString("\r\n")
	}
	return b.WriteTo(w)
}

// Reply limits for ReadReply. RFC 5321 section 4.5.3.1.5 caps a reply line
// at 512 octets; real servers exceed it, so the reader is more lenient but
// still bounded.
const (
	MaxReplyLine  = 2048 // octets per line, including CRLF
	MaxReplyLines = 128  // lines per reply
)

// ErrMalformedReply is returned by ReadReply when a server's reply does
// not follow RFC 5321 section 4.2.
var ErrMalformedReply = errors.New("smtp: malformed reply")

// ReadReply reads one possibly multi-line reply (RFC 5321 section 4.2.1).
// Lines longer than MaxReplyLine or replies longer than MaxReplyLines are
// refused. Lines may end in CRLF or, leniently, a bare LF.
//
// lines holds each line's text after the code and separator, exactly as
// received. In the returned Reply, Text is those lines joined with "\n",
// each with the enhanced status code removed; Enhanced is set when the
// first line starts with one whose class matches the reply code (RFC 2034
// section 4 and RFC 3463 section 2).
func ReadReply(r *bufio.Reader) (Reply, []string, error) {
	var (
		rep   Reply
		lines []string
	)
	for {
		raw, err := readReplyLine(r)
		if err != nil {
			return Reply{}, nil, err
		}
		code, last, text, err := splitReplyLine(raw)
		if err != nil {
			return Reply{}, nil, err
		}
		if len(lines) == 0 {
			rep.Code = code
		} else if code != rep.Code {
			return Reply{}, nil, fmt.Errorf("%w: code %d after %d", ErrMalformedReply, code, rep.Code)
		}
		lines = append(lines, text)
		if last {
			break
		}
		if len(lines) >= MaxReplyLines {
			return Reply{}, nil, fmt.Errorf("%w: more than %d lines", ErrMalformedReply, MaxReplyLines)
		}
	}
	if enh, _ := splitEnhanced(lines[0], rep.Code); enh != "" {
		rep.Enhanced = enh
	}
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l
		if rep.Enhanced != "" {
			if enh, rest := splitEnhanced(l, rep.Code); enh == rep.Enhanced {
				texts[i] = rest
			}
		}
	}
	rep.Text = strings.Join(texts, "\n")
	return rep, lines, nil
}

func readReplyLine(r *bufio.Reader) ([]byte, error) {
	line, err := ReadLine(r, MaxReplyLine)
	switch {
	case err == nil, errors.Is(err, ErrBareLF):
		return line, nil
	case errors.Is(err, ErrLineTooLong):
		return nil, fmt.Errorf("%w: line longer than %d octets", ErrMalformedReply, MaxReplyLine)
	case errors.Is(err, io.EOF):
		return nil, io.ErrUnexpectedEOF
	}
	return nil, err
}

// splitReplyLine parses "ddd", "ddd text" or "ddd-text".
func splitReplyLine(line []byte) (code int, last bool, text string, err error) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, clip(line))
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, true, "", nil
	}
	switch line[3] {
	case ' ':
		last = true
	case '-':
	default:
		return 0, false, "", fmt.Errorf("%w: %q", ErrMalformedReply, clip(line))
	}
	return code, last, string(line[4:]), nil
}

// splitEnhanced splits "5.1.1 text" into "5.1.1" and "text" when the class
// digit agrees with code. RFC 3463 section 2: class 1 digit, subject and
// detail 1 to 3 digits each.
func splitEnhanced(s string, code int) (enh, rest string) {
	end := strings.IndexByte(s, ' ')
	if end < 0 {
		end = len(s)
	}
	if !validEnhanced(s[:end]) || int(s[0]-'0') != code/100 {
		return "", s
	}
	return s[:end], strings.TrimLeft(s[end:], " ")
}

func validEnhanced(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return false
			}
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// clip bounds untrusted input quoted in error messages.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
