package imapserver

import (
	"errors"
	"io"
)

// inflater decodes the client's raw deflate stream (RFC 1951) under
// COMPRESS. compress/flate's reader hands out a block's bytes only when
// the block is followed by a stored one (the sync flush), or the window
// fills: clients that end a command with a partial flush (zlib's
// Z_PARTIAL_FLUSH, as isync does) would wait for an answer forever. This
// one hands out every byte as soon as its code is complete, and stops at
// a code not yet wholly arrived rather than wait for it while it has
// output to give. It decodes a code at a time, as zlib's puff.c does,
// which is fast enough for what clients send.
type inflater struct {
	src   *byteSource
	bits  uint64 // bits read ahead, the next one lowest
	nbits uint

	inBlock, final bool
	stored         int // bytes left in a stored block; -1 in a Huffman block
	lit, dist      *huffman
	dyn            [2]huffman // the tables of a dynamic block
	copyLen        int
	copyDist       int
	err            error

	// hist is the window, the last 32 KiB decoded: allocated apart, as
	// 32 KiB is the largest size the allocator serves without rounding
	// up to whole pages.
	hist    *[1 << 15]byte
	written int64
}

// huffman is a canonical Huffman code: how many codes of each length, and
// the symbols in code order.
type huffman struct {
	count  [16]uint16
	symbol []uint16
}

var (
	errInflate = errors.New("compress: invalid deflate data")
	// codeOrder is the order of the code length code lengths (§3.2.7).
	codeOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	lenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	fixedLit, fixedDist = fixedCodes()
)

func fixedCodes() (*huffman, *huffman) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	lit, dist := &huffman{}, &huffman{}
	lit.build(l[:])
	dist.build(d[:])
	return lit, dist
}

// build makes the code from the code lengths and returns how many codes
// are left unused: negative if over-subscribed, 0 if complete.
func (h *huffman) build(lengths []uint8) int {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	if int(h.count[0]) == len(lengths) {
		return 0
	}
	left := 1
	for l := 1; l <= 15; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return left
		}
	}
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + int(h.count[l])
	}
	h.symbol = h.symbol[:0]
	h.symbol = append(h.symbol, make([]uint16, len(lengths))...)
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return left
}

func newInflaterOver(src *byteSource) *inflater {
	return &inflater{src: src, hist: new([1 << 15]byte)}
}

// need makes sure k bits are read ahead. Without wait it reads only what
// the byteSource holds, and reports false when that is not enough.
func (f *inflater) need(k uint, wait bool) (bool, error) {
	for f.nbits < k {
		c, ok, err := f.src.take(wait)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
		f.bits |= uint64(c) << f.nbits
		f.nbits += 8
	}
	return true, nil
}

func (f *inflater) consume(k uint) {
	f.bits >>= k
	f.nbits -= k
}

// decode reads the code at bit off of the read-ahead without consuming it.
func (f *inflater) decode(h *huffman, off uint, wait bool) (sym int, length uint, ok bool, err error) {
	code, first, index := 0, 0, 0
	for l := uint(1); l <= 15; l++ {
		if ok, err := f.need(off+l, wait); !ok || err != nil {
			return 0, 0, false, err
		}
		code |= int(f.bits>>(off+l-1)) & 1
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), l, true, nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, 0, false, errInflate
}

func (f *inflater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && f.err == nil {
		wait := n == 0
		switch {
		case f.copyLen > 0:
			for f.copyLen > 0 && n < len(p) {
				p[n] = f.hist[(f.written-int64(f.copyDist))&(1<<15-1)]
				f.put(p[n])
				n++
				f.copyLen--
			}
		case !f.inBlock && f.final:
			f.err = io.EOF
		case !f.inBlock:
			if !wait {
				return n, nil // the next block's header may not have come
			}
			f.err = noEOF(f.header())
		case f.stored == 0:
			f.inBlock = false
		case f.stored > 0:
			ok, err := f.need(8, wait)
			if err != nil {
				f.err = noEOF(err)
			} else if !ok {
				return n, nil
			} else {
				p[n] = byte(f.bits)
				f.put(p[n])
				f.consume(8)
				n++
				f.stored--
			}
		default:
			out, ok, err := f.symbol(wait)
			switch {
			case err != nil:
				f.err = noEOF(err)
			case !ok:
				return n, nil
			case out >= 0:
				p[n] = byte(out)
				f.put(p[n])
				n++
			}
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

// noEOF turns the end of the compressed bytes before the final block into
// io.ErrUnexpectedEOF: only the final block ends the stream.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (f *inflater) put(c byte) {
	f.hist[f.written&(1<<15-1)] = c
	f.written++
}

// symbol decodes one literal (returned), end of block or length and
// distance (-1), consuming its bits only once it is whole.
func (f *inflater) symbol(wait bool) (out int, ok bool, err error) {
	sym, off, ok, err := f.decode(f.lit, 0, wait)
	if !ok || err != nil {
		return 0, ok, err
	}
	switch {
	case sym < 256:
		f.consume(off)
		return sym, true, nil
	case sym == 256:
		f.consume(off)
		f.inBlock = false
		return -1, true, nil
	case sym-257 >= len(lenBase):
		return 0, false, errInflate
	}
	sym -= 257
	eb := lenExtra[sym]
	if ok, err := f.need(off+eb, wait); !ok || err != nil {
		return 0, ok, err
	}
	length := lenBase[sym] + int(f.bits>>off&(1<<eb-1))
	off += eb
	dsym, dl, ok, err := f.decode(f.dist, off, wait)
	if !ok || err != nil {
		return 0, ok, err
	}
	if dsym >= len(distBase) {
		return 0, false, errInflate
	}
	off += dl
	db := distExtra[dsym]
	if ok, err := f.need(off+db, wait); !ok || err != nil {
		return 0, ok, err
	}
	dist := distBase[dsym] + int(f.bits>>off&(1<<db-1))
	off += db
	if int64(dist) > f.written {
		return 0, false, errInflate
	}
	f.consume(off)
	f.copyLen, f.copyDist = length, dist
	return -1, true, nil
}

// header reads a block's header, waiting for it.
func (f *inflater) header() error {
	if _, err := f.need(3, true); err != nil {
		return err
	}
	f.final = f.bits&1 == 1
	typ := f.bits >> 1 & 3
	f.consume(3)
	f.inBlock = true
	switch typ {
	case 0:
		f.consume(f.nbits % 8)
		if _, err := f.need(32, true); err != nil {
			return err
		}
		n, nn := f.bits&0xffff, f.bits>>16&0xffff
		f.consume(32)
		if n != ^nn&0xffff {
			return errInflate
		}
		f.stored = int(n)
	case 1:
		f.lit, f.dist, f.stored = fixedLit, fixedDist, -1
	case 2:
		f.stored = -1
		return f.dynamic()
	default:
		return errInflate
	}
	return nil
}

// dynamic reads the code lengths of a dynamic block (§3.2.7).
func (f *inflater) dynamic() error {
	if _, err := f.need(14, true); err != nil {
		return err
	}
	nlen, ndist, ncode := int(f.bits&31)+257, int(f.bits>>5&31)+1, int(f.bits>>10&15)+4
	f.consume(14)
	if nlen > 286 || ndist > 30 {
		return errInflate
	}
	var lengths [320]uint8
	for i := range ncode {
		if _, err := f.need(3, true); err != nil {
			return err
		}
		lengths[codeOrder[i]] = uint8(f.bits & 7)
		f.consume(3)
	}
	var lencode huffman
	if lencode.build(lengths[:19]) != 0 {
		return errInflate
	}
	clear(lengths[:19])
	for i := 0; i < nlen+ndist; {
		sym, l, _, err := f.decode(&lencode, 0, true)
		if err != nil {
			return err
		}
		f.consume(l)
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var prev uint8
		var extra, base uint
		switch sym {
		case 16:
			if i == 0 {
				return errInflate
			}
			prev, extra, base = lengths[i-1], 2, 3
		case 17:
			extra, base = 3, 3
		default:
			extra, base = 7, 11
		}
		if _, err := f.need(extra, true); err != nil {
			return err
		}
		rep := int(base + uint(f.bits&(1<<extra-1)))
		f.consume(extra)
		if i+rep > nlen+ndist {
			return errInflate
		}
		for ; rep > 0; rep-- {
			lengths[i] = prev
			i++
		}
	}
	if lengths[256] == 0 {
		return errInflate
	}
	lit, dist := &f.dyn[0], &f.dyn[1]
	// An incomplete code is allowed only if it is a single code of length 1.
	if left := lit.build(lengths[:nlen]); left < 0 || (left > 0 && nlen-int(lit.count[0]) != 1) {
		return errInflate
	}
	if left := dist.build(lengths[nlen : nlen+ndist]); left < 0 || (left > 0 && ndist-int(dist.count[0]) != 1) {
		return errInflate
	}
	f.lit, f.dist = lit, dist
	return nil
}
