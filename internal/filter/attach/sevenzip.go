package attach

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"unicode/utf16"

	"github.com/ulikunitz/xz/lzma"
)

// maxSevenZipHeader bounds a 7z header decompressed to read it: the
// header of an archive of a thousand files takes some tens of kilobytes.
const maxSevenZipHeader = 1 << 20

// The property IDs of 7z headers (7-Zip's 7zFormat.txt) read here.
const (
	szEnd               = 0x00
	szHeader            = 0x01
	szArchiveProperties = 0x02
	szAdditionalStreams = 0x03
	szMainStreamsInfo   = 0x04
	szFilesInfo         = 0x05
	szPackInfo          = 0x06
	szUnpackInfo        = 0x07
	szSubStreamsInfo    = 0x08
	szSize              = 0x09
	szCRC               = 0x0A
	szFolderID          = 0x0B
	szCodersUnpackSize  = 0x0C
	szNumUnpackStream   = 0x0D
	szName              = 0x11
	szEncodedHeader     = 0x17
)

// 7z coder IDs.
var (
	szAES  = []byte{0x06, 0xF1, 0x07, 0x01}
	szLZMA = []byte{0x03, 0x01, 0x01}
)

// errSevenZip is a header that does not read as 7zFormat.txt says;
// errSevenZipMany one that counts more folders, streams or files than
// szMaxItems.
var (
	errSevenZip     = errors.New("malformed 7z header")
	errSevenZipMany = errors.New("7z header counts too many items")
)

// szMaxItems bounds each count of a 7z header (folders, packed streams,
// a folder's files, files): what is made for them grows with them, and
// a header of a few bytes a folder could otherwise ask for gigabytes.
const szMaxItems = 1 << 14

// sevenZip reads a 7z archive's header: its file names, examined as zip
// entries' names are, and whether it encrypts files (the AES-256 coder)
// or its header (names hidden). A header compressed with LZMA, as 7-Zip
// writes it by default, is decompressed first, up to maxSevenZipHeader.
// The files themselves are not decompressed. A header that does not parse
// is told of as sevenZipUnread says.
func (in *inspector) sevenZip(shown string, data []byte) {
	hdr, ok := sevenZipNextHeader(data)
	if !ok {
		return
	}
	if r := (&szReader{b: hdr}); r.expect(szEncodedHeader) == nil {
		var s szStreams
		if err := r.streamsInfo(&s); err != nil || len(s.folders) != 1 || len(s.packSizes) != 1 {
			in.sevenZipUnread(shown, hdr, err)
			return
		}
		f := s.folders[0]
		if f.aes {
			in.add(NameEncrypted, 3, "%s is a password-protected 7z archive (names hidden)", shown)
			return
		}
		// The header's memory counts against what is read whole.
		if f.unpackSize > maxSevenZipHeader || in.read+int64(f.unpackSize) > maxRead {
			in.limit("%s has a header too large to look into (%d bytes)", shown, f.unpackSize)
			return
		}
		decoded, err := f.decode(data, s.packPos, s.packSizes[0])
		if err != nil {
			in.sevenZipUnread(shown, hdr, err)
			return
		}
		in.read += int64(len(decoded))
		hdr = decoded
	}
	names, aes, err := (&szReader{b: hdr}).header()
	if err != nil {
		in.sevenZipUnread(shown, hdr, err)
		return
	}
	if aes {
		in.add(NameEncrypted, 3, "%s is a password-protected 7z archive", shown)
	}
	for _, name := range names {
		in.files++
		if in.files > in.lim.MaxFiles {
			in.limit("%s holds more than the %d files looked at", shown, in.lim.MaxFiles)
			return
		}
		in.name(shortPath(shown+"/"+name), name)
	}
}

// sevenZipUnread tells what it can of a header it could not read: the
// AES coder's ID found in it, or too many items, or else that it did not
// read (7-Zip may read what this does not, and its names went unseen).
func (in *inspector) sevenZipUnread(shown string, hdr []byte, err error) {
	switch {
	case bytes.Contains(hdr, szAES):
		in.add(NameEncrypted, 3, "%s is a password-protected 7z archive", shown)
	case errors.Is(err, errSevenZipMany):
		in.limit("%s lists more than the %d items looked at", shown, szMaxItems)
	default:
		in.add(NameMalformed, 1, "%s has a header that does not read as 7z (its names unseen)", shown)
	}
}

// sevenZipNextHeader returns the header the signature header points at.
func sevenZipNextHeader(data []byte) ([]byte, bool) {
	if len(data) < 32 {
		return nil, false
	}
	off := binary.LittleEndian.Uint64(data[12:])
	size := binary.LittleEndian.Uint64(data[20:])
	rest := uint64(len(data) - 32)
	if off > rest || size > rest-off || size == 0 {
		return nil, false
	}
	return data[32+off : 32+off+size], true
}

// szReader reads the numbers and properties of a 7z header.
type szReader struct {
	b []byte
	p int
}

func (r *szReader) byte() (byte, error) {
	if r.p >= len(r.b) {
		return 0, errSevenZip
	}
	c := r.b[r.p]
	r.p++
	return c, nil
}

// number reads a 7z UINT64: the first byte's leading one bits count the
// bytes that follow, low first; its remaining bits are the highest.
func (r *szReader) number() (uint64, error) {
	first, err := r.byte()
	if err != nil {
		return 0, err
	}
	var v uint64
	mask := byte(0x80)
	for i := range 8 {
		if first&mask == 0 {
			return v | uint64(first&(mask-1))<<(8*i), nil
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c) << (8 * i)
		mask >>= 1
	}
	return v, nil
}

// count reads a number that counts things, each at least a byte long in
// what is left of the header: more than that is malformed.
func (r *szReader) count() (int, error) {
	n, err := r.number()
	if err != nil || n > uint64(len(r.b)-r.p) {
		return 0, errSevenZip
	}
	return int(n), nil
}

// items reads a count of folders, streams or files.
func (r *szReader) items() (int, error) {
	n, err := r.count()
	if err == nil && n > szMaxItems {
		return 0, errSevenZipMany
	}
	return n, err
}

func (r *szReader) skip(n uint64) error {
	if n > uint64(len(r.b)-r.p) {
		return errSevenZip
	}
	r.p += int(n)
	return nil
}

// id reads a property ID. 7-Zip reads IDs as numbers, so one may be
// written in more bytes than it needs ("80 05" is FilesInfo): read as
// one byte, such a header hid its names. IDs past a byte are unknown.
func (r *szReader) id() (byte, error) {
	n, err := r.number()
	if err != nil {
		return 0, err
	}
	if n > 0xFF {
		return 0xFF, nil
	}
	return byte(n), nil
}

func (r *szReader) expect(id byte) error {
	if c, err := r.id(); err != nil || c != id {
		return errSevenZip
	}
	return nil
}

// szFolder is what a folder's coders say, as far as this reading needs.
type szFolder struct {
	aes        bool
	copy       bool   // one coder that stores (Copy, ID 00)
	crc        bool   // its unpacked stream's CRC is given in the folder
	lzmaProps  []byte // the properties of its coder when it is one LZMA coder
	unpackSize uint64
	outStreams int
}

// szStreams is a StreamsInfo: where the packed streams are, and the
// folders that unpack them.
type szStreams struct {
	packPos   uint64
	packSizes []uint64
	folders   []szFolder
}

// header reads a Header, from its kHeader ID: the names of the files and
// whether any folder is encrypted.
func (r *szReader) header() (names []string, aes bool, err error) {
	if err := r.expect(szHeader); err != nil {
		return nil, false, err
	}
	id, err := r.id()
	if err != nil {
		return nil, false, err
	}
	if id == szArchiveProperties {
		for {
			t, err := r.number()
			if err != nil {
				return nil, false, err
			}
			if t == szEnd {
				break
			}
			size, err := r.number()
			if err != nil || r.skip(size) != nil {
				return nil, false, errSevenZip
			}
		}
		if id, err = r.id(); err != nil {
			return nil, false, err
		}
	}
	if id == szAdditionalStreams {
		var extra szStreams // not written by 7-Zip: read past
		if err := r.streamsInfo(&extra); err != nil {
			return nil, false, err
		}
		if id, err = r.id(); err != nil {
			return nil, false, err
		}
	}
	if id == szMainStreamsInfo {
		var s szStreams
		if err := r.streamsInfo(&s); err != nil {
			return nil, false, err
		}
		for _, f := range s.folders {
			aes = aes || f.aes
		}
		if id, err = r.id(); err != nil {
			return nil, false, err
		}
	}
	if id == szFilesInfo {
		if names, err = r.filesInfo(); err != nil {
			return nil, false, err
		}
		if id, err = r.id(); err != nil {
			return nil, false, err
		}
	}
	if id != szEnd {
		return nil, false, errSevenZip
	}
	return names, aes, nil
}

// properties reads properties up to kEnd, each with read, given its ID.
func (r *szReader) properties(read func(id byte) error) error {
	for {
		id, err := r.id()
		if err != nil {
			return err
		}
		if id == szEnd {
			return nil
		}
		if err := read(id); err != nil {
			return err
		}
	}
}

// streamsInfo reads a StreamsInfo (after its property ID).
func (r *szReader) streamsInfo(s *szStreams) error {
	return r.properties(func(id byte) error {
		switch id {
		case szPackInfo:
			return r.packInfo(s)
		case szUnpackInfo:
			return r.unpackInfo(s)
		case szSubStreamsInfo:
			return r.subStreamsInfo(s)
		}
		return errSevenZip
	})
}

func (r *szReader) packInfo(s *szStreams) error {
	var err error
	if s.packPos, err = r.number(); err != nil {
		return err
	}
	n, err := r.items()
	if err != nil {
		return err
	}
	return r.properties(func(id byte) error {
		switch id {
		case szSize:
			s.packSizes = s.packSizes[:0]
			for range n {
				size, err := r.number()
				if err != nil {
					return err
				}
				s.packSizes = append(s.packSizes, size) // grown as read: n is the sender's
			}
			return nil
		case szCRC:
			_, err := r.digests(n)
			return err
		}
		return errSevenZip
	})
}

func (r *szReader) unpackInfo(s *szStreams) error {
	if err := r.expect(szFolderID); err != nil {
		return err
	}
	n, err := r.items()
	if err != nil {
		return err
	}
	if external, err := r.byte(); err != nil || external != 0 {
		return errSevenZip
	}
	s.folders = s.folders[:0]
	for range n {
		var f szFolder
		if err := r.folder(&f); err != nil {
			return err
		}
		s.folders = append(s.folders, f) // grown as read: n is the sender's
	}
	if err := r.expect(szCodersUnpackSize); err != nil {
		return err
	}
	for i := range s.folders {
		f := &s.folders[i]
		for j := range f.outStreams {
			size, err := r.number()
			if err != nil {
				return err
			}
			if j == f.outStreams-1 {
				f.unpackSize = size // the last coder's: the folder's output
			}
		}
	}
	return r.properties(func(id byte) error {
		if id != szCRC {
			return errSevenZip
		}
		defined, err := r.definedBits(n)
		if err != nil {
			return err
		}
		for i, d := range defined {
			s.folders[i].crc = d
		}
		return r.skip(4 * uint64(countTrue(defined)))
	})
}

// folder reads a Folder: its coders and how they are bound.
func (r *szReader) folder(f *szFolder) error {
	coders, err := r.count()
	if err != nil || coders == 0 || coders > 64 {
		return errSevenZip
	}
	in := 0
	for range coders {
		flags, err := r.byte()
		if err != nil || flags&0x80 != 0 {
			return errSevenZip
		}
		idSize := int(flags & 0x0F)
		if idSize > len(r.b)-r.p {
			return errSevenZip
		}
		id := r.b[r.p : r.p+idSize]
		r.p += idSize
		f.aes = f.aes || bytes.Equal(id, szAES)
		f.copy = coders == 1 && len(id) == 1 && id[0] == 0
		nIn, nOut := 1, 1
		if flags&0x10 != 0 {
			if nIn, err = r.count(); err != nil {
				return err
			}
			if nOut, err = r.count(); err != nil {
				return err
			}
		}
		in += nIn
		f.outStreams += nOut
		if flags&0x20 != 0 {
			size, err := r.count()
			if err != nil {
				return err
			}
			if coders == 1 && bytes.Equal(id, szLZMA) {
				f.lzmaProps = r.b[r.p : r.p+size]
			}
			r.p += size
		}
	}
	if f.outStreams > 64 || in > 64 {
		return errSevenZip
	}
	bindPairs := f.outStreams - 1
	for range 2 * bindPairs {
		if _, err := r.number(); err != nil {
			return err
		}
	}
	if packed := in - bindPairs; packed > 1 {
		for range packed {
			if _, err := r.number(); err != nil {
				return err
			}
		}
	} else if packed < 1 {
		return errSevenZip
	}
	return nil
}

// subStreamsInfo reads a SubStreamsInfo, which tells how many files each
// folder holds; only its length matters here.
func (r *szReader) subStreamsInfo(s *szStreams) error {
	streams := make([]int, len(s.folders)) // as many as were read
	for i := range streams {
		streams[i] = 1
	}
	id, err := r.id()
	if err != nil {
		return err
	}
	if id == szNumUnpackStream {
		for i := range streams {
			if streams[i], err = r.items(); err != nil {
				return err
			}
		}
		if id, err = r.id(); err != nil {
			return err
		}
	}
	if id == szSize {
		for _, n := range streams {
			for range n - 1 {
				if _, err := r.number(); err != nil {
					return err
				}
			}
		}
		if id, err = r.id(); err != nil {
			return err
		}
	}
	if id == szCRC {
		// The digests of the streams whose CRC is not known yet: all but
		// the single stream of a folder that gives its CRC (7-Zip's
		// reader counts so).
		n := 0
		for i, k := range streams {
			if k != 1 || !s.folders[i].crc {
				n += k
			}
		}
		if n > szMaxItems {
			return errSevenZipMany
		}
		if _, err := r.digests(n); err != nil {
			return err
		}
		if id, err = r.id(); err != nil {
			return err
		}
	}
	if id != szEnd {
		return errSevenZip
	}
	return nil
}

// digests reads n CRCs, some of them left out by a bit field; it
// returns how many were given.
func (r *szReader) digests(n int) (int, error) {
	all, err := r.byte()
	if err != nil {
		return 0, err
	}
	set := n
	if all == 0 {
		field := (n + 7) / 8
		if field > len(r.b)-r.p {
			return 0, errSevenZip
		}
		set = 0
		for i, c := range r.b[r.p : r.p+field] {
			if i == field-1 && n%8 != 0 {
				c &= 0xFF << (8 - n%8) // the bits past n
			}
			set += bits.OnesCount8(c)
		}
		r.p += field
	}
	return set, r.skip(4 * uint64(set))
}

// definedBits reads a bit field of n bits preceded by an all-defined
// byte, for n things already read (folders).
func (r *szReader) definedBits(n int) ([]bool, error) {
	all, err := r.byte()
	if err != nil {
		return nil, err
	}
	if all == 0 && (n+7)/8 > len(r.b)-r.p {
		return nil, errSevenZip
	}
	defined := make([]bool, n)
	for i := range defined {
		defined[i] = all != 0 || r.b[r.p+i/8]&(0x80>>(i%8)) != 0
	}
	if all == 0 {
		r.p += (n + 7) / 8
	}
	return defined, nil
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// filesInfo reads a FilesInfo: the files' names (UTF-16LE, each ending
// in a zero), their other properties skipped.
func (r *szReader) filesInfo() ([]string, error) {
	n, err := r.items()
	if err != nil {
		return nil, err
	}
	var names []string
	for {
		t, err := r.number()
		if err != nil {
			return nil, err
		}
		if t == szEnd {
			return names, nil
		}
		size, err := r.number()
		if err != nil || size > uint64(len(r.b)-r.p) {
			return nil, errSevenZip
		}
		value := r.b[r.p : r.p+int(size)]
		r.p += int(size)
		if t != szName || names != nil {
			continue
		}
		if len(value) == 0 || value[0] != 0 {
			return nil, errSevenZip // names kept elsewhere: not written by 7-Zip
		}
		if names = szNames(value[1:], n); names == nil {
			return nil, errSevenZip
		}
	}
}

// szNames splits n zero-ended UTF-16LE names.
func szNames(b []byte, n int) []string {
	var names []string // grown as read: n is the sender's
	var u []uint16
	for i := 0; i+1 < len(b) && len(names) < n; i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			names = append(names, string(utf16.Decode(u)))
			u = u[:0]
			continue
		}
		u = append(u, c)
	}
	if len(names) != n {
		return nil
	}
	return names
}

// decode decompresses the folder's single LZMA stream (or takes its
// stored one), packed at packPos after the signature header, to its
// unpack size, at most maxSevenZipHeader.
func (f szFolder) decode(data []byte, packPos, packSize uint64) ([]byte, error) {
	rest := uint64(len(data) - 32)
	if f.unpackSize > maxSevenZipHeader || packPos > rest || packSize > rest-packPos {
		return nil, errSevenZip
	}
	if f.copy && f.unpackSize == packSize {
		return data[32+packPos : 32+packPos+packSize], nil
	}
	if len(f.lzmaProps) != 5 {
		return nil, errSevenZip
	}
	// The classic LZMA header: the coder's five property bytes, then the
	// size of what it unpacks to. (The reader's dictionary is no larger
	// than that size, whatever the properties ask for: a header asking
	// for a large one is read, not refused.)
	var head [13]byte
	copy(head[:], f.lzmaProps)
	binary.LittleEndian.PutUint64(head[5:], f.unpackSize)
	packed := data[32+packPos : 32+packPos+packSize]
	zr, err := lzma.NewReader(io.MultiReader(bytes.NewReader(head[:]), bytes.NewReader(packed)))
	if err != nil {
		return nil, errSevenZip
	}
	out := make([]byte, f.unpackSize)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, errSevenZip
	}
	return out, nil
}
