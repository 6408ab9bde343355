package reports

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// reportMail returns a mail with one attachment of type ctype holding
// data, base64-encoded.
func reportMail(ctype, filename string, data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var lines []string
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc)
	return []byte("From: noreply-dmarc@reporter.example\r\nTo: dmarc@example.com\r\nSubject: Report Domain: example.com\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nA report.\r\n" +
		"--b1\r\nContent-Type: " + ctype + "\r\nContent-Disposition: attachment; filename=\"" + filename + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + strings.Join(lines, "\r\n") + "\r\n--b1--\r\n")
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func zipped(name string, b []byte) []byte {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	w, _ := zw.Create(name)
	w.Write(b)
	zw.Close()
	return out.Bytes()
}

// lyingZip is a zip whose header claims the file is small while its data
// expands to n zero bytes.
func lyingZip(n int) []byte {
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	zeros := make([]byte, n)
	fw.Write(zeros)
	fw.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	w, _ := zw.CreateRaw(&zip.FileHeader{Name: "r.xml", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(zeros),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: 1000})
	w.Write(comp.Bytes())
	zw.Close()
	return out.Bytes()
}

const reporterXML = `<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <report_metadata><org_name>reporter.example</org_name><email>noreply@reporter.example</email>
    <report_id>%s</report_id><date_range><begin>1795219200</begin><end>1795305599</end></date_range></report_metadata>
  <policy_published><domain>Example.com</domain><p>reject</p><sp>reject</sp><pct>100</pct><fo>0</fo></policy_published>
  %s
</feedback>`

func rec(ip, from string, n int, dkim, spf string, auth string) string {
	return fmt.Sprintf(`<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated><disposition>none</disposition>
	<dkim>%s</dkim><spf>%s</spf></policy_evaluated></row><identifiers><header_from>%s</header_from></identifiers>
	<auth_results>%s</auth_results></record>`, ip, n, dkim, spf, from, auth)
}

func TestIngest(t *testing.T) {
	ours, err := os.ReadFile("testdata/example.com.eml")
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte(fmt.Sprintf(reporterXML, "r-1", rec("192.0.2.1", "example.com", 3, "pass", "pass", "")))
	latin1 := []byte(strings.Replace(fmt.Sprintf(reporterXML, "r-l", ""), "UTF-8", "ISO-8859-1", 1))
	tests := []struct {
		name    string
		msg     []byte
		wantErr error
		wantID  string
	}{
		{"our own report mail", ours, nil, "20261121.0851a0c96c65"},
		{"gzip attachment", reportMail("application/gzip", "r.xml.gz", gz(doc)), nil, "r-1"},
		{"zip attachment", reportMail("application/zip", "r.zip", zipped("r.xml", doc)), nil, "r-1"},
		{"octet-stream named .xml.gz", reportMail("application/octet-stream", "x!y!1!2.xml.gz", gz(doc)), nil, "r-1"},
		{"plain XML body", append([]byte("From: a@b.example\r\nContent-Type: text/xml\r\n\r\n"), doc...), nil, "r-1"},
		{"Latin-1 document", reportMail("text/xml", "r.xml", latin1), nil, "r-l"},
		{"no report", []byte("From: a@b.example\r\nSubject: hello\r\n\r\nhi\r\n"), ErrNoReport, ""},
		{"zip with other files only", reportMail("application/zip", "r.zip", append(zipped("a.txt", doc)[:0:0], zipped2()...)), ErrNoReport, ""},
		{"not XML", reportMail("application/gzip", "r.xml.gz", gz([]byte("<feedback><report_metadata>"))), ErrMalformed, ""},
		{"no report ID", reportMail("text/xml", "r.xml", []byte(fmt.Sprintf(reporterXML, "", ""))), ErrMalformed, ""},
		{"bad gzip", reportMail("application/gzip", "r.xml.gz", []byte("not gzip")), ErrMalformed, ""},
		{"gzip bomb", reportMail("application/gzip", "r.xml.gz", gz(make([]byte, MaxDocumentSize+1))), ErrTooLarge, ""},
		{"zip bomb, honest header", reportMail("application/zip", "r.zip", zipped("r.xml", make([]byte, MaxDocumentSize+1))), ErrTooLarge, ""},
		// archive/zip refuses to read past the size the header declares.
		{"zip bomb, lying header", reportMail("application/zip", "r.zip", lyingZip(MaxDocumentSize+1)), ErrMalformed, ""},
		{"huge message", append([]byte("From: a@b.example\r\n\r\n"), make([]byte, MaxMessageSize)...), ErrTooLarge, ""},
		{"unterminated multipart", []byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/xml\r\n\r\n<a"), ErrMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			got, err := Ingest(t.Context(), st, bytes.NewReader(tc.msg))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != store.ReportDMARC || got.Domain != "example.com" || got.ReportID != tc.wantID || got.ID == 0 || got.Duplicate {
				t.Errorf("ingested %+v", got)
			}
			again, err := Ingest(t.Context(), st, bytes.NewReader(tc.msg))
			if err != nil || !again.Duplicate {
				t.Errorf("the same report again: %+v, %v", again, err)
			}
			list, err := st.ListReceivedReports(t.Context(), store.ReportDMARC, "example.com", day)
			if err != nil || len(list) != 1 {
				t.Fatalf("stored %d reports, %v", len(list), err)
			}
			if _, err := ParseFeedback(list[0].Data); err != nil {
				t.Errorf("stored document: %v", err)
			}
		})
	}
}

func zipped2() []byte {
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, n := range []string{"a.txt", "b.pdf"} {
		w, _ := zw.Create(n)
		w.Write([]byte("x"))
	}
	zw.Close()
	return out.Bytes()
}

func TestSummarizeDMARC(t *testing.T) {
	st := openStore(t)
	spfPass := `<spf><domain>example.com</domain><result>pass</result></spf>`
	docs := []string{
		fmt.Sprintf(reporterXML, "a", rec("192.0.2.1", "example.com", 10, "pass", "pass", spfPass)+
			rec("198.51.100.9", "example.com", 4, "fail", "fail", `<spf><domain>example.com</domain><result>fail</result></spf>`)+
			rec("203.0.113.3", "example.com", 2, "fail", "fail", `<dkim><domain>esp.example</domain><result>pass</result></dkim><spf><domain>bounce.esp.example</domain><result>pass</result></spf>`)),
		fmt.Sprintf(reporterXML, "b", rec("192.0.2.1", "example.com", 5, "fail", "pass", spfPass)+
			rec("192.0.2.2", "example.com", 3, "pass", "fail", "")+rec("192.0.2.2", "example.com", 1, "fail", "fail", "")),
	}
	for _, d := range docs {
		if _, err := Ingest(t.Context(), st, bytes.NewReader(reportMail("text/xml", "r.xml", []byte(d)))); err != nil {
			t.Fatal(err)
		}
	}
	reps, err := st.ListReceivedReports(t.Context(), store.ReportDMARC, "", day)
	if err != nil {
		t.Fatal(err)
	}
	sums, skipped := SummarizeDMARC(reps)
	if skipped != 0 {
		t.Errorf("%d skipped", skipped)
	}
	want := []struct {
		ip               string
		messages, pass   int64
		spf, dkim        int64
		adviceStartsWith string
	}{
		{"198.51.100.9", 4, 0, 0, 0, "198.51.100.9 sends as example.com, fails SPF and DKIM: add it to SPF or sign"},
		{"203.0.113.3", 2, 0, 0, 0, "203.0.113.3 sends as example.com, fails DMARC: SPF passes for bounce.esp.example, not aligned with example.com: use a MAIL FROM under example.com; it signs as esp.example"},
		{"192.0.2.2", 4, 3, 0, 3, "192.0.2.2 sends as example.com, fails DMARC for 1 of 4 messages"},
		{"192.0.2.1", 15, 15, 15, 10, ""},
	}
	if len(sums) != len(want) {
		t.Fatalf("%d summaries, want %d: %+v", len(sums), len(want), sums)
	}
	for i, w := range want {
		s := sums[i]
		if s.SourceIP != w.ip || s.Messages != w.messages || s.Pass != w.pass || s.SPFPass != w.spf || s.DKIMPass != w.dkim ||
			s.Domain != "example.com" || !strings.HasPrefix(s.Advice, w.adviceStartsWith) || (w.adviceStartsWith == "") != (s.Advice == "") {
			t.Errorf("summary %d: %+v, want %+v", i, s, w)
		}
	}
}
