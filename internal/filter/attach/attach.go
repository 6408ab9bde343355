package attach

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"sealpost.dev/sealpost/internal/filter/phish"
)

// Finding is phish.Finding (an alias, not a copy), so the pipeline
// handles the findings of both packages alike.
type Finding = phish.Finding

// The names of the findings; stable, like phish's.
const (
	NameExecutable      = "attachment_executable"        // a program, by content or extension
	NameScript          = "attachment_script"            // a script, shortcut, installer or disk image
	NameDoubleExtension = "attachment_double_extension"  // "invoice.pdf.exe"
	NameBidiName        = "attachment_bidi_name"         // a name reordered on display (U+202E)
	NameMacro           = "attachment_macro"             // an Office document with VBA macros
	NameEncrypted       = "attachment_encrypted_archive" // a password-protected archive
	NameBomb            = "attachment_archive_bomb"      // an archive expanding far beyond its size
	NameLimit           = "attachment_archive_limit"     // an archive too deep or too full to look through
	NameMalformed       = "attachment_archive_malformed" // an archive entry that does not read as declared
	NamePDFActive       = "attachment_pdf_active"        // a PDF that runs JavaScript or launches programs
	NameHTMLLogin       = "attachment_html_login"        // an HTML file with a password form
)

// Limits bound the look into archives; a zero field takes its default.
type Limits struct {
	MaxDepth int     // archives inside archives (default 4)
	MaxFiles int     // entries in all archives together (default 1000)
	MaxTotal int64   // uncompressed bytes declared by all archives together (default 256 MiB)
	MaxRatio float64 // uncompressed/compressed size of an entry (default 100)
}

// The defaults of Limits.
const (
	DefaultMaxDepth = 4
	DefaultMaxFiles = 1000
	DefaultMaxTotal = 256 << 20
	DefaultMaxRatio = 100
)

// minBomb is the uncompressed size below which a high ratio is not a
// bomb: a megabyte of blank spreadsheet compresses a thousandfold.
const minBomb = 1 << 20

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxTotal
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	return l
}

// Inspect examines one attachment: its name (executable and script
// extensions, double extensions, reordering characters), its content
// (PE, ELF and Mach-O programs, Windows shortcuts, ISO images, OLE2
// documents with a VBA storage), and archives: zip, tar, gzip and bzip2
// files are looked into, nested up to lim.MaxDepth, each entry examined
// the same way; RAR and 7z headers are read for names and encryption;
// PDFs for actions that run code and for embedded files. Work and memory
// are bounded by lim whatever the input. Each name is reported once, with the count of
// repeats.
func Inspect(name, mediaType string, data []byte, lim Limits) []Finding {
	in := &inspector{lim: lim.withDefaults()}
	in.file(name, name, strings.ToLower(mediaType), data, 0)
	return phish.Dedupe(in.found)
}

// inspector carries the budget across nested archives.
type inspector struct {
	lim   Limits
	files int   // archive entries seen
	total int64 // uncompressed bytes declared
	read  int64 // bytes of entries read whole
	found []Finding
	full  bool          // a limit was reached: stop looking
	zlib  io.ReadCloser // reused for a PDF's streams (see streamBytes)
	slow  int64         // bytes of bzip2 decompressed (see maxSlowOutput)
}

func (in *inspector) add(name string, score float64, format string, args ...any) {
	in.found = append(in.found, Finding{Name: name, Score: score, Reason: fmt.Sprintf(format, args...)})
}

// file examines one file: the attachment itself or an archive entry
// (shown as path, "a.zip/b/c.exe").
func (in *inspector) file(shown, name, mediaType string, data []byte, depth int) {
	in.name(shown, name)
	in.mediaType(shown, mediaType)
	in.content(shown, name, data, depth)
}

func (in *inspector) name(shown, name string) {
	clean, bidi := cleanName(name)
	if bidi {
		in.add(NameBidiName, 5, "the file name %q holds characters that reorder it on screen; its real end is %q", shown, clean)
	}
	prev, last, gap := extensions(clean)
	dangerous := executableExt[last] || scriptExt[last]
	switch {
	case executableExt[last]:
		in.add(NameExecutable, 5, "%s is a program (.%s)", shown, last)
	case scriptExt[last]:
		in.add(NameScript, 4, "%s is a script, shortcut or disk image (.%s) that runs or opens with a click", shown, last)
	case shortcutExt[last]:
		in.add(NameScript, 1.5, "%s is an internet shortcut (.%s): it opens whatever it points to", shown, last)
	case macroExt[last]:
		in.add(NameMacro, 3.5, "%s is an Office document that may run macros (.%s)", shown, last)
	}
	if dangerous && (decoyExt[prev] || gap >= 3) {
		in.add(NameDoubleExtension, 5, "%s pretends to be a .%s but is a .%s", shown, orWord(prev, "document"), last)
	}
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (in *inspector) mediaType(shown, mt string) {
	mt, _, _ = strings.Cut(mt, ";")
	switch strings.TrimSpace(mt) {
	case "application/x-msdownload", "application/x-dosexec", "application/x-msdos-program",
		"application/vnd.microsoft.portable-executable", "application/x-executable",
		"application/x-mach-binary", "application/x-ms-installer", "application/x-msi":
		in.add(NameExecutable, 5, "%s is declared a program (%s)", shown, mt)
	case "application/javascript", "application/x-javascript", "text/javascript", "application/hta",
		"application/x-ms-shortcut", "text/vbscript", "application/x-bat", "application/x-sh":
		in.add(NameScript, 4, "%s is declared a script (%s)", shown, mt)
	default:
		if strings.Contains(mt, "macroenabled") {
			in.add(NameMacro, 3.5, "%s is declared an Office document with macros (%s)", shown, mt)
		}
	}
}

// content examines the bytes by their magic numbers.
func (in *inspector) content(shown, name string, data []byte, depth int) {
	switch {
	case isPE(data):
		in.add(NameExecutable, 5, "%s is a Windows program", shown)
	case bytes.HasPrefix(data, []byte("\x7fELF")):
		in.add(NameExecutable, 5, "%s is a Linux or Unix program (ELF)", shown)
	case isMachO(data):
		in.add(NameExecutable, 5, "%s is a macOS program (Mach-O)", shown)
	case bytes.HasPrefix(data, []byte{0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0}):
		in.add(NameScript, 4, "%s is a Windows shortcut", shown)
	case len(data) > 0x8006 && string(data[0x8001:0x8006]) == "CD001":
		in.add(NameScript, 4, "%s is a disk image (ISO 9660)", shown)
	case bytes.HasPrefix(data, oleMagic):
		if hasVBA(data) {
			in.add(NameMacro, 4, "%s is an Office document with VBA macros", shown)
		}
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		in.zip(shown, data, depth+1)
	case bytes.HasPrefix(data, rar5Magic):
		in.rar5(shown, data)
	case bytes.HasPrefix(data, rar4Magic):
		in.rar4(shown, data)
	case bytes.HasPrefix(data, sevenZipMagic):
		in.sevenZip(shown, data)
	case bytes.HasPrefix(data, gzipMagic):
		in.gzip(shown, data, depth+1)
	case isBzip2(data):
		in.bzip2(shown, name, data, depth+1)
	case isTar(data):
		in.tar(shown, data, depth+1)
	case bytes.HasPrefix(data, []byte("%PDF-")):
		in.pdf(shown, data, depth)
	default:
		if isHTML(name, data) && hasPasswordForm(data) {
			in.add(NameHTMLLogin, 4, "%s is a web page with a password form: it opens in the browser, off any real site", shown)
		}
	}
}

// isHTML tells an HTML file by name or by its first bytes.
func isHTML(name string, data []byte) bool {
	_, last, _ := extensions(name)
	if last == "htm" || last == "html" || last == "shtml" || last == "xhtml" || last == "svg" {
		return true
	}
	head := bytes.ToLower(bytes.TrimSpace(data[:min(len(data), 512)]))
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html"))
}

// hasPasswordForm looks for an input of type password in the first
// megabyte: a login page sent as an attachment.
func hasPasswordForm(data []byte) bool {
	b := bytes.ToLower(data[:min(len(data), 1<<20)])
	return bytes.Contains(b, []byte("<input")) && (bytes.Contains(b, []byte(`type="password"`)) ||
		bytes.Contains(b, []byte(`type='password'`)) || bytes.Contains(b, []byte("type=password")))
}

// isPE recognises an MZ header pointing at a PE signature, or an MZ
// header too short to tell.
func isPE(data []byte) bool {
	if len(data) < 2 || data[0] != 'M' || data[1] != 'Z' {
		return false
	}
	if len(data) < 0x40 {
		return true
	}
	off := binary.LittleEndian.Uint32(data[0x3c:])
	if uint64(off)+4 > uint64(len(data)) {
		return len(data) < 4096 // cut short: an MZ header is enough to be wary
	}
	return string(data[off:off+4]) == "PE\x00\x00"
}

func isMachO(data []byte) bool {
	if len(data) < 8 {
		return false
	}
	switch binary.BigEndian.Uint32(data) {
	case 0xFEEDFACE, 0xFEEDFACF, 0xCEFAEDFE, 0xCFFAEDFE:
		return true
	case 0xCAFEBABE:
		// A universal binary counts its architectures here; a Java class
		// file has its version, 45 or more.
		n := binary.BigEndian.Uint32(data[4:])
		return n >= 1 && n < 40
	}
	return false
}

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// hasVBA looks for the directory entry of a VBA storage ("VBA",
// "_VBA_PROJECT_CUR", "Macros") in an OLE2 compound file ([MS-CFB] §2.6).
// Directory entries are 128 bytes at multiples of 128 from the start of
// the file (sectors are 512 or 4096 bytes after a 512-byte header), so
// the scan needs no walk of the allocation table and still cannot be
// fooled by the text "VBA" inside a stream at another alignment.
func hasVBA(data []byte) bool {
	for off := 512; off+128 <= len(data); off += 128 {
		e := data[off : off+128]
		n := int(binary.LittleEndian.Uint16(e[64:]))
		typ := e[66]
		if n < 4 || n > 64 || n%2 != 0 || (typ != 1 && typ != 2) {
			continue
		}
		switch strings.ToUpper(utf16Name(e[:n-2])) {
		case "VBA", "_VBA_PROJECT_CUR", "_VBA_PROJECT", "MACROS":
			return true
		}
	}
	return false
}

func utf16Name(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// shortPath bounds a shown path: archive entry names are the sender's.
func shortPath(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
