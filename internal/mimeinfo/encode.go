package mimeinfo

import (
	"encoding/binary"
	"errors"
)

// Version is the version of the encoding Encode writes and Decode reads.
// It changes whenever the encoding or what the parser finds changes, so
// that summaries stored by an older Sealpost are computed again.
const Version = 1

// ErrVersion is returned by Decode for a summary of another version.
var ErrVersion = errors.New("mimeinfo: summary of another version")

var errCorrupt = errors.New("mimeinfo: corrupt summary")

// Encode returns the stored form of a summary: a version byte, then
// varints and length-prefixed strings.
func (s *Summary) Encode() []byte {
	e := encoder{buf: make([]byte, 0, 256)}
	e.buf = append(e.buf, Version)
	e.uint(uint64(s.Size))
	e.bool(s.HeaderOnly)
	e.str(s.Preview)
	e.part(s.Root)
	return e.buf
}

type encoder struct{ buf []byte }

func (e *encoder) uint(n uint64) { e.buf = binary.AppendUvarint(e.buf, n) }
func (e *encoder) int(n int64)   { e.buf = binary.AppendVarint(e.buf, n) }

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) params(ps []Param) {
	e.uint(uint64(len(ps)))
	for _, p := range ps {
		e.str(p.Name)
		e.str(p.Value)
	}
}

func (e *encoder) part(p *Part) {
	e.uint(uint64(p.Start))
	e.uint(uint64(p.BodyStart - p.Start))
	e.int(p.End - p.BodyStart)
	e.uint(uint64(p.Lines))
	e.str(p.Type)
	e.str(p.Subtype)
	e.params(p.Params)
	for _, s := range []string{p.ID, p.Description, p.Encoding, p.MD5, p.Disposition} {
		e.str(s)
	}
	e.params(p.DispParams)
	e.str(p.Language)
	e.str(p.Location)
	e.bool(p.Envelope != nil)
	if p.Envelope != nil {
		e.envelope(p.Envelope)
	}
	e.uint(uint64(len(p.Parts)))
	for _, c := range p.Parts {
		e.part(c)
	}
	e.bool(p.Message != nil)
	if p.Message != nil {
		e.part(p.Message)
	}
}

func (e *encoder) envelope(v *Envelope) {
	e.str(v.Date)
	e.str(v.Subject)
	for _, l := range [][]Address{v.From, v.Sender, v.ReplyTo, v.To, v.Cc, v.Bcc} {
		e.uint(uint64(len(l)))
		for _, a := range l {
			e.bool(a.Group)
			e.str(a.Name)
			e.str(a.Route)
			e.str(a.Mailbox)
			e.str(a.Host)
		}
	}
	e.str(v.InReplyTo)
	e.str(v.MessageID)
	e.str(v.References)
}

// Decode reads a summary written by Encode. It fails with ErrVersion for
// a summary of another version, and with an error for anything it cannot
// read; it never panics.
func Decode(b []byte) (*Summary, error) {
	if len(b) == 0 {
		return nil, errCorrupt
	}
	if b[0] != Version {
		return nil, ErrVersion
	}
	d := decoder{s: string(b[1:])}
	s := &Summary{}
	s.Size = int64(d.uint())
	s.HeaderOnly = d.bool()
	s.Preview = d.str()
	s.Root = d.part(0)
	if d.err != nil || d.pos != len(d.s) {
		return nil, errCorrupt
	}
	return s, nil
}

// decoder reads an encoded summary. The strings it returns share the
// memory of one copy of the input, so that a summary takes few
// allocations to decode.
type decoder struct {
	s      string
	pos    int
	err    error
	nparts int
}

func (d *decoder) fail() {
	d.err = errCorrupt
	d.pos = len(d.s)
}

func (d *decoder) left() int { return len(d.s) - d.pos }

// uint reads a uvarint, as binary.Uvarint does.
func (d *decoder) uint() uint64 {
	var n uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.pos >= len(d.s) {
			break
		}
		b := d.s[d.pos]
		d.pos++
		n |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if n > 1<<62 || (shift == 63 && b > 1) {
				break
			}
			return n
		}
	}
	d.fail()
	return 0
}

func (d *decoder) int() int64 {
	u := d.uint()
	n := int64(u >> 1)
	if u&1 != 0 {
		n = ^n
	}
	return n
}

func (d *decoder) bool() bool {
	if d.pos >= len(d.s) {
		d.fail()
		return false
	}
	b := d.s[d.pos]
	d.pos++
	if b > 1 {
		d.fail()
	}
	return b == 1
}

func (d *decoder) str() string {
	n := d.uint()
	if n > uint64(d.left()) {
		d.fail()
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

// count reads a count of items each taking at least min bytes.
func (d *decoder) count(min int) int {
	n := d.uint()
	if n > uint64(d.left()/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) params() []Param {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		ps[i] = Param{d.str(), d.str()}
	}
	return ps
}

func (d *decoder) part(depth int) *Part {
	d.nparts++
	if depth > MaxDepth+1 || d.nparts > MaxParts+1 || d.err != nil {
		d.fail()
		return &Part{}
	}
	p := &Part{}
	p.Start = int64(d.uint())
	p.BodyStart = p.Start + int64(d.uint())
	p.End = p.BodyStart + d.int()
	p.Lines = int64(d.uint())
	p.Type, p.Subtype = d.str(), d.str()
	p.Params = d.params()
	p.ID, p.Description, p.Encoding, p.MD5, p.Disposition = d.str(), d.str(), d.str(), d.str(), d.str()
	p.DispParams = d.params()
	p.Language, p.Location = d.str(), d.str()
	if d.bool() {
		p.Envelope = d.envelope()
	}
	if n := d.count(8); n > 0 {
		p.Parts = make([]*Part, n)
		for i := range p.Parts {
			p.Parts[i] = d.part(depth + 1)
		}
	}
	if d.bool() {
		p.Message = d.part(depth + 1)
	}
	return p
}

func (d *decoder) envelope() *Envelope {
	v := &Envelope{Date: d.str(), Subject: d.str()}
	for _, l := range []*[]Address{&v.From, &v.Sender, &v.ReplyTo, &v.To, &v.Cc, &v.Bcc} {
		n := d.count(5)
		if n == 0 {
			continue
		}
		*l = make([]Address, n)
		for i := range *l {
			a := &(*l)[i]
			a.Group = d.bool()
			a.Name, a.Route, a.Mailbox, a.Host = d.str(), d.str(), d.str(), d.str()
		}
	}
	v.InReplyTo, v.MessageID, v.References = d.str(), d.str(), d.str()
	return v
}
