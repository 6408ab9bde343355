package attach

import (
	"fmt"
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

// BenchmarkInspectPDFObjectStreams: a 2 MiB PDF as today's writers make
// one, its dictionaries in 40 compressed object streams of 100 objects
// each, and pages drawn by compressed content streams (not decompressed).
func BenchmarkInspectPDFObjectStreams(b *testing.B) {
	var objs []pdfObj
	for i := range 40 {
		var dicts []string
		for j := range 100 {
			dicts = append(dicts, fmt.Sprintf("/Type /Annot /Subtype /Link /Rect [%d %d 200 220] /A << /S /URI /URI (https://example.com/%d) >>", i, j, j))
		}
		objs = append(objs, objectStream(dicts...))
	}
	noise := make([]byte, 40<<10)
	for i := range noise {
		noise[i] = byte(i * 7919 >> 3)
	}
	for range 40 {
		objs = append(objs, pdfObj{dict: "/Length 0", body: noise})
	}
	data := makePDF(b, objs...)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if fs := Inspect("report.pdf", "application/pdf", data, Limits{}); len(fs) != 0 {
			b.Fatal(fs)
		}
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
