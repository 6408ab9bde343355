package attach

import (
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzInspect feeds arbitrary names and bytes: zip, tar, gzip, bzip2,
// RAR, 7z, OLE2 and PDF readers must neither panic nor take long, whatever the headers
// claim.
func FuzzInspect(f *testing.F) {
	f.Add("invoice.pdf.exe", pe())
	f.Add("a.zip", makeZip(f, file{name: "b.zip", data: makeZip(f, file{name: "c.vbs", data: []byte("x")})}))
	f.Add("a.zip", makeZip(f, file{name: "a.pdf", data: []byte("x"), encrypted: true}))
	f.Add("q.docx", makeZip(f, file{name: "word/vbaProject.bin", data: ole("VBA")}))
	f.Add("q.doc", ole("Root Entry", "Macros", "VBA"))
	f.Add("a.rar", rar4(0, 0x04, "a.pdf", "b.exe"))
	f.Add("a.rar", rar5(false, true, "x.js"))
	f.Add("a.rar", rar5(true, false))
	f.Add("a.7z", sevenZip([]byte{0x17, 0x06, 0xF1, 0x07, 0x01}))
	f.Add("big.zip", makeRawZip(f, "big.bin", 4<<30, deflateZeros(f, 1<<16), 0))
	f.Add("r\u202Efdp.exe", []byte("\x7fELF"))
	f.Add("a.tar", makeTar(f, file{name: "b.exe", data: pe()}, file{name: "c.zip", data: makeZip(f, file{name: "d.js", data: []byte("x")})}))
	f.Add("a.tgz", gzipped(f, "a.tar", makeTar(f, file{name: "b.txt", data: []byte("b")})))
	f.Add("z.gz", gzipped(f, "z", make([]byte, 4<<20)))
	for _, name := range []string{"7z/program.7z", "7z/encrypted.7z", "7z/hidden.7z", "7z/bcj2.7z", "7z/plainheader.7z",
		"compressed/bundle.tar.bz2", "compressed/big.bz2"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(name, data)
	}
	f.Add("a.pdf", makePDF(f, objectStream("/S /J#61vaScript"), pdfObj{dict: "/Type /EmbeddedFile", body: pe(), flate: true}))
	// Streams a few bytes apart: their dictionaries are looked for after
	// the stream before, or the file is read thousands of times over.
	f.Add("c.pdf", []byte("%PDF-1.7\n"+strings.Repeat("/a/a/a/a/a/a/a/a stream\nendstream ", 80_000)))
	f.Add("b.pdf", makePDF(f, pdfObj{dict: "/Type /ObjStm", body: make([]byte, 2<<20), flate: true}))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		start := time.Now()
		fs := Inspect(name, "application/octet-stream", data, Limits{})
		for _, x := range fs {
			if x.Name == "" || x.Score <= 0 || x.Reason == "" {
				t.Fatalf("empty finding %+v", x)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Inspect took %v on %d bytes", d, len(data))
		}
	})
}
