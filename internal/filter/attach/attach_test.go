package attach

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	elf := []byte("\x7fELF\x02\x01\x01\x00")
	macho := []byte{0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1}
	javaClass := []byte{0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52}
	lnk := []byte{0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0}
	iso := make([]byte, 0x8010)
	copy(iso[0x8001:], "CD001")
	docx := makeZip(t, file{name: "[Content_Types].xml", data: []byte("<Types/>")},
		file{name: "word/document.xml", data: []byte("<w:document/>")})
	docm := makeZip(t, file{name: "[Content_Types].xml", data: []byte("<Types/>")},
		file{name: "word/document.xml", data: []byte("<w:document/>")},
		file{name: "word/vbaProject.bin", data: ole("Root Entry", "VBA")})
	tests := []struct {
		name, file, mediaType string
		data                  []byte
		want                  []string
	}{
		// Ordinary attachments: nothing.
		{"pdf", "invoice.pdf", "application/pdf", []byte("%PDF-1.7\n"), nil},
		{"photo", "IMG_0001.JPG", "image/jpeg", []byte("\xff\xd8\xff\xe0"), nil},
		{"docx", "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx, nil},
		{"plain doc", "letter.doc", "application/msword", ole("Root Entry", "WordDocument"), nil},
		{"zip of documents", "papers.zip", "application/zip", makeZip(t,
			file{name: "a.pdf", data: []byte("%PDF-1.4")}, file{name: "dir/", data: nil},
			file{name: "dir/b.txt", data: []byte(strings.Repeat("hello ", 1000))}), nil},
		{"java class is not Mach-O", "A.class", "application/octet-stream", javaClass, nil},
		{"dotted name", "v1.2.3 release notes.txt", "text/plain", []byte("notes"), nil},
		{"text saying MZ", "mz.txt", "text/plain", []byte("MZ is a postcode area, and this text is long enough to have a header offset that points nowhere at all. " + strings.Repeat("x", 5000)), nil},
		{"no name", "", "", nil, nil},
		// Programs.
		{"exe by name", "setup.exe", "application/octet-stream", []byte("x"), []string{NameExecutable}},
		{"exe by magic", "document", "application/octet-stream", pe(), []string{NameExecutable}},
		{"exe as pdf", "invoice.pdf", "application/pdf", pe(), []string{NameExecutable}},
		{"elf", "update", "", elf, []string{NameExecutable}},
		{"mach-o", "Viewer", "", macho, []string{NameExecutable}},
		{"declared", "x.bin", "application/x-msdownload", []byte("x"), []string{NameExecutable}},
		{"exe with trailing dot", "run.exe.", "", nil, []string{NameExecutable}},
		// Scripts, shortcuts, images.
		{"js", "invoice.js", "", []byte("var x"), []string{NameScript}},
		{"vbs upper case", "ORDER.VBS", "", nil, []string{NameScript}},
		{"hta", "info.hta", "", nil, []string{NameScript}},
		{"ps1", "fix.ps1", "", nil, []string{NameScript}},
		{"lnk by magic", "Photos", "", lnk, []string{NameScript}},
		{"iso by magic", "delivery.pdf", "", iso, []string{NameScript}},
		{"iso by name", "delivery.iso", "", nil, []string{NameScript}},
		{"onenote", "Invoice 4471.one", "", nil, []string{NameScript}},
		{"troubleshooter", "fix-your-printer.diagcab", "", nil, []string{NameScript}},
		{"cabinet", "update.cab", "", nil, []string{NameExecutable}},
		{"access application", "orders.ADE", "", nil, []string{NameExecutable}},
		{"internet shortcut", "Liberalism in America.url", "", []byte("[InternetShortcut]\r\nURL=http://example.com/\r\n"), []string{NameScript}},
		// Double extensions and reordering.
		{"double", "invoice.pdf.exe", "", nil, []string{NameDoubleExtension, NameExecutable}},
		{"double with spaces", "invoice.pdf                    .scr", "", nil, []string{NameDoubleExtension, NameExecutable}},
		{"double script", "photo.jpg.js", "", nil, []string{NameDoubleExtension, NameScript}},
		{"rtlo", "invoice\u202Efdp.exe", "", nil, []string{NameBidiName, NameExecutable}},
		{"rtlo to script", "report\u202Efdp.js", "", nil, []string{NameBidiName, NameScript}},
		{"zero width", "invoice.pdf\u200b.exe", "", nil, []string{NameDoubleExtension, NameExecutable}},
		// Macros.
		{"docm by name", "q3.docm", "", docx, []string{NameMacro}},
		{"docx holding macros", "q3.docx", "", docm, []string{NameMacro}},
		{"doc with VBA", "q3.doc", "application/msword", ole("Root Entry", "Macros", "VBA"), []string{NameMacro}},
		{"xls with VBA", "q3.xls", "", ole("Root Entry", "_VBA_PROJECT_CUR"), []string{NameMacro}},
		{"macro media type", "q3", "application/vnd.ms-excel.sheet.macroEnabled.12", nil, []string{NameMacro}},
		// Active PDF and HTML.
		{"pdf with js", "form.pdf", "application/pdf", []byte("%PDF-1.7\n1 0 obj << /S /JavaScript /JS (app.alert(1)) >>"), []string{NamePDFActive}},
		{"pdf launching", "x.pdf", "", []byte("%PDF-1.4\n<< /S /Launch /F (cmd.exe) >>"), []string{NamePDFActive}},
		{"html login page", "Invoice.html", "text/html", []byte(`<html><form action="https://evil.test/p"><input type="password" name="pw"></form>`), []string{NameHTMLLogin}},
		{"html login page, no name", "", "", []byte(`<!DOCTYPE html><input type=password>`), []string{NameHTMLLogin}},
		{"html newsletter", "news.html", "text/html", []byte(`<html><p>Hello</p><form><input type="text" name="q"></form>`), nil},
		// Archives.
		{"exe in zip", "invoice.zip", "application/zip", makeZip(t, file{name: "invoice.pdf.exe", data: pe()}),
			[]string{NameDoubleExtension, NameExecutable}},
		{"exe by magic in zip", "invoice.zip", "", makeZip(t, file{name: "invoice", data: pe()}), []string{NameExecutable}},
		{"script in nested zip", "a.zip", "", makeZip(t, file{name: "b.zip", data: makeZip(t, file{name: "c.vbs", data: []byte("x")})}),
			[]string{NameScript}},
		{"macro doc in zip", "docs.zip", "", makeZip(t, file{name: "q3.doc", data: ole("Root Entry", "VBA")}), []string{NameMacro}},
		{"encrypted zip", "secret.zip", "", makeZip(t, file{name: "a.pdf", data: []byte("x"), encrypted: true}), []string{NameEncrypted}},
		{"encrypted zip, exe name", "secret.zip", "", makeZip(t, file{name: "a.exe", data: []byte("x"), encrypted: true}),
			[]string{NameEncrypted, NameExecutable}},
		{"rar4 clean", "a.rar", "", rar4(0, 0, "a.pdf"), nil},
		{"rar4 encrypted file", "a.rar", "", rar4(0, 0x04, "a.pdf"), []string{NameEncrypted}},
		{"rar4 encrypted headers", "a.rar", "", rar4(0x80, 0), []string{NameEncrypted}},
		{"rar4 exe", "a.rar", "", rar4(0, 0, "a.pdf", "b.exe"), []string{NameExecutable}},
		{"rar5 clean", "a.rar", "", rar5(false, false, "a.pdf"), nil},
		{"rar5 encrypted file", "a.rar", "", rar5(false, true, "a.pdf"), []string{NameEncrypted}},
		{"rar5 encrypted headers", "a.rar", "", rar5(true, false), []string{NameEncrypted}},
		{"rar5 script", "a.rar", "", rar5(false, false, "x.js"), []string{NameScript}},
		{"tar clean", "src.tar", "application/x-tar", makeTar(t, file{name: "src/main.c", data: []byte("int main;")}, file{name: "README", data: []byte("hi")}), nil},
		{"tar.gz clean", "src.tar.gz", "application/gzip", gzipped(t, "", makeTar(t, file{name: "notes.txt", data: []byte("notes")})), nil},
		{"gzip of text", "log.gz", "application/gzip", gzipped(t, "log.txt", []byte(strings.Repeat("line\n", 1000))), nil},
		{"exe in tar", "invoice.tar", "", makeTar(t, file{name: "invoice.pdf.exe", data: pe()}), []string{NameDoubleExtension, NameExecutable}},
		{"exe by magic in tar.gz", "invoice.tgz", "", gzipped(t, "", makeTar(t, file{name: "invoice", data: pe()})), []string{NameExecutable}},
		{"script in zip in tar", "a.tar", "", makeTar(t, file{name: "b.zip", data: makeZip(t, file{name: "c.vbs", data: []byte("x")})}), []string{NameScript}},
		{"gzip naming a program", "update.gz", "", gzipped(t, "update.exe", []byte("x")), []string{NameExecutable}},
		{"gzip of a program", "photo.gz", "", gzipped(t, "", elf), []string{NameExecutable}},
		{"gzip cut short", "a.gz", "", gzipped(t, "a.txt", []byte(strings.Repeat("abc", 1000)))[:30], []string{NameMalformed}},
		{"7z clean", "a.7z", "", sevenZip([]byte{0x01, 0x04, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00}), nil},
		{"7z unreadable", "a.7z", "", sevenZip([]byte{0x01, 0x04, 0x06, 0x00, 0x00}), []string{NameMalformed}},
		{"7z encrypted", "a.7z", "", sevenZip([]byte{0x17, 0x06, 0x0b, 0x24, 0x06, 0xF1, 0x07, 0x01, 0x00}), []string{NameEncrypted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Inspect(tt.file, tt.mediaType, tt.data, Limits{})
			if got, want := findingNames(fs), slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
				t.Fatalf("findings %v, want %v\n%v", got, want, fs)
			}
			for _, f := range fs {
				if f.Score <= 0 || f.Reason == "" {
					t.Errorf("finding %+v lacks a score or a reason", f)
				}
			}
		})
	}
}

func TestReasonNamesTheFile(t *testing.T) {
	data := makeZip(t, file{name: "inner/invoice.pdf.exe", data: []byte("x")})
	fs := Inspect("outer.zip", "", data, Limits{})
	for _, f := range fs {
		if !strings.Contains(f.Reason, "outer.zip/inner/invoice.pdf.exe") {
			t.Errorf("reason %q does not name the entry", f.Reason)
		}
	}
}

func TestDedupe(t *testing.T) {
	var files []file
	for _, n := range []string{"a.exe", "b.exe", "c.exe"} {
		files = append(files, file{name: n, data: []byte("x")})
	}
	fs := Inspect("x.zip", "", makeZip(t, files...), Limits{})
	if len(fs) != 1 || !strings.Contains(fs[0].Reason, "(and 2 more of the kind)") {
		t.Fatalf("findings %v, want one with the count of the others", fs)
	}
}

func TestHasVBAAlignment(t *testing.T) {
	// The name "VBA" inside a stream, off the directory alignment, does
	// not count.
	b := ole("Root Entry", "WordDocument")
	b = append(b, make([]byte, 512)...)
	copy(b[1024+7:], []byte{'V', 0, 'B', 0, 'A', 0})
	b[1024+7+64] = 8
	b[1024+7+66] = 1
	if hasVBA(b) {
		t.Fatal("misaligned VBA name counted")
	}
	if !bytes.HasPrefix(b, oleMagic) {
		t.Fatal("not OLE")
	}
}

func TestScores(t *testing.T) {
	score := func(name string) float64 {
		fs := Inspect(name, "", nil, Limits{})
		if len(fs) != 1 {
			t.Fatalf("%s: %v", name, fs)
		}
		return fs[0].Score
	}
	if s, e := score("bookmark.url"), score("setup.exe"); s >= 3 || e < 5 {
		t.Errorf("internet shortcut scores %v, program %v: want a shortcut under 3 and a program 5 or more", s, e)
	}
}
