package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// FuzzParseFeedback: any input parses or fails with ErrMalformed or
// ErrTooLarge, and a report that parses survives a round trip through
// MarshalFeedback.
func FuzzParseFeedback(f *testing.F) {
	if golden, err := os.ReadFile("testdata/example.com.xml"); err == nil {
		f.Add(golden)
	}
	f.Add([]byte(fmt.Sprintf(reporterXML, "r-1", rec("192.0.2.1", "example.com", 3, "pass", "fail", "<spf><domain>x</domain><result>pass</result></spf>"))))
	f.Add([]byte(`<feedback><report_metadata><org_name>o</org_name><report_id>1</report_id></report_metadata><policy_published><domain>d</domain></policy_published></feedback>`))
	f.Add([]byte(`<?xml version="1.0" encoding="latin1"?><feedback/>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		fb, err := ParseFeedback(doc)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		out, err := MarshalFeedback(*fb)
		if err != nil {
			return // text XML 1.0 cannot carry (control characters) fails cleanly
		}
		again, err := ParseFeedback(out)
		if err != nil {
			t.Fatalf("a parsed report does not parse once written: %v\n%s", err, out)
		}
		if again.Metadata.ReportID != fb.Metadata.ReportID || len(again.Records) != len(fb.Records) {
			t.Fatalf("round trip changed the report: %+v != %+v", again.Metadata, fb.Metadata)
		}
	})
}

// nopReports is a store.Reports that stores nothing, for fuzzing Ingest
// without a database.
type nopReports struct{ store.Reports }

func (nopReports) AddReceivedReport(ctx context.Context, r store.ReceivedReport) (int64, error) {
	if err := store.CheckReceivedReport(r); err != nil {
		return 0, err
	}
	return 1, nil
}

// FuzzIngest: any message is ingested or refused with an error, within a
// time bound.
func FuzzIngest(f *testing.F) {
	doc := []byte(fmt.Sprintf(reporterXML, "r-1", rec("192.0.2.1", "example.com", 3, "pass", "pass", "")))
	f.Add(reportMail("application/gzip", "r.xml.gz", gz(doc)))
	f.Add(reportMail("application/zip", "r.zip", zipped("r.xml", doc)))
	f.Add(append([]byte("Content-Type: text/xml\r\n\r\n"), doc...))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		start := time.Now()
		in, err := Ingest(context.Background(), nopReports{}, bytes.NewReader(msg))
		if err == nil && (in.ReportID == "" || in.Domain == "") {
			t.Fatalf("ingested a report without ID or domain: %+v", in)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Ingest took %v", d)
		}
	})
}

// FuzzParseTLSReport: any input parses or fails with ErrMalformed or
// ErrTooLarge, and a report that parses survives a round trip.
func FuzzParseTLSReport(f *testing.F) {
	if golden, err := os.ReadFile("testdata/tls.example.json"); err == nil {
		f.Add(golden)
	}
	f.Add([]byte(`{"organization-name":"o","report-id":"1","date-range":{"start-datetime":"2026-01-01T00:00:00Z","end-datetime":"2026-01-01T23:59:59Z"},"policies":[{"policy":{"policy-type":"sts","policy-domain":"d"}}]}`))
	f.Add([]byte(`{"policies":[{"failure-details":[{"failed-session-count":-1}]}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		rep, err := ParseTLSReport(doc)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		out, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseTLSReport(out)
		if err != nil {
			t.Fatalf("a parsed report does not parse once written: %v\n%s", err, out)
		}
		if again.ReportID != rep.ReportID || len(again.Policies) != len(rep.Policies) {
			t.Fatalf("round trip changed the report")
		}
	})
}
