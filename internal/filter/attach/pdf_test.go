package attach

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// pdfObj is one object of a test PDF: a dictionary, and a stream when
// body is not nil, compressed with FlateDecode when flate is set.
type pdfObj struct {
	dict  string
	body  []byte
	flate bool
}

// makePDF writes a PDF of objs as a writer lays one out (without a
// cross-reference table, which the inspector does not read).
func makePDF(t testing.TB, objs ...pdfObj) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	for i, o := range objs {
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		if o.body == nil {
			fmt.Fprintf(&b, "<< %s >>\nendobj\n", o.dict)
			continue
		}
		body := o.body
		dict := o.dict
		if o.flate {
			body = deflated(t, body)
			dict += " /Filter /FlateDecode"
		}
		fmt.Fprintf(&b, "<< %s /Length %d >>\nstream\r\n", dict, len(body))
		b.Write(body)
		b.WriteString("\r\nendstream\nendobj\n")
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

func deflated(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// objectStream is the body of an object stream holding dicts (§7.5.7).
func objectStream(dicts ...string) pdfObj {
	var head, objs strings.Builder
	for i, d := range dicts {
		fmt.Fprintf(&head, "%d %d ", 10+i, objs.Len())
		objs.WriteString("<< " + d + " >>\n")
	}
	return pdfObj{dict: fmt.Sprintf("/Type /ObjStm /N %d /First %d", len(dicts), head.Len()),
		body: []byte(head.String() + objs.String()), flate: true}
}

func TestInspectPDF(t *testing.T) {
	catalog := pdfObj{dict: "/Type /Catalog /Pages 2 0 R /OpenAction 10 0 R"}
	page := pdfObj{dict: "/Length 44", body: []byte("BT /F1 12 Tf 72 712 Td (Invoice 2026) Tj ET"), flate: true}
	embedded := func(data []byte, flate bool) pdfObj {
		return pdfObj{dict: "/Type /EmbeddedFile /Subtype /application#2Foctet-stream", body: data, flate: flate}
	}
	tests := []struct {
		name string
		data []byte
		want []string
		// reason is a part of the PDF finding's reason, when one is
		// wanted; score its least score.
		reason string
		score  float64
	}{
		{"plain, nothing active", makePDF(t, catalog, page, objectStream("/Type /Pages /Kids [3 0 R] /Count 1")), nil, "", 0},
		{"JavaScript in the file", makePDF(t, catalog, pdfObj{dict: "/S /JavaScript /JS (app.alert(1))"}),
			[]string{NamePDFActive}, "runs JavaScript", 1.5},
		{"JavaScript in an object stream", makePDF(t, catalog, page, objectStream("/Type /Pages /Count 1", "/S /JavaScript /JS 12 0 R")),
			[]string{NamePDFActive}, "runs JavaScript", 1.5},
		{"Launch in an object stream", makePDF(t, catalog, objectStream("/S /Launch /Win << /F (cmd.exe) >>")),
			[]string{NamePDFActive}, "start a program (/Launch)", 3},
		{"JavaScript's name escaped", makePDF(t, catalog, pdfObj{dict: "/S /J#61vaScript /J#53 (app.alert(1))"}),
			[]string{NamePDFActive}, "hides its name with escapes", 3},
		{"Launch escaped in an object stream", makePDF(t, catalog, objectStream("/S /#4C#61unch /F (x.exe)")),
			[]string{NamePDFActive}, "hides its name with escapes", 4.5},
		{"object stream not compressed", makePDF(t, catalog, pdfObj{dict: "/Type /ObjStm /N 1 /First 4", body: []byte("10 0 << /S /JavaScript >>")}),
			[]string{NamePDFActive}, "runs JavaScript", 1.5},
		{"program embedded", makePDF(t, catalog, embedded(pe(), true)), []string{NameExecutable}, "", 0},
		{"program embedded, stored", makePDF(t, catalog, embedded(pe(), false)), []string{NameExecutable}, "", 0},
		{"script in a zip embedded", makePDF(t, catalog, embedded(makeZip(t, file{name: "run.vbs", data: []byte("x")}), true)),
			[]string{NameScript}, "", 0},
		{"text embedded", makePDF(t, catalog, embedded([]byte("<invoice/>"), true)), nil, "", 0},
		{"stream cut short", makePDF(t, catalog, objectStream("/S /JavaScript"))[:120], nil, "", 0},
		{"not zlib", makePDF(t, catalog, pdfObj{dict: "/Type /ObjStm /Filter /FlateDecode", body: []byte("not zlib at all")}), nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Inspect("invoice.pdf", "application/pdf", tt.data, Limits{})
			if got, want := findingNames(fs), slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
				t.Fatalf("findings %v, want %v\n%v", got, want, fs)
			}
			for _, f := range fs {
				if f.Name != NamePDFActive {
					if !strings.Contains(f.Reason, "invoice.pdf/(embedded file 1)") {
						t.Errorf("reason %q does not name the embedded file", f.Reason)
					}
					continue
				}
				if !strings.Contains(f.Reason, tt.reason) || f.Score < tt.score {
					t.Errorf("finding %+v, want a reason with %q and a score of at least %v", f, tt.reason, tt.score)
				}
			}
		})
	}
}

// TestInspectPDFCutShort: the unfinished stream of the test above does
// hold the name, so the test's "nothing" is the forgiving reader giving
// what it could, not a name missed; checked here with the name early.
func TestInspectPDFCutShort(t *testing.T) {
	full := makePDF(t, objectStream(strings.Repeat("/S /JavaScript ", 200)))
	cut := full[:len(full)*2/3]
	if fs := Inspect("a.pdf", "", cut, Limits{}); len(fs) != 1 || fs[0].Name != NamePDFActive {
		t.Fatalf("findings %v, want the JavaScript of the part that arrived", fs)
	}
}

func TestInspectPDFBounds(t *testing.T) {
	// An object stream that expands a thousandfold past a megabyte: a
	// bomb, not read through.
	bomb := makePDF(t, pdfObj{dict: "/Type /ObjStm", body: make([]byte, 16<<20), flate: true})
	if fs := Inspect("a.pdf", "", bomb, Limits{}); len(fs) != 1 || fs[0].Name != NameBomb {
		t.Fatalf("bomb: findings %v", fs)
	}
	// More streams than the limit of files: a limit finding, then stop.
	var objs []pdfObj
	for range 20 {
		objs = append(objs, objectStream("/Type /Page"))
	}
	if fs := Inspect("a.pdf", "", makePDF(t, objs...), Limits{MaxFiles: 10}); len(fs) != 1 || fs[0].Name != NameLimit {
		t.Fatalf("many streams: findings %v", fs)
	}
	// Embedded files nest within the depth limit.
	inner := makePDF(t, pdfObj{dict: "/Type /EmbeddedFile", body: pe(), flate: true})
	outer := makePDF(t, pdfObj{dict: "/Type /EmbeddedFile", body: inner, flate: true})
	fs := Inspect("a.pdf", "", outer, Limits{})
	if len(fs) != 1 || fs[0].Name != NameExecutable || !strings.Contains(fs[0].Reason, "a.pdf/(embedded file 1)/(embedded file 1)") {
		t.Fatalf("nested: findings %v", fs)
	}
	if fs := Inspect("a.pdf", "", outer, Limits{MaxDepth: 1}); len(fs) != 1 || fs[0].Name != NameBomb {
		t.Fatalf("nested past the depth limit: findings %v", fs)
	}
}

// TestInspectPDFStreamLength: a stream ends where its /Length says, so
// "endstream" inside its bytes does not cut it short (a zip whose first
// entry is named endstream.txt hid the program after it); without a
// direct /Length, the first "endstream" ends it.
func TestInspectPDFStreamLength(t *testing.T) {
	hiding := makeZip(t, file{name: "endstream.txt", data: []byte("x")}, file{name: "invoice.exe", data: pe()})
	fs := Inspect("a.pdf", "", makePDF(t, pdfObj{dict: "/Type /EmbeddedFile", body: hiding}), Limits{})
	if got := findingNames(fs); !slices.Equal(got, []string{NameExecutable}) {
		t.Fatalf("findings %v, want the program in the zip", fs)
	}
	for _, tt := range []struct {
		dict string
		n    int
		ok   bool
	}{
		{"/Type /EmbeddedFile /Length 12", 12, true},
		{"/Length 12 0 R", 0, false},
		{"/Length1 300 /Length 44 /Filter /FlateDecode", 44, true},
		{"/Length1 300", 0, false},
		{"/Length", 0, false},
		{"/Length\n7\n", 7, true},
	} {
		if n, ok := directLength([]byte(tt.dict)); n != tt.n || ok != tt.ok {
			t.Errorf("directLength(%q) = %d, %v; want %d, %v", tt.dict, n, ok, tt.n, tt.ok)
		}
	}
}

// TestInspectPDFVariants: what readers accept does not hide an object
// stream: a name holding "obj" in its dictionary, a lone CR or spaces
// after the stream keyword.
func TestInspectPDFVariants(t *testing.T) {
	js := objectStream("/S /JavaScript /JS (app.alert(1))")
	xobj := js
	xobj.dict += " /Xobj 0"
	plain := makePDF(t, js)
	for name, data := range map[string][]byte{
		"obj in a name":     makePDF(t, xobj),
		"stream CR":         bytes.Replace(plain, []byte("stream\r\n"), []byte("stream\r"), 1),
		"stream space CRLF": bytes.Replace(plain, []byte("stream\r\n"), []byte("stream  \r\n"), 1),
	} {
		if fs := Inspect("a.pdf", "", data, Limits{}); !slices.Equal(findingNames(fs), []string{NamePDFActive}) {
			t.Errorf("%s: findings %v, want the JavaScript", name, fs)
		}
	}
}

func TestPDFNames(t *testing.T) {
	var got []string
	pdfNames([]byte("<</Type/Catalog /J#61va#53cript /A#2 /#zz/ (x) /Long"+strings.Repeat("x", 80)+"#41>>"), func(n []byte, escaped bool) {
		got = append(got, fmt.Sprintf("%s:%v", n, escaped))
	})
	want := []string{"Type:false", "Catalog:false", "JavaScript:true", "A#2:true", "#zz:true", ":false"}
	if !slices.Equal(got, want) {
		t.Fatalf("names %q, want %q", got, want)
	}
}
