package attach

import (
	"path"
	"strings"
)

// The extensions of programs: run by a double click on Windows, or
// installed as one (.msi, .appx, .cab), or loaded by Excel (.xll);
// Access applications (.ade, .adp, .mde) run their VBA when opened.
var executableExt = set("exe", "com", "scr", "pif", "cpl", "dll", "ocx", "sys", "drv", "vxd", "msi", "msp",
	"mst", "appx", "appxbundle", "msix", "msixbundle", "application", "gadget", "xll", "apk", "run", "elf",
	"ex_", "cab", "ade", "adp", "mde")

// The extensions of scripts, shortcuts, registry and help files, of
// Windows troubleshooting packages (.diagcab and its kin, which fetch
// and run code), of OneNote notebooks (whose embedded files run on a
// click: a common carrier of malware since Office blocked macros), and
// of disk images (which Windows mounts with one click, hiding what they
// hold from mail filters).
var scriptExt = set("js", "jse", "mjs", "vb", "vbs", "vbe", "wsf", "wsh", "wsc", "ps1", "ps1xml", "ps2", "psc1", "psm1",
	"bat", "cmd", "hta", "lnk", "scf", "sct", "shb", "reg", "inf", "ins", "isp", "nsh", "jar", "jnlp", "msc", "chm", "hlp",
	"settingcontent-ms", "library-ms", "searchconnector-ms", "diagcab", "diagcfg", "diagpkg", "one", "onepkg",
	"iso", "img", "vhd", "vhdx", "udf", "dmg")

// Internet shortcuts open a web page (or, through a file: URL, a
// program): people share bookmarks this way too, so they weigh less.
var shortcutExt = set("url", "website", "webloc")

// The extensions of Office documents that may hold macros.
var macroExt = set("docm", "dotm", "xlsm", "xltm", "xlam", "xlsb", "pptm", "potm", "ppsm", "sldm", "ppam")

// The extensions a double extension pretends: documents, pictures, media
// and archives people open without thinking.
var decoyExt = set("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "rtf", "txt", "csv",
	"jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "mp3", "mp4", "avi", "mov", "wav", "zip", "rar",
	"7z", "htm", "html", "xml", "eml", "msg", "invoice")

// The extensions of archives this package looks into or reads the
// headers of.
var archiveExt = set("zip", "jar", "rar", "7z", "docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "odt", "ods",
	"gz", "tgz", "tar", "bz2", "tbz2")

func set(list ...string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// bidiControls are the characters that reorder text on display:
// "invoice\u202Efdp.exe" shows as "invoiceexe.pdf".
func isBidiControl(r rune) bool {
	return r == '\u202A' || r == '\u202B' || r == '\u202C' || r == '\u202D' || r == '\u202E' ||
		'\u2066' <= r && r <= '\u2069' || r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// isInvisible: zero-width characters that hide inside a name.
func isInvisible(r rune) bool {
	return r == '\u200B' || r == '\u200C' || r == '\u200D' || r == '\u2060' || r == '\uFEFF'
}

// cleanName returns name as Windows would treat it: without reordering
// or invisible characters, and without the trailing dots and spaces
// Windows drops ("evil.exe." runs); bidi tells whether there were
// reordering characters.
func cleanName(name string) (clean string, bidi bool) {
	clean = strings.Map(func(r rune) rune {
		if isBidiControl(r) {
			bidi = true
			return -1
		}
		if isInvisible(r) {
			return -1
		}
		return r
	}, name)
	clean = path.Base(strings.ReplaceAll(clean, "\\", "/"))
	return strings.TrimRight(clean, ". \t"), bidi
}

// extensions returns the last two extensions of name, lower-cased, and
// the gap of spaces before the last dot ("a.pdf      .exe" → "pdf",
// "exe", 6).
func extensions(name string) (prev, last string, gap int) {
	name = strings.ToLower(name)
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return "", "", 0
	}
	last = strings.TrimSpace(name[i+1:])
	rest := name[:i]
	trimmed := strings.TrimRight(rest, " \t_")
	gap = len(rest) - len(trimmed)
	if j := strings.LastIndexByte(trimmed, '.'); j > 0 {
		prev = strings.TrimSpace(trimmed[j+1:])
	}
	return prev, last, gap
}
