package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/store"
)

// DMARCEvaluation is one DMARC evaluation of an inbound message, as an
// aggregate report row needs it (RFC 7489 Appendix C). The inbound check
// fills it: FromVerdict copies what a dmarc.Verdict knows.
type DMARCEvaluation struct {
	// Time is when the message arrived; its UTC day is the report's.
	Time time.Time
	// PolicyDomain is the domain whose DMARC record was used, and RUA the
	// record's aggregate report URIs. Without both nothing is recorded.
	PolicyDomain string
	RUA          []dmarc.URI
	// Policy is the record as published.
	Policy PolicyPublished
	// SourceIP is the address of the SMTP client.
	SourceIP netip.Addr
	// HeaderFrom, EnvelopeFrom and EnvelopeTo are domains: the RFC5322.From
	// domain, the MAIL FROM domain (the HELO name when MAIL FROM was empty)
	// and the domain of the recipient.
	HeaderFrom, EnvelopeFrom, EnvelopeTo string
	// Disposition is the policy applied: "none", "quarantine" or "reject".
	Disposition string
	// DKIMAligned and SPFAligned say whether an aligned identifier passed.
	DKIMAligned, SPFAligned bool
	// Reasons say why Disposition differs from the policy, if it does:
	// sampled_out, local_policy, trusted_forwarder, mailing_list, ...
	Reasons []PolicyReason
	// DKIM holds every signature's result, SPF the result of SPF.
	DKIM []DKIMAuthResult
	SPF  SPFAuthResult
}

// FromVerdict returns the evaluation of a message as v and in describe
// it. The caller adds Time, SourceIP, EnvelopeTo and, when SPF checked
// the HELO name, sets SPF.Scope to "helo".
func FromVerdict(v dmarc.Verdict, in dmarc.Input) DMARCEvaluation {
	ev := DMARCEvaluation{
		PolicyDomain: v.PolicyDomain,
		HeaderFrom:   v.FromDomain,
		Disposition:  string(v.Disposition),
		DKIMAligned:  v.DKIMAligned,
		SPFAligned:   v.SPFAligned,
		SPF:          SPFAuthResult{Domain: mailDomain(in.SPF.Domain), Scope: "mfrom", Result: orNone(in.SPF.Result)},
	}
	ev.EnvelopeFrom = ev.SPF.Domain
	if ev.Disposition == "" {
		ev.Disposition = string(dmarc.PolicyNone)
	}
	for _, d := range in.DKIM {
		ev.DKIM = append(ev.DKIM, DKIMAuthResult{Domain: strings.ToLower(d.Domain), Selector: d.Selector, Result: orNone(d.Result)})
	}
	if rec := v.Record; rec != nil {
		ev.RUA = rec.Aggregate
		ev.Policy = PolicyPublished{
			Domain: v.PolicyDomain, ADKIM: string(rec.DKIM), ASPF: string(rec.SPF),
			P: string(rec.Policy), SP: string(rec.SubdomainPolicy), Pct: rec.Percent,
			FO: strings.Join(rec.FailureOptions, ":"),
		}
		if ev.Policy.SP == "" {
			ev.Policy.SP = ev.Policy.P
		}
		if v.Result == dmarc.ResultFail && !v.Sampled {
			ev.Reasons = append(ev.Reasons, PolicyReason{Type: "sampled_out"})
		}
	}
	return ev
}

func mailDomain(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return strings.ToLower(s)
}

// dmarcRow is a DMARCEvaluation as the store counts it: every field that
// makes two rows different, in a fixed order, so that identical
// evaluations encode to identical bytes.
type dmarcRow struct {
	RUA          []string         `json:"rua"`
	Policy       PolicyPublished  `json:"policy"`
	SourceIP     string           `json:"ip"`
	HeaderFrom   string           `json:"header_from"`
	EnvelopeFrom string           `json:"envelope_from"`
	EnvelopeTo   string           `json:"envelope_to,omitempty"`
	Disposition  string           `json:"disposition"`
	DKIMAligned  bool             `json:"dkim_aligned"`
	SPFAligned   bool             `json:"spf_aligned"`
	Reasons      []PolicyReason   `json:"reasons,omitempty"`
	DKIM         []DKIMAuthResult `json:"dkim,omitempty"`
	SPF          SPFAuthResult    `json:"spf"`
}

// DMARCRecorder counts DMARC evaluations in the store, for the aggregate
// reports Scheduler sends.
type DMARCRecorder struct {
	Store store.Reports
}

// Record counts ev in its day's report. An evaluation without a policy
// domain or aggregate report URI is not recorded: no report would carry it.
func (r *DMARCRecorder) Record(ctx context.Context, ev DMARCEvaluation) error {
	if ev.PolicyDomain == "" || len(ev.RUA) == 0 {
		return nil
	}
	if !ev.SourceIP.IsValid() {
		return fmt.Errorf("reports: DMARC evaluation for %s without a source IP", ev.PolicyDomain)
	}
	data, err := json.Marshal(newDMARCRow(ev))
	if err != nil {
		return fmt.Errorf("reports: encoding DMARC row: %w", err)
	}
	at := ev.Time
	if at.IsZero() {
		at = time.Now()
	}
	return r.Store.CountReportRow(ctx, store.ReportDMARC, at, strings.ToLower(ev.PolicyDomain), data, 1)
}

// Bounds on what a row keeps of an evaluation, so that a message with a
// pile of signatures or absurd names still makes a row the store takes.
const (
	maxRowSignatures = 10
	maxRowField      = 255
)

func clip(s string) string {
	if len(s) > maxRowField {
		s = strings.ToValidUTF8(s[:maxRowField], "")
	}
	return s
}

func newDMARCRow(ev DMARCEvaluation) dmarcRow {
	row := dmarcRow{
		Policy: ev.Policy, SourceIP: ev.SourceIP.Unmap().String(),
		HeaderFrom: strings.ToLower(ev.HeaderFrom), EnvelopeFrom: strings.ToLower(ev.EnvelopeFrom),
		EnvelopeTo: strings.ToLower(ev.EnvelopeTo), Disposition: ev.Disposition,
		DKIMAligned: ev.DKIMAligned, SPFAligned: ev.SPFAligned,
		Reasons: ev.Reasons, SPF: SPFAuthResult{Domain: clip(ev.SPF.Domain), Scope: ev.SPF.Scope, Result: ev.SPF.Result},
	}
	for _, d := range ev.DKIM[:min(len(ev.DKIM), maxRowSignatures)] {
		row.DKIM = append(row.DKIM, DKIMAuthResult{Domain: clip(d.Domain), Selector: clip(d.Selector), Result: d.Result, HumanResult: clip(d.HumanResult)})
	}
	row.HeaderFrom, row.EnvelopeFrom, row.EnvelopeTo = clip(row.HeaderFrom), clip(row.EnvelopeFrom), clip(row.EnvelopeTo)
	for _, u := range ev.RUA {
		row.RUA = append(row.RUA, u.String())
	}
	row.Policy.Domain = strings.ToLower(ev.PolicyDomain)
	return row
}
