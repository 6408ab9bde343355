package classify

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
)

// The stored forms start with a magic string naming the format and its
// version.
const (
	modelMagic    = "sealpost-classify-model-1\n"
	personalMagic = "sealpost-classify-personal-1\n"
	maxTokenBytes = 1024
)

var errBadModel = errors.New("classify: damaged model")

// MarshalBinary encodes the model: thresholds, biases, the non-zero
// weights (slot deltas and float32s) and the named slots.
func (m *Model) MarshalBinary() ([]byte, error) {
	b := []byte(modelMagic)
	b = append(b, m.bits)
	b = appendF64(b, m.Thresholds.Spam)
	b = appendF64(b, m.Thresholds.Phish)
	b = appendF32(b, m.bias[headSpam])
	b = appendF32(b, m.bias[headPhish])
	b = appendF32(b, m.rate)
	n := 0
	for s := range m.w[headSpam] {
		if m.w[headSpam][s] != 0 || m.w[headPhish][s] != 0 {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	last := -1
	for s := range m.w[headSpam] {
		if m.w[headSpam][s] == 0 && m.w[headPhish][s] == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(s-last))
		b = appendF32(b, m.w[headSpam][s])
		b = appendF32(b, m.w[headPhish][s])
		last = s
	}
	slots := slices.Sorted(maps.Keys(m.names))
	b = binary.AppendUvarint(b, uint64(len(slots)))
	for _, s := range slots {
		tok := m.names[s]
		if len(tok) > maxTokenBytes {
			tok = tok[:maxTokenBytes]
		}
		b = binary.AppendUvarint(b, uint64(s))
		b = binary.AppendUvarint(b, uint64(len(tok)))
		b = append(b, tok...)
	}
	return b, nil
}

// UnmarshalModel decodes what MarshalBinary encoded; damaged input is an
// error, never a panic or a huge allocation.
func UnmarshalModel(b []byte) (*Model, error) {
	r := reader{b: b}
	if !r.magic(modelMagic) {
		return nil, errors.New("classify: not a model")
	}
	bits := r.byte()
	if r.err != nil || bits < 10 || bits > 22 {
		return nil, errBadModel
	}
	m := newModel(bits)
	m.Thresholds.Spam = r.f64()
	m.Thresholds.Phish = r.f64()
	m.bias[headSpam] = r.f32()
	m.bias[headPhish] = r.f32()
	m.rate = r.f32()
	n := r.uvarint()
	if r.err != nil || n > uint64(len(m.w[headSpam])) || n > uint64(len(r.b)) {
		return nil, errBadModel
	}
	s := -1
	for range n {
		d := r.uvarint()
		if d == 0 || d > uint64(len(m.w[headSpam])) {
			return nil, errBadModel
		}
		s += int(d)
		if s >= len(m.w[headSpam]) {
			return nil, errBadModel
		}
		m.w[headSpam][s] = r.f32()
		m.w[headPhish][s] = r.f32()
	}
	names := r.uvarint()
	if r.err != nil || names > n || names > uint64(len(r.b)) {
		return nil, errBadModel
	}
	if names > 0 {
		m.names = make(map[uint32]string, names)
	}
	for range names {
		s := r.uvarint()
		l := r.uvarint()
		if s >= uint64(len(m.w[headSpam])) || l > maxTokenBytes {
			return nil, errBadModel
		}
		m.names[uint32(s)] = string(r.bytes(int(l)))
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errBadModel
	}
	for _, t := range []float64{m.Thresholds.Spam, m.Thresholds.Phish} {
		if math.IsNaN(t) || t < 0 || t > 1 {
			return nil, errBadModel
		}
	}
	return m, nil
}

// MarshalBinary encodes the account's weights and learned records.
func (p *Personal) MarshalBinary() ([]byte, error) {
	b := []byte(personalMagic)
	keys := slices.Sorted(maps.Keys(p.w))
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, x := range keys {
		b = binary.LittleEndian.AppendUint64(b, x)
		b = appendF32(b, p.w[x][headSpam])
		b = appendF32(b, p.w[x][headPhish])
	}
	fps := slices.Sorted(maps.Keys(p.learned))
	b = binary.AppendUvarint(b, uint64(len(fps)))
	for _, fp := range fps {
		e := p.learned[fp]
		b = binary.LittleEndian.AppendUint64(b, fp)
		b = append(b, byte(e.Class))
		b = appendF32(b, e.Step[headSpam])
		b = appendF32(b, e.Step[headPhish])
	}
	return b, nil
}

// UnmarshalPersonal decodes what Personal.MarshalBinary encoded.
func UnmarshalPersonal(b []byte) (*Personal, error) {
	r := reader{b: b}
	if !r.magic(personalMagic) {
		return nil, errors.New("classify: not a personal model")
	}
	p := NewPersonal()
	n := r.uvarint()
	if r.err != nil || n > maxPersonalWeights || n*16 > uint64(len(r.b)) {
		return nil, errBadModel
	}
	for range n {
		x := r.u64()
		p.w[x] = [heads]float32{r.f32(), r.f32()}
	}
	n = r.uvarint()
	if r.err != nil || n > maxPersonalLearned || n*17 > uint64(len(r.b)) {
		return nil, errBadModel
	}
	for range n {
		fp := r.u64()
		c := Class(r.byte())
		if c > Phish {
			return nil, errBadModel
		}
		p.learned[fp] = learnedEntry{Class: c, Step: [heads]float32{r.f32(), r.f32()}}
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errBadModel
	}
	return p, nil
}

func appendF64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

func appendF32(b []byte, v float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

// reader decodes, remembering the first error; a float that is not
// finite is an error too.
type reader struct {
	b   []byte
	err error
}

func (r *reader) magic(m string) bool {
	if len(r.b) < len(m) || string(r.b[:len(m)]) != m {
		return false
	}
	r.b = r.b[len(m):]
	return true
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = errBadModel
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.bytes(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (r *reader) f64() float64 {
	v := math.Float64frombits(r.u64())
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.err = errBadModel
		return 0
	}
	return v
}

func (r *reader) f32() float32 {
	v := r.bytes(4)
	if v == nil {
		return 0
	}
	f := math.Float32frombits(binary.LittleEndian.Uint32(v))
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		r.err = errBadModel
		return 0
	}
	return f
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) { // only the shortest form
		r.err = errBadModel
		return 0
	}
	r.b = r.b[n:]
	return v
}
