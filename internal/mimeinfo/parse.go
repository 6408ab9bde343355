package mimeinfo

import (
	"bytes"
	"io"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// maxLine is the longest line the parser looks at whole; longer lines are
// taken in pieces, only the first of which can be a delimiter or end a
// header.
const maxLine = 8 << 10

// maxCapture bounds the raw body bytes kept for the preview.
const maxCapture = 8 << 10

// Parse reads a whole message and describes it.
func Parse(r io.Reader) (*Summary, error) {
	s := NewSummarizer()
	if _, err := io.Copy(s, r); err != nil {
		return nil, err
	}
	return s.Summary(), nil
}

// Summarizer describes a message written to it, line by line, keeping only
// bounded state. Its Write never fails, so it can sit in an io.TeeReader or
// io.MultiWriter beside the writer that stores the message.
type Summarizer struct {
	off      int64  // bytes seen
	pending  []byte // the start of a line not yet ended, at most maxLine
	midLine  bool   // the next byte continues a line already looked at
	prevTerm int64  // length of the line end of the last whole line
	stack    []*frame
	root     *Part
	nparts   int
	// headerOnly is set once the message passes MaxParse; done once,
	// after that, the top-level header has ended and the rest is only
	// counted.
	headerOnly, done bool
	plain, html      *capture
}

// frame is a part being read.
type frame struct {
	part        *Part
	depth       int
	inHeader    bool
	hdr         []byte // header bytes, at most MaxHeader
	defaultType string
	message     bool   // the part is a message: it gets an Envelope
	attached    bool   // inside a message/rfc822 part: no preview from it
	delim       []byte // "--boundary" once a multipart's body begins
	childType   string
	closed      bool  // the closing delimiter was seen
	lastLine    int64 // offset of the last body line counted
	capture     *capture
}

// capture keeps the start of a text part's body for the preview.
type capture struct {
	part *Part
	raw  []byte
}

// NewSummarizer returns a Summarizer for one message.
func NewSummarizer() *Summarizer {
	s := &Summarizer{root: &Part{}}
	s.stack = []*frame{{part: s.root, inHeader: true, defaultType: "text/plain", message: true, lastLine: -1}}
	s.nparts = 1
	return s
}

// Write takes the next bytes of the message. It never fails.
func (s *Summarizer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if s.done {
			s.off += int64(len(p))
			break
		}
		nl := bytes.IndexByte(p, '\n')
		if nl < 0 {
			room := maxLine - len(s.pending)
			if len(p) <= room {
				s.pending = append(s.pending, p...)
				break
			}
			s.pending = append(s.pending, p[:room]...)
			p = p[room:]
			s.flushPending()
			continue
		}
		seg := p[:nl+1]
		p = p[nl+1:]
		if len(s.pending) > 0 {
			if len(s.pending)+len(seg) <= maxLine {
				s.pending = append(s.pending, seg...)
				s.handle(s.pending, true)
				s.pending = s.pending[:0]
				continue
			}
			s.flushPending()
		}
		s.handle(seg, true)
	}
	return n, nil
}

// flushPending hands on the start of an unfinished line.
func (s *Summarizer) flushPending() {
	s.handle(s.pending, false)
	s.pending = s.pending[:0]
}

// handle takes a piece of a line at s.off; whole means it ends the line.
func (s *Summarizer) handle(b []byte, whole bool) {
	if s.done {
		s.off += int64(len(b))
		return
	}
	if !s.headerOnly && s.off+int64(len(b)) > MaxParse {
		s.headerOnly = true
		if !s.stack[0].inHeader {
			s.done = true
			s.off += int64(len(b))
			return
		}
	}
	s.line(b, !s.midLine, whole)
	s.off += int64(len(b))
	s.midLine = !whole
	if whole {
		s.prevTerm = 1
		if len(b) >= 2 && b[len(b)-2] == '\r' {
			s.prevTerm = 2
		}
	}
}

// line takes a line, or a piece of one (atStart tells whether it begins
// the line, whole whether it ends it).
func (s *Summarizer) line(b []byte, atStart, whole bool) {
	start := s.off
	if atStart && len(b) >= 2 && b[0] == '-' && b[1] == '-' && s.delimiter(b, start) {
		return
	}
	if atStart {
		for _, f := range s.stack {
			if !f.inHeader {
				f.part.Lines++
				f.lastLine = start
			}
		}
	}
	f := s.stack[len(s.stack)-1]
	if !f.inHeader {
		if f.capture != nil && len(f.capture.raw) < maxCapture {
			f.capture.raw = append(f.capture.raw, b[:min(len(b), maxCapture-len(f.capture.raw))]...)
		}
		return
	}
	if atStart {
		t := bytes.TrimRight(b, "\r\n")
		if len(t) == 0 && whole {
			s.endHeader(f, start+int64(len(b)), true)
			return
		}
		if len(f.hdr) == 0 && bytes.IndexByte(t, ':') < 0 {
			// Not a header at all: the part is all body.
			s.endHeader(f, start, true)
			s.line(b, atStart, whole)
			return
		}
	}
	if len(f.hdr)+len(b) <= MaxHeader {
		f.hdr = append(f.hdr, b...)
	}
}

// delimiter checks a line against the boundaries of the open multiparts,
// innermost first (RFC 2046 §5.1.1). A delimiter ends the parts opened
// inside its multipart and, unless it is the closing one, begins the next.
func (s *Summarizer) delimiter(b []byte, start int64) bool {
	t := bytes.TrimRight(b, " \t\r\n")
	for i := len(s.stack) - 1; i >= 0; i-- {
		f := s.stack[i]
		if f.delim == nil || f.closed || !bytes.HasPrefix(t, f.delim) {
			continue
		}
		rest := t[len(f.delim):]
		closing := string(rest) == "--"
		if len(rest) != 0 && !closing {
			continue
		}
		end := start - s.prevTerm // the line end before belongs to the delimiter
		for len(s.stack) > i+1 {
			s.pop(end)
		}
		for _, g := range s.stack {
			g.part.Lines++
			g.lastLine = start
		}
		if closing {
			f.closed = true
		} else {
			s.pushPart(f, start+int64(len(b)))
		}
		return true
	}
	return false
}

// pushPart begins the next part of multipart f at off.
func (s *Summarizer) pushPart(f *frame, off int64) {
	if s.nparts >= MaxParts {
		return
	}
	s.nparts++
	p := &Part{Start: off}
	f.part.Parts = append(f.part.Parts, p)
	s.stack = append(s.stack, &frame{part: p, depth: f.depth + 1, inHeader: true,
		defaultType: f.childType, attached: f.attached, lastLine: -1})
}

// endHeader ends the header of f with the body at bodyStart and, when
// open, starts reading what the body holds.
func (s *Summarizer) endHeader(f *frame, bodyStart int64, open bool) {
	p := f.part
	f.inHeader = false
	p.BodyStart = bodyStart
	_, h := mimeutil.ParseHeader(f.hdr)
	f.hdr = nil
	p.describe(h, f.defaultType)
	if f.message {
		p.Envelope = envelope(h)
	}
	if s.headerOnly {
		s.done = len(s.stack) == 1
		return
	}
	if !open || f.depth >= MaxDepth {
		return
	}
	switch {
	case p.Type == "multipart" && p.Param("boundary") != "":
		f.delim = []byte("--" + p.Param("boundary"))
		f.childType = "text/plain"
		if p.Subtype == "digest" {
			f.childType = "message/rfc822"
		}
	case p.IsMessage() && s.nparts < MaxParts:
		s.nparts++
		m := &Part{Start: bodyStart}
		p.Message = m
		s.stack = append(s.stack, &frame{part: m, depth: f.depth + 1, inHeader: true,
			defaultType: "text/plain", message: true, attached: true, lastLine: -1})
	case p.Type == "text" && !f.attached && p.Disposition != "attachment":
		switch {
		case p.Subtype == "plain" && s.plain == nil:
			s.plain = &capture{part: p}
			f.capture = s.plain
		case p.Subtype == "html" && s.html == nil:
			s.html = &capture{part: p}
			f.capture = s.html
		}
	}
}

// pop ends the innermost part at end.
func (s *Summarizer) pop(end int64) {
	f := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	p := f.part
	p.End = max(end, p.Start)
	if f.inHeader {
		s.endHeader(f, p.End, false)
	}
	if f.lastLine >= p.End {
		p.Lines-- // the line begins where the part ends: it is the delimiter's
	}
	if f.delim != nil && len(p.Parts) == 0 {
		// A multipart without parts has one empty text part.
		e := &Part{Start: p.BodyStart, BodyStart: p.BodyStart, End: p.BodyStart}
		e.describe(nil, "text/plain")
		p.Parts = []*Part{e}
	}
}

// Summary ends the message and returns its description. The Summarizer
// must not be used after.
func (s *Summarizer) Summary() *Summary {
	if len(s.pending) > 0 {
		s.flushPending()
	}
	s.done = false
	for len(s.stack) > 0 {
		s.pop(s.off)
	}
	sum := &Summary{Size: s.off, Root: s.root, HeaderOnly: s.headerOnly}
	if s.headerOnly {
		s.root.Parts, s.root.Message, s.root.Lines, s.root.End = nil, nil, 0, s.off
		return sum
	}
	c := s.plain
	if c == nil {
		c = s.html
	}
	if c != nil {
		sum.Preview = preview(c.part, c.raw)
	}
	return sum
}
