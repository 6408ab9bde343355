package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ReportKind names the family of a report: what its rows count and what
// the documents received are.
type ReportKind string

// The report kinds.
const (
	ReportDMARC ReportKind = "dmarc" // DMARC aggregate reports (RFC 7489 section 7.2)
	ReportTLS   ReportKind = "tls"   // SMTP TLS reports (RFC 8460)
)

// MaxReportLen is the largest received report document stored, in bytes.
const MaxReportLen = 32 << 20

// ReportRow is one row of a report Sealpost sends: identical rows of a
// kind, domain and UTC day are counted together (RFC 7489 Appendix C
// counts messages per row; RFC 8460 counts sessions per result).
type ReportRow struct {
	Kind   ReportKind
	Day    time.Time // midnight UTC of the day counted
	Domain string    // the policy domain the report will be about
	// Data is the row as the reports package encodes it; the store only
	// compares it, byte for byte.
	Data  []byte
	Count int64
}

// ReceivedReport is a report another organization sent about one of our
// domains, as received.
type ReceivedReport struct {
	ID       int64
	Kind     ReportKind
	Domain   string // the policy domain the report is about
	Org      string // the reporting organization
	ReportID string // unique per Org
	Begin    time.Time
	End      time.Time
	Received time.Time
	Data     []byte // the report document, decompressed
}

// Reports keeps what DMARC aggregate reports and TLS reports need: the
// rows Sealpost counts to send, and the reports it receives.
type Reports interface {
	// CountReportRow adds n to the count of the row data of kind about
	// domain on the UTC day of day, creating the row with count n. It
	// fails with ErrInvalid if CheckReportRow refuses the arguments.
	CountReportRow(ctx context.Context, kind ReportKind, day time.Time, domain string, data []byte, n int64) error
	// ReportRows returns the rows of kind counted on the UTC day of day,
	// by domain, then data.
	ReportRows(ctx context.Context, kind ReportKind, day time.Time) ([]ReportRow, error)
	// DeleteReportRows removes the rows of kind counted on UTC days before
	// the day of before and returns how many.
	DeleteReportRows(ctx context.Context, kind ReportKind, before time.Time) (int, error)
	// AddReceivedReport stores r (ID and Received are set by the store)
	// and returns its ID. A report of the same kind, Org and ReportID
	// already stored makes it fail with ErrExists: reports are resent.
	AddReceivedReport(ctx context.Context, r ReceivedReport) (int64, error)
	// ListReceivedReports returns the received reports of kind about
	// domain ("" for every domain) whose End is after since, by Begin,
	// then ID.
	ListReceivedReports(ctx context.Context, kind ReportKind, domain string, since time.Time) ([]ReceivedReport, error)
}

// ReportDay returns the midnight UTC that starts t's UTC day.
func ReportDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ReportRowKey returns the digest both backends index a row's data by:
// data can be longer than an index entry may be.
func ReportRowKey(data []byte) []byte {
	sum := sha256.Sum256(data)
	return sum[:]
}

// CheckReportRow checks the arguments of CountReportRow: a known kind, a
// domain of UTF-8 text without NUL within MaxKeyLen bytes, data of 1 to
// MaxValueLen bytes, and n above zero. It returns an error wrapping
// ErrInvalid, or nil.
func CheckReportRow(kind ReportKind, domain string, data []byte, n int64) error {
	if err := checkReportKind(kind); err != nil {
		return err
	}
	if err := checkText("domain", domain, MaxKeyLen); err != nil {
		return err
	}
	switch {
	case len(data) == 0 || len(data) > MaxValueLen:
		return fmt.Errorf("%w: report row of %d bytes, not 1 to %d", ErrInvalid, len(data), MaxValueLen)
	case n <= 0:
		return fmt.Errorf("%w: report row counted %d times", ErrInvalid, n)
	}
	return nil
}

// CheckReceivedReport checks what AddReceivedReport stores: a known kind,
// Domain, Org and ReportID as UTF-8 text without NUL, Data of at most
// MaxReportLen bytes.
func CheckReceivedReport(r ReceivedReport) error {
	if err := checkReportKind(r.Kind); err != nil {
		return err
	}
	for _, f := range []struct{ what, s string }{{"domain", r.Domain}, {"org", r.Org}, {"report ID", r.ReportID}} {
		if err := checkText(f.what, f.s, MaxKeyLen); err != nil {
			return err
		}
	}
	if len(r.Data) > MaxReportLen {
		return fmt.Errorf("%w: report of %d bytes, more than %d", ErrInvalid, len(r.Data), MaxReportLen)
	}
	return nil
}

func checkReportKind(kind ReportKind) error {
	if kind != ReportDMARC && kind != ReportTLS {
		return fmt.Errorf("%w: report kind %q", ErrInvalid, kind)
	}
	return nil
}

func checkText(what, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(s) > max:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, max)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return fmt.Errorf("%w: %s is not UTF-8 text without NUL", ErrInvalid, what)
	}
	return nil
}
