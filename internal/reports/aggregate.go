package reports

import "encoding/xml"

// Feedback is a DMARC aggregate report: the feedback element of RFC 7489
// Appendix C. The same types write the reports Sealpost sends and read
// the ones it receives.
type Feedback struct {
	XMLName         xml.Name        `xml:"feedback"`
	Version         string          `xml:"version,omitempty"`
	Metadata        ReportMetadata  `xml:"report_metadata"`
	PolicyPublished PolicyPublished `xml:"policy_published"`
	Records         []Record        `xml:"record"`
}

// ReportMetadata says who made the report and which period it covers.
type ReportMetadata struct {
	OrgName          string    `xml:"org_name"`
	Email            string    `xml:"email"`
	ExtraContactInfo string    `xml:"extra_contact_info,omitempty"`
	ReportID         string    `xml:"report_id"`
	DateRange        DateRange `xml:"date_range"`
	Errors           []string  `xml:"error,omitempty"`
}

// DateRange is the period of a report in seconds since the epoch, UTC.
type DateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

// PolicyPublished is the DMARC record the report's messages were
// evaluated against.
type PolicyPublished struct {
	Domain string `xml:"domain"`
	ADKIM  string `xml:"adkim,omitempty"`
	ASPF   string `xml:"aspf,omitempty"`
	P      string `xml:"p"`
	SP     string `xml:"sp"`
	Pct    int    `xml:"pct"`
	FO     string `xml:"fo"`
}

// Record is one row of a report: the messages from one source with the
// same identifiers and results, counted.
type Record struct {
	Row         Row         `xml:"row"`
	Identifiers Identifiers `xml:"identifiers"`
	AuthResults AuthResults `xml:"auth_results"`
}

// Row is the source, count and DMARC outcome of a record.
type Row struct {
	SourceIP        string          `xml:"source_ip"`
	Count           int64           `xml:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated"`
}

// PolicyEvaluated is the disposition applied and the aligned results.
type PolicyEvaluated struct {
	Disposition string         `xml:"disposition"`
	DKIM        string         `xml:"dkim"`
	SPF         string         `xml:"spf"`
	Reasons     []PolicyReason `xml:"reason,omitempty"`
}

// PolicyReason explains a disposition other than the one the policy
// asked for (RFC 7489 Appendix C, PolicyOverrideType).
type PolicyReason struct {
	Type    string `xml:"type" json:"type"`
	Comment string `xml:"comment,omitempty" json:"comment,omitempty"`
}

// Identifiers are the domains of the messages of a record.
type Identifiers struct {
	EnvelopeTo   string `xml:"envelope_to,omitempty"`
	EnvelopeFrom string `xml:"envelope_from"`
	HeaderFrom   string `xml:"header_from"`
}

// AuthResults are the DKIM and SPF results, aligned or not.
type AuthResults struct {
	DKIM []DKIMAuthResult `xml:"dkim"`
	SPF  []SPFAuthResult  `xml:"spf"`
}

// DKIMAuthResult is the result of one DKIM signature.
type DKIMAuthResult struct {
	Domain      string `xml:"domain" json:"domain"`
	Selector    string `xml:"selector,omitempty" json:"selector,omitempty"`
	Result      string `xml:"result" json:"result"`
	HumanResult string `xml:"human_result,omitempty" json:"human_result,omitempty"`
}

// SPFAuthResult is the result of SPF for one identity.
type SPFAuthResult struct {
	Domain string `xml:"domain" json:"domain"`
	Scope  string `xml:"scope,omitempty" json:"scope,omitempty"`
	Result string `xml:"result" json:"result"`
}
