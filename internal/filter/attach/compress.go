package attach

import (
	"bytes"
	"compress/bzip2"
	"io"
	"path"
	"strings"

	"github.com/ulikunitz/xz"
)

var (
	bzip2Magic = []byte("BZh")
	xzMagic    = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}
)

// maxSlowOutput bounds what is decompressed of a bzip2 or xz file: their
// decoders run at tens of megabytes a second, a tenth of gzip's, so the
// budgets that bound gzip's work would let one attachment take seconds.
// Past it a file is too large to look into (a finding of NameLimit). A
// variable, for tests to lower.
var maxSlowOutput int64 = 16 << 20

// xzDictCap bounds the dictionary an xz file may ask for: xz -6, the
// default, takes 8 MiB; larger ones do not decompress (a finding).
const xzDictCap = 16 << 20

// isBzip2 tells a bzip2 file (its "BZh", block size '1' to '9', and the
// magic of a block or of the end of the stream).
func isBzip2(data []byte) bool {
	return len(data) >= 10 && bytes.HasPrefix(data, bzip2Magic) && data[3] >= '1' && data[3] <= '9' &&
		(string(data[4:10]) == "\x31\x41\x59\x26\x53\x59" || string(data[4:10]) == "\x17\x72\x45\x38\x50\x90")
}

// bzip2 and xz look into a bzip2 or xz file as gzip does into its, the
// content named after the file less its extension (neither format keeps
// the original name): a program, or a tar archive (.tar.bz2, .tar.xz)
// looked into in turn. At most maxSlowOutput is decompressed.
func (in *inspector) bzip2(shown, name string, data []byte, depth int) {
	if !in.enter(shown, depth) {
		return
	}
	in.slowStream(shown, name, bzip2.NewReader(bytes.NewReader(data)), int64(len(data)), depth)
}

func (in *inspector) xz(shown, name string, data []byte, depth int) {
	if !in.enter(shown, depth) {
		return
	}
	zr, err := xz.ReaderConfig{DictCap: xzDictCap, SingleStream: true}.NewReader(bytes.NewReader(data))
	if err != nil {
		in.add(NameMalformed, 1, "%s does not read as xz (%v)", shown, err)
		return
	}
	in.slowStream(shown, name, zr, int64(len(data)), depth)
}

func (in *inspector) slowStream(shown, name string, r io.Reader, packed int64, depth int) {
	innerName := strippedName(name)
	inner := shortPath(shown + "/(content)")
	if innerName != "" {
		inner = shortPath(shown + "/" + innerName)
		in.files++
		in.name(inner, innerName)
	}
	out, size, err := in.decompress(shown, r, innerName, packed, readPlan{maxOut: maxSlowOutput})
	if err != nil || in.full {
		return
	}
	in.total += size
	in.content(inner, innerName, out, depth)
}

// strippedName is a compressed file's name less its compression's
// extension ("invoice.exe.xz" is "invoice.exe", "a.tbz2" is "a.tar"), or
// "" when it has none of them.
func strippedName(name string) string {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	lower := strings.ToLower(base)
	for _, ext := range []string{".bz2", ".bz", ".xz"} {
		if strings.HasSuffix(lower, ext) && len(base) > len(ext) {
			return base[:len(base)-len(ext)]
		}
	}
	for _, ext := range []string{".tbz2", ".tbz", ".txz"} {
		if strings.HasSuffix(lower, ext) && len(base) > len(ext) {
			return base[:len(base)-len(ext)] + ".tar"
		}
	}
	return ""
}
