package attach

import (
	"bytes"
	"compress/zlib"
	"io"
	"strconv"
)

// pdfFacts is what the look into a PDF found.
type pdfFacts struct {
	launch, javaScript bool
	// hidden: an action's name was written with #xx escapes
	// ("/J#61vaScript"), which no PDF writer needs: a way past filters
	// that look for the plain name.
	hidden bool
}

// pdf looks into a PDF file (ISO 32000-1, 32000-2) for what runs code or
// carries files: the JavaScript (§12.6.4.16) and Launch (§12.6.4.5)
// actions, by the names in the file's dictionaries, written plainly or
// with #xx escapes (§7.3.5), in the file itself and in its compressed
// object streams (§7.5.7: where PDF 1.5 and later writers put most
// dictionaries), and embedded files (§7.11.4), whose content is examined
// as an attachment's. Streams compressed with FlateDecode alone are
// decompressed, within the budgets; other filters are not undone.
func (in *inspector) pdf(shown string, data []byte, depth int) {
	var f pdfFacts
	f.scan(data)
	embedded := 0
	for s := range pdfStreams(data) {
		if in.full {
			break
		}
		d := pdfStreamDict(s.dict)
		if !d.objectStream && !d.embeddedFile || d.otherFilter {
			continue
		}
		in.files++
		if in.files > in.lim.MaxFiles {
			in.limit("%s holds more than the %d streams and files looked at", shown, in.lim.MaxFiles)
			break
		}
		if d.embeddedFile {
			embedded++
			in.embeddedFile(shortPath(shown+"/(embedded file "+strconv.Itoa(embedded)+")"), s.body, d.flate, depth+1)
			continue
		}
		if out, ok := in.streamBytes(shown, s.body, d.flate, true); ok {
			f.scan(out)
		}
	}
	hidden := ""
	score := 0.0
	if f.hidden {
		hidden, score = ", and hides its name with escapes", 1.5
	}
	switch {
	case f.launch:
		in.add(NamePDFActive, 3+score, "%s is a PDF that can start a program (/Launch)%s", shown, hidden)
	case f.javaScript:
		in.add(NamePDFActive, 1.5+score, "%s is a PDF that runs JavaScript%s", shown, hidden)
	}
}

// embeddedFile examines the stream of a file embedded in a PDF.
func (in *inspector) embeddedFile(shown string, body []byte, flate bool, depth int) {
	if !in.enter(shown, depth) {
		return
	}
	if out, ok := in.streamBytes(shown, body, flate, false); ok {
		in.content(shown, "", out, depth)
	}
}

// streamBytes returns a stream's bytes: body itself, or body inflated
// when it is compressed with FlateDecode (zlib, RFC 1950) as decompress
// does an archive's entry, all of it when whole is set, and counted
// against the budget. One zlib reader serves all of a file's streams
// (each one's tables are some 40 KiB). A stream that does not start as
// zlib is left alone, and one cut short or with a wrong checksum gives
// what it held: PDF readers forgive both, and damaged PDFs are common
// enough not to be a finding.
func (in *inspector) streamBytes(shown string, body []byte, flate, whole bool) ([]byte, bool) {
	if !flate {
		return body, true
	}
	if in.zlib == nil {
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, false
		}
		in.zlib = zr
	} else if err := in.zlib.(zlib.Resetter).Reset(bytes.NewReader(body), nil); err != nil {
		return nil, false
	}
	out, size, err := in.decompress(shown, forgiving{in.zlib}, "", int64(len(body)), readPlan{whole: whole})
	if err != nil {
		return nil, false
	}
	in.total += size
	return out, true
}

// forgiving ends a stream at its first error.
type forgiving struct{ r io.Reader }

func (f forgiving) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil {
		err = io.EOF
	}
	return n, err
}

// scan notes the action names among the names of b.
func (f *pdfFacts) scan(b []byte) {
	pdfNames(b, func(name []byte, escaped bool) {
		switch string(name) {
		case "Launch":
			f.launch = true
		case "JavaScript", "JS":
			f.javaScript = true
		default:
			return
		}
		f.hidden = f.hidden || escaped
	})
}

// pdfNames calls fn with each name object in b (§7.3.5), without its
// solidus and with its #xx escapes decoded (into a buffer fn may not
// keep), and whether it had any. Names are not told apart from
// solidi inside strings or streams: a stray match there is as likely as
// in any binary data, and harmless.
func pdfNames(b []byte, fn func(name []byte, escaped bool)) {
	var buf [64]byte
	for {
		i := bytes.IndexByte(b, '/')
		if i < 0 {
			return
		}
		b = b[i+1:]
		n := 0
		for n < len(b) && pdfRegular[b[n]] {
			n++
		}
		name := b[:n]
		b = b[n:]
		if bytes.IndexByte(name, '#') < 0 {
			fn(name, false)
			continue
		}
		if decoded, ok := unescapeName(buf[:0], name); ok {
			fn(decoded, true)
		}
	}
}

// unescapeName decodes the #xx escapes of a name into dst; names longer
// than dst's capacity are of no interest here, and are skipped.
func unescapeName(dst, name []byte) ([]byte, bool) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '#' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]) {
			c = unhex(name[i+1])<<4 | unhex(name[i+2])
			i += 2
		}
		if len(dst) == cap(dst) {
			return nil, false
		}
		dst = append(dst, c)
	}
	return dst, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// pdfRegular tells the regular characters of PDF (§7.2.3): neither white
// space nor a delimiter.
var pdfRegular = func() (t [256]bool) {
	for c := range t {
		t[c] = true
	}
	for _, c := range []byte("\x00\t\n\f\r ()<>[]{}/%") {
		t[c] = false
	}
	return t
}()

// pdfStream is one stream object: its dictionary and its bytes, up to
// its "endstream" (or the end of the file).
type pdfStream struct {
	dict, body []byte
}

// maxDictLookback bounds how far before a stream its dictionary is looked
// for: from the last "obj" keyword there.
const maxDictLookback = 4096

// pdfStreams yields the file's streams (§7.3.8), found by their keywords
// rather than through the cross-reference table, which a damaged or
// hostile file gets wrong and readers forgive. A stream ends where its
// dictionary's /Length says, when that is a number followed by
// "endstream", else at the first "endstream" (which the stream's own
// bytes may hold). A dictionary is looked for after the previous stream,
// so that the whole file is read about once.
func pdfStreams(data []byte) func(yield func(pdfStream) bool) {
	return func(yield func(pdfStream) bool) {
		at, prevEnd := 0, 0
		for {
			i := bytes.Index(data[at:], []byte("stream"))
			if i < 0 {
				return
			}
			kw := at + i
			at = kw + len("stream")
			if kw >= 3 && string(data[kw-3:kw]) == "end" {
				continue
			}
			start, ok := streamStart(data, at)
			if !ok {
				continue // "stream" inside some other word
			}
			from := max(prevEnd, kw-maxDictLookback)
			from += objKeywordEnd(data[from:kw])
			dict := data[from:kw]
			end := streamEnd(data, start, dict)
			if !yield(pdfStream{dict: dict, body: data[start:end]}) {
				return
			}
			at, prevEnd = end, end
		}
	}
}

// streamStart returns where a stream's bytes start after its keyword,
// which ends at at: after the end of line that follows (§7.3.8 asks for
// CRLF or LF; readers also take a lone CR, and spaces before it).
func streamStart(data []byte, at int) (int, bool) {
	for at < len(data) && (data[at] == ' ' || data[at] == '\t') {
		at++
	}
	switch {
	case bytes.HasPrefix(data[at:], []byte("\r\n")):
		return at + 2, true
	case at < len(data) && (data[at] == '\n' || data[at] == '\r'):
		return at + 1, true
	}
	return 0, false
}

// objKeywordEnd returns where the last "obj" keyword of b ends (0 for
// none): one after white space and before a delimiter or white space,
// not the end of a name such as /Xobj.
func objKeywordEnd(b []byte) int {
	for end := len(b); ; {
		i := bytes.LastIndex(b[:end], []byte("obj"))
		if i < 0 {
			return 0
		}
		after := i + len("obj")
		if i > 0 && !pdfRegular[b[i-1]] && b[i-1] != '/' && (after == len(b) || !pdfRegular[b[after]]) {
			return after
		}
		end = i
	}
}

// streamEnd returns where the stream starting at start ends.
func streamEnd(data []byte, start int, dict []byte) int {
	if n, ok := directLength(dict); ok && n <= len(data)-start {
		rest := data[start+n:]
		for k := 0; k < 4 && len(rest) > 0 && (rest[0] == '\r' || rest[0] == '\n' || rest[0] == ' ' || rest[0] == '\t'); k++ {
			rest = rest[1:] // the end of line before "endstream"
		}
		if bytes.HasPrefix(rest, []byte("endstream")) {
			return start + n
		}
	}
	if end := bytes.Index(data[start:], []byte("endstream")); end >= 0 {
		return start + end
	}
	return len(data)
}

// directLength reads a dictionary's /Length when it is a number, not a
// reference to an object ("/Length 12 0 R").
func directLength(dict []byte) (int, bool) {
	var rest []byte
	for d := dict; ; {
		i := bytes.Index(d, []byte("/Length"))
		if i < 0 {
			break
		}
		d = d[i+len("/Length"):]
		if len(d) == 0 || !pdfRegular[d[0]] { // not a longer name, such as /Length1
			rest = d
		}
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	n, digits := 0, 0
	for digits < len(rest) && digits < 10 && rest[digits] >= '0' && rest[digits] <= '9' {
		n = n*10 + int(rest[digits]-'0')
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	after := bytes.TrimLeft(rest[digits:], " \t\r\n")
	if len(after) > 0 && after[0] >= '0' && after[0] <= '9' {
		return 0, false // "12 0 R"
	}
	return n, true
}

// streamDict is what a stream's dictionary says of it, as far as the
// look into a PDF needs.
type streamDict struct {
	objectStream, embeddedFile bool // /Type /ObjStm, /Type /EmbeddedFile
	flate                      bool // /Filter /FlateDecode (or /Fl)
	otherFilter                bool // a filter not undone here
}

func pdfStreamDict(dict []byte) streamDict {
	var d streamDict
	filter := false
	pdfNames(dict, func(name []byte, _ bool) {
		switch string(name) {
		case "ObjStm":
			d.objectStream = true
		case "EmbeddedFile":
			d.embeddedFile = true
		case "Filter":
			filter = true
		case "FlateDecode", "Fl":
			d.flate = true
		case "ASCIIHexDecode", "AHx", "ASCII85Decode", "A85", "LZWDecode", "LZW", "RunLengthDecode", "RL",
			"CCITTFaxDecode", "CCF", "JBIG2Decode", "DCTDecode", "DCT", "JPXDecode", "Crypt":
			d.otherFilter = true
		}
	})
	if !filter {
		d.flate = false
	}
	return d
}
