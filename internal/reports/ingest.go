package reports

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"sealpost.dev/sealpost/internal/mimeutil"
	"sealpost.dev/sealpost/internal/store"
)

// The bounds on what Ingest reads.
const (
	// MaxMessageSize is the largest report mail read.
	MaxMessageSize = 20 << 20
	// MaxDocumentSize is the largest report document once decompressed:
	// a small archive that expands past it is refused, not expanded.
	MaxDocumentSize = store.MaxReportLen
	// maxMIMEDepth bounds the nesting of multiparts.
	maxMIMEDepth = 8
)

// Errors from Ingest and the parsers.
var (
	// ErrTooLarge reports a message, attachment or decompressed document
	// over its bound.
	ErrTooLarge = errors.New("reports: report too large")
	// ErrNoReport reports a message without a report attached.
	ErrNoReport = errors.New("reports: no report in the message")
	// ErrMalformed reports a report that does not parse or lacks what
	// identifies it.
	ErrMalformed = errors.New("reports: malformed report")
)

// Ingested describes a report Ingest stored.
type Ingested struct {
	Kind      store.ReportKind `json:"kind"`
	Domain    string           `json:"domain"`
	Org       string           `json:"org"`
	ReportID  string           `json:"report_id"`
	ID        int64            `json:"id,omitempty"` // in the store; 0 for a duplicate
	Duplicate bool             `json:"duplicate"`    // the same report was stored before
}

// Ingest reads a mail sent to a report address, finds the DMARC aggregate
// report or TLS report in it (XML or JSON, raw, gzip or zip, as the whole
// body or an attachment), and stores it. A report received before is not
// stored again and is no error. The caller may drop a message Ingest
// refuses: it is not a report Sealpost can read.
func Ingest(ctx context.Context, st store.Reports, msg io.Reader) (Ingested, error) {
	raw, err := readBounded(msg, MaxMessageSize)
	if err != nil {
		return Ingested{}, err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Ingested{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	doc, err := findReport(m.Header, m.Body, 0)
	if err != nil {
		return Ingested{}, err
	}
	r, err := parseDocument(doc)
	if err != nil {
		return Ingested{}, err
	}
	in := Ingested{Kind: r.Kind, Domain: r.Domain, Org: r.Org, ReportID: r.ReportID}
	in.ID, err = st.AddReceivedReport(ctx, r)
	if errors.Is(err, store.ErrExists) {
		in.Duplicate = true
		return in, nil
	}
	return in, err
}

// header is what findReport needs of a part's header.
type header interface{ Get(string) string }

// findReport returns the first report document in a part: the part itself
// if it is one, or the first one among its subparts.
func findReport(h header, body io.Reader, depth int) ([]byte, error) {
	ctype, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		ctype = "text/plain"
	}
	if strings.HasPrefix(ctype, "multipart/") {
		if depth >= maxMIMEDepth || params["boundary"] == "" {
			return nil, fmt.Errorf("%w: multipart nested too deep or without boundary", ErrMalformed)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil, ErrNoReport
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			doc, err := findReport(p.Header, p, depth+1)
			if errors.Is(err, ErrNoReport) {
				continue
			}
			return doc, err
		}
	}
	name := attachmentName(h, params)
	kind := archiveKind(ctype, name)
	if kind == "" {
		return nil, ErrNoReport
	}
	data, err := readBounded(mimeutil.TransferReader(h.Get("Content-Transfer-Encoding"), body), MaxMessageSize)
	if err != nil {
		return nil, err
	}
	return decompress(kind, data)
}

func attachmentName(h header, ctypeParams map[string]string) string {
	if _, p, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && p["filename"] != "" {
		return strings.ToLower(p["filename"])
	}
	return strings.ToLower(ctypeParams["name"])
}

// archiveKind says how a part holds a report: "gzip", "zip", "plain", or
// "" when it holds none.
func archiveKind(ctype, name string) string {
	switch ctype {
	case "application/gzip", "application/x-gzip", "application/tlsrpt+gzip":
		return "gzip"
	case "application/zip", "application/x-zip-compressed", "application/x-zip":
		return "zip"
	case "application/xml", "text/xml", "application/json", "application/tlsrpt+json":
		return "plain"
	}
	switch {
	case strings.HasSuffix(name, ".gz"):
		return "gzip"
	case strings.HasSuffix(name, ".zip"):
		return "zip"
	case strings.HasSuffix(name, ".xml"), strings.HasSuffix(name, ".json"):
		return "plain"
	}
	return ""
}

// decompress expands data by kind within MaxDocumentSize.
func decompress(kind string, data []byte) ([]byte, error) {
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrMalformed, err)
		}
		return readBounded(zr, MaxDocumentSize)
	case "zip":
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%w: zip: %v", ErrMalformed, err)
		}
		for _, f := range zr.File {
			ext := strings.ToLower(path.Ext(f.Name))
			if ext != ".xml" && ext != ".json" && len(zr.File) > 1 {
				continue
			}
			if f.UncompressedSize64 > MaxDocumentSize {
				return nil, fmt.Errorf("%w: %s expands to %d bytes", ErrTooLarge, f.Name, f.UncompressedSize64)
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("%w: zip: %v", ErrMalformed, err)
			}
			defer rc.Close()
			// archive/zip stops a file that expands past the size its
			// header declares; readBounded stops one past ours.
			return readBounded(rc, MaxDocumentSize)
		}
		return nil, fmt.Errorf("%w: zip without a report file", ErrNoReport)
	}
	return data, nil
}

// readBounded reads r to its end, failing with ErrTooLarge past max bytes.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// parseDocument reads a report document, XML for DMARC or JSON for TLS,
// into what the store keeps.
func parseDocument(doc []byte) (store.ReceivedReport, error) {
	trimmed := bytes.TrimLeft(doc, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return parseTLSDocument(doc)
	}
	fb, err := ParseFeedback(doc)
	if err != nil {
		return store.ReceivedReport{}, err
	}
	return store.ReceivedReport{
		Kind: store.ReportDMARC, Domain: strings.ToLower(strings.TrimSuffix(fb.PolicyPublished.Domain, ".")),
		Org: fb.Metadata.OrgName, ReportID: fb.Metadata.ReportID,
		Begin: time.Unix(fb.Metadata.DateRange.Begin, 0).UTC(), End: time.Unix(fb.Metadata.DateRange.End, 0).UTC(),
		Data: doc,
	}, nil
}

// ParseFeedback reads a DMARC aggregate report (RFC 7489 Appendix C; the
// DMARCbis namespace is accepted too). It fails with ErrMalformed for a
// document that does not parse or lacks the org_name, report_id, policy
// domain or a sane date_range, and with ErrTooLarge past MaxDocumentSize.
func ParseFeedback(doc []byte) (*Feedback, error) {
	if len(doc) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(doc))
	}
	var fb Feedback
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.CharsetReader = charsetReader
	if err := d.Decode(&fb); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	md := &fb.Metadata
	md.OrgName, md.ReportID = strings.TrimSpace(md.OrgName), strings.TrimSpace(md.ReportID)
	fb.PolicyPublished.Domain = strings.TrimSpace(fb.PolicyPublished.Domain)
	switch {
	case md.OrgName == "" || md.ReportID == "" || fb.PolicyPublished.Domain == "":
		return nil, fmt.Errorf("%w: no org_name, report_id or policy domain", ErrMalformed)
	case !utf8.ValidString(md.OrgName + md.ReportID + fb.PolicyPublished.Domain):
		return nil, fmt.Errorf("%w: names are not UTF-8", ErrMalformed)
	case md.DateRange.Begin < 0 || md.DateRange.End < md.DateRange.Begin || md.DateRange.End > 1<<40:
		return nil, fmt.Errorf("%w: date_range %d to %d", ErrMalformed, md.DateRange.Begin, md.DateRange.End)
	}
	for _, r := range fb.Records {
		if r.Row.Count < 0 {
			return nil, fmt.Errorf("%w: negative count", ErrMalformed)
		}
	}
	return &fb, nil
}

// charsetReader reads the encodings reports are seen in besides UTF-8.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii", "utf8":
		return r, nil
	case "iso-8859-1", "latin1", "latin-1":
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		var out strings.Builder
		for _, c := range b {
			out.WriteRune(rune(c))
		}
		return strings.NewReader(out.String()), nil
	}
	return nil, fmt.Errorf("charset %q not supported", charset)
}
