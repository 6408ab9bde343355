package attach

import (
	"strings"
	"testing"
)

func BenchmarkInspectPDF(b *testing.B) {
	data := []byte("%PDF-1.7\n" + strings.Repeat("x", 200<<10))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Inspect("report.pdf", "application/pdf", data, Limits{})
	}
}

func BenchmarkInspectDocx(b *testing.B) {
	var files []file
	for _, n := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/styles.xml",
		"word/settings.xml", "word/fontTable.xml", "docProps/core.xml", "docProps/app.xml"} {
		files = append(files, file{name: n, data: []byte(strings.Repeat("<w:p>text</w:p>", 2000))})
	}
	data := makeZip(b, files...)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Inspect("report.docx", "", data, Limits{})
	}
}

func BenchmarkInspectDoc(b *testing.B) {
	data := append(ole("Root Entry", "WordDocument"), make([]byte, 512<<10)...)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Inspect("letter.doc", "application/msword", data, Limits{})
	}
}

func BenchmarkInspectBomb(b *testing.B) {
	data := bombs(b)["nested42"]
	b.ReportAllocs()
	for b.Loop() {
		Inspect("bomb.zip", "", data, Limits{})
	}
}
