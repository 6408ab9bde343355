package attach

import (
	"bytes"
	"encoding/binary"
)

var (
	rar4Magic     = []byte("Rar!\x1a\x07\x00")
	rar5Magic     = []byte("Rar!\x1a\x07\x01\x00")
	sevenZipMagic = []byte{'7', 'z', 0xBC, 0xAF, 0x27, 0x1C}
)

// maxHeaders bounds the RAR headers read: enough for the names of the
// files of an ordinary attachment, cheap whatever the input.
const maxHeaders = 256

// rar4 reads the block headers of a RAR 1.5–4.x archive (RARFileFormat,
// "technote.txt"): the main header's flag for encrypted headers
// (MHD_PASSWORD, 0x80), and each file header's name and flag for an
// encrypted file (LHD_PASSWORD, 0x04).
func (in *inspector) rar4(shown string, data []byte) {
	off := len(rar4Magic)
	for range maxHeaders {
		if off+7 > len(data) {
			return
		}
		h := data[off:]
		typ := h[2]
		flags := binary.LittleEndian.Uint16(h[3:])
		size := int(binary.LittleEndian.Uint16(h[5:]))
		if size < 7 || off+size > len(data) {
			return
		}
		next := off + size
		switch typ {
		case 0x73: // main header
			if flags&0x80 != 0 {
				in.add(NameEncrypted, 3, "%s is a password-protected RAR archive (names hidden)", shown)
				return
			}
		case 0x74: // file header
			if size < 32 {
				return
			}
			packed := int(binary.LittleEndian.Uint32(h[7:]))
			nameLen := int(binary.LittleEndian.Uint16(h[26:]))
			nameAt := 32
			if flags&0x100 != 0 {
				nameAt += 8
			}
			if nameAt+nameLen <= size {
				name := h[nameAt : nameAt+nameLen]
				if i := bytes.IndexByte(name, 0); i >= 0 { // Unicode name follows the OEM one
					name = name[:i]
				}
				in.name(shortPath(shown+"/"+string(name)), string(name))
			}
			if flags&0x04 != 0 {
				in.add(NameEncrypted, 3, "%s is a password-protected RAR archive", shown)
			}
			next += packed
		default:
			if flags&0x8000 != 0 && size >= 11 { // LONG_BLOCK: data follows
				next += int(binary.LittleEndian.Uint32(h[7:]))
			}
		}
		if next <= off || next < 0 {
			return
		}
		off = next
	}
}

// rar5 reads the headers of a RAR 5.0 archive (www.rarlab.com
// technote "RAR 5.0 archive format"): an archive encryption header
// means encrypted names; a file header's extra area may hold a file
// encryption record (type 0x01).
func (in *inspector) rar5(shown string, data []byte) {
	off := len(rar5Magic)
	for range maxHeaders {
		if off+4 > len(data) {
			return
		}
		p := off + 4 // after the header CRC32
		size, n := uvarint(data, p)
		if n == 0 || size == 0 || size > uint64(len(data)) {
			return
		}
		p += n
		end := p + int(size)
		if end > len(data) {
			return
		}
		typ, n1 := uvarint(data[:end], p)
		flags, n2 := uvarint(data[:end], p+n1)
		if n1 == 0 || n2 == 0 {
			return
		}
		q := p + n1 + n2
		var extra, dataSize uint64
		if flags&0x01 != 0 {
			extra, n = uvarint(data[:end], q)
			q += n
		}
		if flags&0x02 != 0 {
			dataSize, n = uvarint(data[:end], q)
			q += n
		}
		switch typ {
		case 4: // archive encryption header
			in.add(NameEncrypted, 3, "%s is a password-protected RAR archive (names hidden)", shown)
			return
		case 2: // file header
			in.rar5File(shown, data[q:end], extra)
		case 5: // end of archive
			return
		}
		if dataSize > uint64(len(data)) {
			return
		}
		off = end + int(dataSize)
	}
}

// rar5File reads a file header's fields after the common ones: file
// flags, unpacked size, attributes, optional time and CRC, compression,
// host OS, name; the extra area is the header's last extra bytes.
func (in *inspector) rar5File(shown string, h []byte, extra uint64) {
	fileFlags, n := uvarint(h, 0)
	p := n
	for range 2 { // unpacked size, attributes
		_, n = uvarint(h, p)
		p += n
	}
	if fileFlags&0x02 != 0 {
		p += 4
	}
	if fileFlags&0x04 != 0 {
		p += 4
	}
	for range 2 { // compression information, host OS
		_, n = uvarint(h, p)
		p += n
	}
	nameLen, n := uvarint(h, p)
	p += n
	if n == 0 || uint64(p)+nameLen > uint64(len(h)) {
		return
	}
	name := string(h[p : p+int(nameLen)])
	in.name(shortPath(shown+"/"+name), name)
	if extra == 0 || extra > uint64(len(h)) {
		return
	}
	area := h[len(h)-int(extra):]
	for q := 0; q < len(area); {
		recSize, n1 := uvarint(area, q)
		recType, n2 := uvarint(area, q+n1)
		if n1 == 0 || n2 == 0 || recSize == 0 {
			return
		}
		if recType == 0x01 {
			in.add(NameEncrypted, 3, "%s is a password-protected RAR archive", shown)
			return
		}
		if recSize > uint64(len(area)) {
			return
		}
		q += n1 + int(recSize)
	}
}

// uvarint reads a RAR 5 vint (7 bits a byte, low first, at most 10
// bytes) at b[p:]; n is 0 when there is none.
func uvarint(b []byte, p int) (v uint64, n int) {
	for i := 0; i < 10 && p+i < len(b) && p >= 0; i++ {
		c := b[p+i]
		v |= uint64(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
