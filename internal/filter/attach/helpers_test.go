package attach

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"os/exec"
	"slices"
	"testing"
	"unicode/utf16"
)

// file is one entry of a test zip.
type file struct {
	name      string
	data      []byte
	encrypted bool
	stored    bool
}

// makeZip builds a zip archive of files.
func makeZip(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		if f.stored {
			h.Method = zip.Store
		}
		if f.encrypted {
			h.Flags |= 1
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawEntry is an entry whose sizes are declared, not computed: for bombs
// that claim more than they hold, and for ones that claim less.
func makeRawZip(t testing.TB, name string, declared uint64, raw []byte, crc uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	fw, err := w.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate,
		CompressedSize64: uint64(len(raw)), UncompressedSize64: declared, CRC32: crc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deflateZeros returns n zero bytes, deflated.
func deflateZeros(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zeros := make([]byte, 64<<10)
	for n > 0 {
		k := min(n, len(zeros))
		if _, err := fw.Write(zeros[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pe is the smallest header that reads as a Windows program: "MZ", the
// offset of the PE signature at 0x3c, the signature.
func pe() []byte {
	b := make([]byte, 0x80)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	return b
}

// ole builds an OLE2 compound file's header and one directory sector
// holding entries with the given names (type 1, storage).
func ole(names ...string) []byte {
	b := make([]byte, 512+512)
	copy(b, oleMagic)
	for i, name := range names {
		e := b[512+128*i:]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			binary.LittleEndian.PutUint16(e[2*j:], c)
		}
		binary.LittleEndian.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66] = 1
	}
	return b
}

// rar4 builds a RAR 4 archive: the marker, a main header with flags, and
// one file header per name with flags.
func rar4(mainFlags uint16, fileFlags uint16, names ...string) []byte {
	b := slices.Clone(rar4Magic)
	b = append(b, 0, 0, 0x73)
	b = binary.LittleEndian.AppendUint16(b, mainFlags)
	b = binary.LittleEndian.AppendUint16(b, 13)
	b = append(b, make([]byte, 6)...)
	for _, name := range names {
		h := make([]byte, 32+len(name))
		h[2] = 0x74
		binary.LittleEndian.PutUint16(h[3:], fileFlags|0x8000)
		binary.LittleEndian.PutUint16(h[5:], uint16(len(h)))
		binary.LittleEndian.PutUint32(h[7:], 3) // packed size
		binary.LittleEndian.PutUint16(h[26:], uint16(len(name)))
		copy(h[32:], name)
		b = append(b, h...)
		b = append(b, "abc"...)
	}
	return b
}

// rar5 builds a RAR 5 archive with a main header, an optional archive
// encryption header, and a file header per name, with a file encryption
// record when encrypted.
func rar5(headersEncrypted, encrypted bool, names ...string) []byte {
	b := slices.Clone(rar5Magic)
	block := func(body []byte) {
		b = append(b, 0, 0, 0, 0) // CRC32, not checked
		b = append(b, byte(len(body)))
		b = append(b, body...)
	}
	block([]byte{1, 0, 0}) // main: type 1, flags 0, archive flags 0
	if headersEncrypted {
		block([]byte{4, 0, 0, 0})
		return b
	}
	for _, name := range names {
		body := []byte{2, 0x01} // type 2, flags: extra area present
		var extra []byte
		if encrypted {
			extra = []byte{2, 0x01, 0} // size 2: type 1, then one byte
		}
		body = append(body, byte(len(extra)))
		body = append(body, 0, 0, 0, 0, 0, byte(len(name))) // file flags, size, attributes, compression, host, name length
		body = append(body, name...)
		body = append(body, extra...)
		block(body)
	}
	return b
}

// sevenZip builds a 7z signature header pointing at a header holding h.
func sevenZip(h []byte) []byte {
	b := make([]byte, 32)
	copy(b, sevenZipMagic)
	binary.LittleEndian.PutUint64(b[12:], 0)
	binary.LittleEndian.PutUint64(b[20:], uint64(len(h)))
	return append(b, h...)
}

func findingNames(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

// makeTar builds a tar archive of files (all regular files).
func makeTar(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, f := range files {
		if err := w.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipped compresses data into a gzip file whose header names the
// original file (name may be "").
func gzipped(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Name = name
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bzip2Compress compresses b with Debian's bzip2, at its fastest
// setting.
func bzip2Compress(t testing.TB, b []byte) []byte {
	t.Helper()
	cmd := exec.Command("bzip2", "-1", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bzip2: %v", err)
	}
	return out
}
