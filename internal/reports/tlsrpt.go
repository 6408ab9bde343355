package reports

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// The policy types of a TLS report (RFC 8460 section 4.4).
const (
	PolicySTS      = "sts"
	PolicyTLSA     = "tlsa"
	PolicyNotFound = "no-policy-found"
)

// TLSResult is the outcome of one outbound SMTP session's TLS, as a TLS
// report counts it (RFC 8460 section 4). The delivery side fills it.
type TLSResult struct {
	// Time is when the session ended; its UTC day is the report's.
	Time time.Time
	// PolicyDomain is the recipient domain whose policy applied.
	PolicyDomain string
	// PolicyType is PolicySTS, PolicyTLSA or PolicyNotFound;
	// PolicyStrings the MTA-STS policy lines or the TLSA records, and
	// MXHosts the mx patterns of an MTA-STS policy.
	PolicyType    string
	PolicyStrings []string
	MXHosts       []string
	// Success reports a session whose TLS met the policy. The fields
	// below describe a failure and are ignored for a success.
	Success bool
	// ResultType is the failure in the words of RFC 8460 section 4.3:
	// "starttls-not-supported", "certificate-expired", "validation-failure",
	// "sts-policy-fetch-error", ...
	ResultType     string
	SendingIP      string
	ReceivingMX    string
	ReceivingHELO  string
	ReceivingIP    string
	FailureCode    string // failure-reason-code
	AdditionalInfo string // additional-information, a URI
}

// TLSReport is a TLS report (RFC 8460 section 4).
type TLSReport struct {
	OrganizationName string           `json:"organization-name"`
	DateRange        TLSDateRange     `json:"date-range"`
	ContactInfo      string           `json:"contact-info"`
	ReportID         string           `json:"report-id"`
	Policies         []TLSPolicyBlock `json:"policies"`
}

// TLSDateRange is the period a TLS report covers.
type TLSDateRange struct {
	Start time.Time `json:"start-datetime"`
	End   time.Time `json:"end-datetime"`
}

// TLSPolicyBlock is one policy of a TLS report with its sessions.
type TLSPolicyBlock struct {
	Policy         TLSPolicy          `json:"policy"`
	Summary        TLSSummary         `json:"summary"`
	FailureDetails []TLSFailureDetail `json:"failure-details,omitempty"`
}

// TLSPolicy is the policy sessions were held to.
type TLSPolicy struct {
	Type    string   `json:"policy-type"`
	Strings []string `json:"policy-string,omitempty"`
	Domain  string   `json:"policy-domain"`
	MXHosts []string `json:"mx-host,omitempty"`
}

// TLSSummary counts the sessions of a policy.
type TLSSummary struct {
	Successful int64 `json:"total-successful-session-count"`
	Failed     int64 `json:"total-failure-session-count"`
}

// TLSFailureDetail counts the sessions that failed one way.
type TLSFailureDetail struct {
	ResultType     string `json:"result-type"`
	SendingIP      string `json:"sending-mta-ip,omitempty"`
	ReceivingMX    string `json:"receiving-mx-hostname,omitempty"`
	ReceivingHELO  string `json:"receiving-mx-helo,omitempty"`
	ReceivingIP    string `json:"receiving-ip,omitempty"`
	Count          int64  `json:"failed-session-count"`
	AdditionalInfo string `json:"additional-information,omitempty"`
	FailureCode    string `json:"failure-reason-code,omitempty"`
}

// tlsRow is a TLSResult as the store counts it.
type tlsRow struct {
	Policy  TLSPolicy         `json:"policy"`
	Failure *TLSFailureDetail `json:"failure,omitempty"`
}

// TLSRecorder counts outbound TLS outcomes in the store, for the TLS
// reports Scheduler sends.
type TLSRecorder struct {
	Store store.Reports
}

// Record counts res in its day's report.
func (r *TLSRecorder) Record(ctx context.Context, res TLSResult) error {
	domain := strings.ToLower(strings.TrimSuffix(res.PolicyDomain, "."))
	if domain == "" {
		return errors.New("reports: TLS result without a policy domain")
	}
	switch res.PolicyType {
	case PolicySTS, PolicyTLSA, PolicyNotFound:
	default:
		return fmt.Errorf("reports: TLS policy type %q", res.PolicyType)
	}
	row := tlsRow{Policy: TLSPolicy{Type: res.PolicyType, Strings: bounded(res.PolicyStrings, maxPolicyString),
		Domain: domain, MXHosts: bounded(res.MXHosts, maxRowField)}}
	if !res.Success {
		if res.ResultType == "" {
			return errors.New("reports: TLS failure without a result type")
		}
		row.Failure = &TLSFailureDetail{ResultType: clip(res.ResultType), SendingIP: clip(res.SendingIP),
			ReceivingMX: clip(res.ReceivingMX), ReceivingHELO: clip(res.ReceivingHELO), ReceivingIP: clip(res.ReceivingIP),
			FailureCode: clip(failureCode(res.FailureCode)), AdditionalInfo: clip(res.AdditionalInfo)}
	}
	data, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("reports: encoding TLS row: %w", err)
	}
	at := res.Time
	if at.IsZero() {
		at = time.Now()
	}
	return r.Store.CountReportRow(ctx, store.ReportTLS, at, domain, data, 1)
}

// timestamps matches the times some TLS errors quote ("current time
// 2026-11-22T10:00:00Z is after ..."), which would make every session a row
// of its own.
var timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?`)

// failureCode is the failure-reason-code of an error text, with the times
// in it replaced so that sessions failing alike are counted together.
func failureCode(text string) string {
	return timestamps.ReplaceAllLiteralString(text, "(time)")
}

// Bounds on the policy a TLS row keeps, so that a huge MTA-STS policy or
// a pile of TLSA records still makes a row the store takes
// (store.MaxValueLen): a string longer than maxPolicyString, or past
// maxPolicyTotal bytes in all, is left out rather than cut, since a cut
// record would be wrong. A TLSA record of a whole certificate (matching
// type 0) fits.
const (
	maxPolicyString = 8 << 10
	maxPolicyTotal  = 32 << 10
)

// bounded returns the strings of list that are at most max bytes long,
// while they add up to at most maxPolicyTotal.
func bounded(list []string, max int) []string {
	var out []string
	total := 0
	for _, s := range list {
		if len(s) > max || total+len(s) > maxPolicyTotal {
			continue
		}
		total += len(s)
		out = append(out, s)
	}
	return out
}

// TLSReportFor builds the TLS report of domain for day from the rows
// TLSRecorder counted: one policy block per distinct policy, failures
// counted per identical detail.
func (s *Scheduler) TLSReportFor(domain string, day time.Time, rows []store.ReportRow) (TLSReport, error) {
	rep := TLSReport{
		OrganizationName: s.OrgName, ContactInfo: s.Address, ReportID: reportID(store.ReportTLS, domain, day),
		DateRange: TLSDateRange{Start: day, End: day.Add(24*time.Hour - time.Second)},
	}
	blocks := map[string]int{}
	for _, r := range rows {
		var row tlsRow
		if err := json.Unmarshal(r.Data, &row); err != nil {
			return rep, fmt.Errorf("reports: a TLS row of %s does not decode: %w", domain, err)
		}
		pkey, _ := json.Marshal(row.Policy)
		i, ok := blocks[string(pkey)]
		if !ok {
			i = len(rep.Policies)
			blocks[string(pkey)] = i
			rep.Policies = append(rep.Policies, TLSPolicyBlock{Policy: row.Policy})
		}
		b := &rep.Policies[i]
		if row.Failure == nil {
			b.Summary.Successful += r.Count
			continue
		}
		b.Summary.Failed += r.Count
		f := *row.Failure
		f.Count = r.Count
		b.FailureDetails = append(b.FailureDetails, f)
	}
	if len(rep.Policies) == 0 {
		return rep, fmt.Errorf("reports: no TLS rows for %s", domain)
	}
	return rep, nil
}

// tlsReport makes the TLS report of domain for day, addressed to the rua
// of the domain's _smtp._tls record. A domain without a usable record
// gets a report with no destination, which deliver sends nowhere.
func (s *Scheduler) tlsReport(ctx context.Context, domain string, day time.Time, rows []store.ReportRow, now time.Time) (*report, error) {
	rua, err := LookupTLSRPT(ctx, s.Resolver, domain)
	if err != nil && !errors.Is(err, ErrNoTLSRPT) {
		return nil, err
	}
	tr, err := s.TLSReportFor(domain, day, rows)
	if err != nil {
		return nil, err
	}
	doc, err := json.MarshalIndent(tr, "", "  ")
	if err != nil {
		return nil, err
	}
	rep := &report{
		kind: store.ReportTLS, domain: domain, day: day, id: tr.ReportID, rua: rua, gz: gzipBytes(append(doc, '\n')),
		filename: fmt.Sprintf("%s!%s!%d!%d!%s.json.gz", s.OrgName, domain, day.Unix(), day.Add(24*time.Hour).Unix()-1, tr.ReportID),
	}
	subject := fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", domain, s.OrgName, rep.id)
	text := fmt.Sprintf("This is an SMTP TLS report (RFC 8460) about the mail %s sent to %s\r\n"+
		"between %s and %s UTC.\r\n", s.OrgName, domain, day.Format(time.DateTime), tr.DateRange.End.Format(time.DateTime))
	rep.message = func(to []string) []byte {
		return s.reportMessage(to, subject, text, "application/tlsrpt+gzip", rep, now)
	}
	return rep, nil
}

// ErrNoTLSRPT reports a domain without exactly one TLSRPT record.
var ErrNoTLSRPT = errors.New("reports: no TLSRPT record")

// LookupTLSRPT returns the rua URIs of domain's TLSRPT record at
// _smtp._tls.<domain> (RFC 8460 section 3). Records not starting with
// v=TLSRPTv1 are ignored; none or several give ErrNoTLSRPT, as does a
// record without rua. DNS failures wrap dnsx.ErrTemporary.
func LookupTLSRPT(ctx context.Context, r dnsx.Resolver, domain string) ([]string, error) {
	txts, _, err := r.LookupTXT(ctx, "_smtp._tls."+domain)
	if errors.Is(err, dnsx.ErrNotFound) {
		return nil, ErrNoTLSRPT
	}
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if v, _, _ := strings.Cut(t, ";"); strings.TrimSpace(v) == "v=TLSRPTv1" {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("%w: %d records at _smtp._tls.%s", ErrNoTLSRPT, len(recs), domain)
	}
	return ParseTLSRPT(recs[0])
}

// ParseTLSRPT reads a TLSRPT record and returns its rua URIs.
func ParseTLSRPT(txt string) ([]string, error) {
	fields := strings.Split(txt, ";")
	if strings.TrimSpace(fields[0]) != "v=TLSRPTv1" {
		return nil, fmt.Errorf("%w: not v=TLSRPTv1", ErrNoTLSRPT)
	}
	for _, f := range fields[1:] {
		name, value, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rua") {
			continue
		}
		var uris []string
		for _, u := range strings.Split(value, ",") {
			if u = strings.TrimSpace(u); u != "" {
				uris = append(uris, u)
			}
		}
		if len(uris) > 0 {
			return uris, nil
		}
	}
	return nil, fmt.Errorf("%w: no rua", ErrNoTLSRPT)
}

// ParseTLSReport reads a TLS report (RFC 8460 section 4). It fails with
// ErrMalformed for a document that does not parse or lacks the
// organization-name, report-id, date-range or a policy domain.
func ParseTLSReport(doc []byte) (*TLSReport, error) {
	if len(doc) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(doc))
	}
	var rep TLSReport
	if err := json.Unmarshal(doc, &rep); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case strings.TrimSpace(rep.OrganizationName) == "" || strings.TrimSpace(rep.ReportID) == "":
		return nil, fmt.Errorf("%w: no organization-name or report-id", ErrMalformed)
	case len(rep.Policies) == 0 || strings.TrimSpace(rep.Policies[0].Policy.Domain) == "":
		return nil, fmt.Errorf("%w: no policy domain", ErrMalformed)
	case rep.DateRange.Start.IsZero() || rep.DateRange.End.Before(rep.DateRange.Start) || rep.DateRange.End.Year() > 9999:
		return nil, fmt.Errorf("%w: date-range %v to %v", ErrMalformed, rep.DateRange.Start, rep.DateRange.End)
	case !utf8.ValidString(rep.OrganizationName + rep.ReportID + rep.Policies[0].Policy.Domain):
		return nil, fmt.Errorf("%w: names are not UTF-8", ErrMalformed)
	}
	for _, p := range rep.Policies {
		if p.Summary.Successful < 0 || p.Summary.Failed < 0 {
			return nil, fmt.Errorf("%w: negative session count", ErrMalformed)
		}
	}
	return &rep, nil
}

func parseTLSDocument(doc []byte) (store.ReceivedReport, error) {
	rep, err := ParseTLSReport(doc)
	if err != nil {
		return store.ReceivedReport{}, err
	}
	return store.ReceivedReport{
		Kind: store.ReportTLS, Domain: strings.ToLower(strings.TrimSuffix(strings.TrimSpace(rep.Policies[0].Policy.Domain), ".")),
		Org: strings.TrimSpace(rep.OrganizationName), ReportID: strings.TrimSpace(rep.ReportID),
		Begin: rep.DateRange.Start.UTC(), End: rep.DateRange.End.UTC(), Data: doc,
	}, nil
}

// TLSSummaryRow is what the received TLS reports say of one policy
// domain and policy type.
type TLSSummaryRow struct {
	Domain     string           `json:"domain"`
	PolicyType string           `json:"policy_type"`
	Successful int64            `json:"successful_sessions"`
	Failed     int64            `json:"failed_sessions"`
	Failures   map[string]int64 `json:"failures,omitempty"` // by result type
	Reporters  []string         `json:"reporters"`
}

// SummarizeTLS adds up received TLS reports per policy domain and policy
// type, the domains with failures first. Reports that no longer parse are
// skipped and counted.
func SummarizeTLS(reports []store.ReceivedReport) (sums []TLSSummaryRow, skipped int) {
	byKey := map[[2]string]*TLSSummaryRow{}
	for _, r := range reports {
		rep, err := ParseTLSReport(r.Data)
		if err != nil {
			skipped++
			continue
		}
		for _, p := range rep.Policies {
			key := [2]string{strings.ToLower(p.Policy.Domain), p.Policy.Type}
			s := byKey[key]
			if s == nil {
				s = &TLSSummaryRow{Domain: key[0], PolicyType: key[1]}
				byKey[key] = s
			}
			s.Successful += p.Summary.Successful
			s.Failed += p.Summary.Failed
			for _, f := range p.FailureDetails {
				if s.Failures == nil {
					s.Failures = map[string]int64{}
				}
				s.Failures[f.ResultType] += f.Count
			}
			addOnce(&s.Reporters, rep.OrganizationName)
		}
	}
	for _, s := range byKey {
		sums = append(sums, *s)
	}
	slices.SortFunc(sums, func(a, b TLSSummaryRow) int {
		return cmp.Or(cmp.Compare(b.Failed, a.Failed), cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.PolicyType, b.PolicyType))
	})
	return sums, skipped
}
