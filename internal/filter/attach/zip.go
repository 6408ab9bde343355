package attach

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"path"
	"strings"
)

// peekSize is how much of an entry is read to tell its kind; entries that
// are archives or OLE2 documents are read whole, within the budget.
const peekSize = 4096

// zip looks into a zip archive (APPNOTE.TXT): the names, encryption
// flags and declared sizes of all entries, and the content of entries
// that may hide something (programs by magic, nested archives, OLE2
// documents).
func (in *inspector) zip(shown string, data []byte, depth int) {
	if !in.enter(shown, depth) {
		return
	}
	// Count the entries before archive/zip allocates one record for each.
	if n, ok := zipEntries(data); ok && n > in.lim.MaxFiles-in.files {
		in.limit("%s holds %d files, more than the %d looked at", shown, n, in.lim.MaxFiles)
		return
	}
	r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return // not a zip after all, or cut short: nothing to look into
	}
	encrypted := false
	for _, f := range r.File {
		if in.full {
			return
		}
		in.files++
		if in.files > in.lim.MaxFiles {
			in.limit("%s holds more than the %d files looked at", shown, in.lim.MaxFiles)
			return
		}
		entry := shortPath(shown + "/" + f.Name)
		if f.Flags&1 != 0 && !encrypted {
			encrypted = true
			in.add(NameEncrypted, 3, "%s is password-protected, so its content cannot be checked", shown)
		}
		if strings.HasSuffix(strings.ToLower(f.Name), "vbaproject.bin") {
			in.add(NameMacro, 4, "%s is an Office document with VBA macros (%s)", shown, f.Name)
		}
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		in.name(entry, f.Name)
		if f.Flags&1 == 0 {
			in.entry(entry, f, depth)
		}
	}
}

// enter reports whether an archive at depth is to be looked into: no
// limit was reached, and it is nested no deeper than MaxDepth (a finding
// when it is).
func (in *inspector) enter(shown string, depth int) bool {
	if in.full {
		return false
	}
	if depth > in.lim.MaxDepth {
		// Ordinary mail nests an archive or two; 42.zip nests five.
		in.bomb("%s holds archives nested more than %d deep", shown, in.lim.MaxDepth)
		return false
	}
	return true
}

func (in *inspector) limit(format string, args ...any) {
	in.full = true
	in.add(NameLimit, 1, format, args...)
}

// entry checks one zip entry's sizes, then reads what it needs of it.
func (in *inspector) entry(shown string, f *zip.File, depth int) {
	size, packed := f.UncompressedSize64, f.CompressedSize64
	if size > minBomb && (packed == 0 || float64(size)/float64(packed) > in.lim.MaxRatio) {
		in.bomb("%s expands %d bytes to %d", shown, packed, size)
		return
	}
	if size > uint64(in.lim.MaxTotal-in.total) {
		in.limit("%s would expand past the %d bytes looked at (%d declared)", shown, in.lim.MaxTotal, size)
		return
	}
	in.total += int64(size)
	rc, err := f.Open()
	if err != nil {
		return // a method archive/zip lacks: its name was checked
	}
	defer rc.Close()
	in.readEntry(shown, f.Name, int64(size), rc, depth)
}

// readEntry reads what it needs of an archive entry of the declared size,
// within the budget already: its first peekSize bytes, or all of it when
// it is an archive or an OLE2 document (within maxWhole and maxRead), and
// examines them. The archive readers (archive/zip, archive/tar) stop at
// the declared size, so the reads are bounded; an entry that holds more,
// or less, than declared is a finding.
func (in *inspector) readEntry(shown, name string, size int64, r io.Reader, depth int) {
	head := make([]byte, min(size, peekSize))
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if err != nil {
		in.add(NameMalformed, 1, "%s does not read as its archive declares (%v)", shown, err)
		return
	}
	if int64(n) == size {
		// All of it, as declared: unless it holds more than declared.
		if k, err := r.Read(make([]byte, 1)); k > 0 || err != io.EOF {
			in.add(NameMalformed, 1, "%s holds more than its archive declares", shown)
			return
		}
		in.content(shown, name, head, depth)
		return
	}
	if !needsWhole(head, name) {
		in.content(shown, name, head, depth)
		return
	}
	if size > maxWhole || in.read+size > maxRead {
		in.limit("%s is too large to look into (%d bytes)", shown, size)
		return
	}
	in.read += size
	whole := make([]byte, size)
	copy(whole, head)
	if _, err := io.ReadFull(r, whole[n:]); err != nil {
		in.add(NameMalformed, 1, "%s does not read as its archive declares (%v)", shown, err)
		return
	}
	in.content(shown, name, whole, depth)
}

// The bounds on memory: an entry read whole (a nested archive or an OLE2
// document) is at most maxWhole bytes, and all of them together maxRead.
const (
	maxWhole = 16 << 20
	maxRead  = 32 << 20
)

func (in *inspector) bomb(format string, args ...any) {
	in.full = true
	in.add(NameBomb, 5, format, args...)
}

// needsWhole tells whether an entry must be read whole: archives and
// OLE2 documents, by magic or name.
func needsWhole(head []byte, name string) bool {
	_, last, _ := extensions(path.Base(name))
	return bytes.HasPrefix(head, []byte("PK")) || bytes.HasPrefix(head, oleMagic) ||
		bytes.HasPrefix(head, rar4Magic[:4]) || bytes.HasPrefix(head, sevenZipMagic) ||
		bytes.HasPrefix(head, gzipMagic) || isBzip2(head) || isTar(head) || archiveExt[last]
}

// zipEntries reads the number of entries from the end of central
// directory record (APPNOTE.TXT §4.3.16), or its ZIP64 form (§4.3.14).
func zipEntries(data []byte) (int, bool) {
	const eocdLen = 22
	from := max(0, len(data)-eocdLen-0xFFFF)
	i := bytes.LastIndex(data[from:], []byte("PK\x05\x06"))
	if i < 0 || from+i+eocdLen > len(data) {
		return 0, false
	}
	eocd := data[from+i:]
	n := uint64(binary.LittleEndian.Uint16(eocd[10:]))
	if n == 0xFFFF && from+i >= 20 {
		loc := data[from+i-20:]
		if string(loc[:4]) == "PK\x06\x07" {
			off := binary.LittleEndian.Uint64(loc[8:])
			if off < uint64(len(data)) && off+56 <= uint64(len(data)) && string(data[off:off+4]) == "PK\x06\x06" {
				n = binary.LittleEndian.Uint64(data[off+32:])
			}
		}
	}
	if n > 1<<31 {
		n = 1 << 31
	}
	return int(n), true
}
