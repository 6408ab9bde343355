package attach

import (
	"bytes"
	"compress/bzip2"
	"path"
	"strings"
)

var bzip2Magic = []byte("BZh")

// maxSlowOutput bounds what is decompressed of bzip2 files, all of one
// attachment's together: the decoder runs at tens of megabytes a second,
// a tenth of gzip's, so the budgets that bound gzip's work would let one
// attachment take seconds. Past it a file is too large to look into (a
// finding of NameLimit). A variable, for tests to lower.
var maxSlowOutput int64 = 16 << 20

// isBzip2 tells a bzip2 file (its "BZh", block size '1' to '9', and the
// magic of a block or of the end of the stream).
func isBzip2(data []byte) bool {
	return len(data) >= 10 && bytes.HasPrefix(data, bzip2Magic) && data[3] >= '1' && data[3] <= '9' &&
		(string(data[4:10]) == "\x31\x41\x59\x26\x53\x59" || string(data[4:10]) == "\x17\x72\x45\x38\x50\x90")
}

// bzip2 looks into a bzip2 file as gzip does into its, the content named
// after the file less its extension (bzip2 keeps no original name): a
// program, or a tar archive (.tar.bz2) looked into in turn. At most
// maxSlowOutput is decompressed.
func (in *inspector) bzip2(shown, name string, data []byte, depth int) {
	if !in.enter(shown, depth) {
		return
	}
	innerName := strippedName(name)
	inner := shortPath(shown + "/(content)")
	if innerName != "" {
		inner = shortPath(shown + "/" + innerName)
		in.files++
		if in.files > in.lim.MaxFiles {
			in.limit("%s holds more than the %d files looked at", shown, in.lim.MaxFiles)
			return
		}
		in.name(inner, innerName)
	}
	left := maxSlowOutput - in.slow
	if left <= 0 {
		in.limit("%s is past the %d bytes of bzip2 decompressed for one attachment", shown, maxSlowOutput)
		return
	}
	r := bzip2.NewReader(bytes.NewReader(data))
	out, size, err := in.decompress(shown, r, innerName, int64(len(data)), readPlan{maxOut: left})
	if err != nil || in.full {
		return
	}
	in.slow += size
	in.total += size
	in.content(inner, innerName, out, depth)
}

// strippedName is a compressed file's name less its compression's
// extension ("invoice.exe.bz2" is "invoice.exe", "a.tbz2" is "a.tar"), or
// "" when it has none of them.
func strippedName(name string) string {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	lower := strings.ToLower(base)
	for _, ext := range []string{".bz2", ".bz"} {
		if strings.HasSuffix(lower, ext) && len(base) > len(ext) {
			return base[:len(base)-len(ext)]
		}
	}
	for _, ext := range []string{".tbz2", ".tbz"} {
		if strings.HasSuffix(lower, ext) && len(base) > len(ext) {
			return base[:len(base)-len(ext)] + ".tar"
		}
	}
	return ""
}
