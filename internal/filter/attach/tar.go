package attach

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
)

// gzipMagic starts a gzip member (RFC 1952 section 2.3.1).
var gzipMagic = []byte{0x1f, 0x8b}

// isTar tells a POSIX or GNU tar archive by the magic of its first header
// (the "ustar" field at offset 257).
func isTar(data []byte) bool {
	return len(data) >= 263 && string(data[257:262]) == "ustar"
}

// gzip looks into a gzip file (RFC 1952): the original name its header
// may carry, and what it decompresses to, examined as any file: a
// program, or a tar archive (.tar.gz) looked into in turn. A gzip file
// declares no size to check first, so its output is counted as it is
// decompressed and kept only as far as needed: the first peekSize bytes,
// or all of it for an archive or OLE2 document, within the memory
// budget. Past a ratio of MaxRatio (once above minBomb) it is a bomb, past
// the budgets too large; no more is decompressed then.
func (in *inspector) gzip(shown string, data []byte, depth int) {
	if !in.enter(shown, depth) {
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		in.add(NameMalformed, 1, "%s does not read as gzip (%v)", shown, err)
		return
	}
	zr.Multistream(false)
	inner := shown + "/(content)"
	if zr.Name != "" {
		in.files++
		inner = shown + "/" + zr.Name
		in.name(shortPath(inner), zr.Name)
	}
	inner = shortPath(inner)
	out, size, err := in.decompress(shown, zr, zr.Name, int64(len(data)), readPlan{})
	if err != nil || in.full {
		return
	}
	in.total += size
	in.content(inner, zr.Name, out, depth)
}

// readPlan says how much of a decompressed stream decompress reads.
type readPlan struct {
	whole  bool  // keep all of it, whatever it is (a PDF's object stream)
	maxOut int64 // read no more than this in any case (slow decoders); 0: the budgets alone
}

// decompress reads r, the output of compressed bytes of size packed,
// as gzip needs it (see there), and as plan says: it returns what to
// examine and the size of the whole output, or an error once it has
// added the finding.
func (in *inspector) decompress(shown string, r io.Reader, name string, packed int64, plan readPlan) ([]byte, int64, error) {
	head, err := io.ReadAll(io.LimitReader(r, peekSize))
	if err != nil {
		in.add(NameMalformed, 1, "%s does not decompress (%v)", shown, err)
		return nil, 0, err
	}
	size := int64(len(head))
	if size < peekSize {
		return head, size, nil
	}
	ratioCap := max(int64(minBomb), int64(float64(packed)*in.lim.MaxRatio))
	stop := min(ratioCap, in.lim.MaxTotal-in.total)
	keep := plan.whole || needsWhole(head, name)
	if keep {
		stop = min(stop, maxWhole, maxRead-in.read)
	}
	if plan.maxOut > 0 {
		stop = min(stop, plan.maxOut)
	}
	out := head
	if keep {
		rest, rerr := io.ReadAll(io.LimitReader(r, max(stop+1-size, 0)))
		out, err = append(head, rest...), rerr
		size = int64(len(out))
	} else {
		var n int64
		n, err = io.Copy(io.Discard, io.LimitReader(r, max(stop+1-size, 0)))
		size += n
	}
	switch {
	case err != nil:
		in.add(NameMalformed, 1, "%s does not decompress (%v)", shown, err)
		return nil, 0, err
	case size > stop && stop == ratioCap:
		in.bomb("%s expands %d bytes to more than %d", shown, packed, ratioCap)
		return nil, 0, errLimit
	case size > stop && stop == in.lim.MaxTotal-in.total:
		in.limit("%s expands past the %d bytes looked at", shown, in.lim.MaxTotal)
		return nil, 0, errLimit
	case size > stop:
		in.limit("%s is too large to look into (more than %d bytes)", shown, stop)
		return nil, 0, errLimit
	}
	if keep {
		in.read += size
	}
	return out, size, nil
}

// errLimit stops a look that a limit cut short; the finding says why.
var errLimit = errors.New("attach: limit reached")

// tar looks into a tar archive: the names and declared sizes of its
// entries, and the content of regular files, as zip entries are looked
// into. Entries are stored, not compressed, so none is larger than the
// archive: the budgets bound the work.
func (in *inspector) tar(shown string, data []byte, depth int) {
	if !in.enter(shown, depth) {
		return
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for !in.full {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			in.add(NameMalformed, 1, "%s does not read as a tar archive (%v)", shown, err)
			return
		}
		in.files++
		if in.files > in.lim.MaxFiles {
			in.limit("%s holds more than the %d files looked at", shown, in.lim.MaxFiles)
			return
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeGNUSparse {
			continue // directories, links, devices: nothing to run
		}
		entry := shortPath(shown + "/" + h.Name)
		in.name(entry, h.Name)
		if h.Size < 0 || h.Size > in.lim.MaxTotal-in.total {
			in.limit("%s would expand past the %d bytes looked at (%d declared)", entry, in.lim.MaxTotal, h.Size)
			return
		}
		in.total += h.Size
		in.readEntry(entry, h.Name, h.Size, tr, depth)
	}
}
