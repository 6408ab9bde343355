package reports

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/store"
)

func TestFromVerdict(t *testing.T) {
	rec, err := dmarc.Parse("v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; rua=mailto:d@example.com!10m; fo=1:d")
	if err != nil {
		t.Fatal(err)
	}
	in := dmarc.Input{
		FromDomains: []string{"Example.COM"},
		SPF:         dmarc.SPF{Result: "Fail", Domain: "bounce@Other.example"},
		DKIM:        []dmarc.DKIM{{Result: "pass", Domain: "Example.com", Selector: "s1"}, {Result: "", Domain: "x.example", Selector: "t"}},
	}
	tests := []struct {
		name string
		v    dmarc.Verdict
		want DMARCEvaluation
	}{{
		name: "failure sampled out",
		v: dmarc.Verdict{Result: dmarc.ResultFail, FromDomain: "example.com", PolicyDomain: "example.com", Record: rec,
			Disposition: dmarc.PolicyQuarantine, Sampled: false},
		want: DMARCEvaluation{
			PolicyDomain: "example.com", RUA: []dmarc.URI{{Address: "mailto:d@example.com", MaxSize: 10 << 20}},
			Policy:     PolicyPublished{Domain: "example.com", ADKIM: "s", ASPF: "r", P: "reject", SP: "quarantine", Pct: 50, FO: "1:d"},
			HeaderFrom: "example.com", EnvelopeFrom: "other.example", Disposition: "quarantine",
			Reasons: []PolicyReason{{Type: "sampled_out"}},
			DKIM:    []DKIMAuthResult{{Domain: "example.com", Selector: "s1", Result: "pass"}, {Domain: "x.example", Selector: "t", Result: "none"}},
			SPF:     SPFAuthResult{Domain: "other.example", Scope: "mfrom", Result: "fail"},
		},
	}, {
		name: "no record",
		v:    dmarc.Verdict{Result: dmarc.ResultNone, FromDomain: "example.com"},
		want: DMARCEvaluation{
			HeaderFrom: "example.com", EnvelopeFrom: "other.example", Disposition: "none",
			DKIM: []DKIMAuthResult{{Domain: "example.com", Selector: "s1", Result: "pass"}, {Domain: "x.example", Selector: "t", Result: "none"}},
			SPF:  SPFAuthResult{Domain: "other.example", Scope: "mfrom", Result: "fail"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromVerdict(tc.v, in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRecordCounts(t *testing.T) {
	st := openStore(t)
	r := &DMARCRecorder{Store: st}
	ctx := t.Context()
	spfFail := evaluation("192.0.2.1")
	spfFail.SPFAligned, spfFail.SPF.Result = false, "fail"
	noRUA := evaluation("192.0.2.9")
	noRUA.RUA = nil
	nextDay := evaluation("192.0.2.1")
	nextDay.Time = day.Add(25 * time.Hour)
	for _, ev := range []DMARCEvaluation{evaluation("192.0.2.1"), evaluation("192.0.2.1"), evaluation("::ffff:192.0.2.1"),
		evaluation("2001:db8::1"), spfFail, noRUA, nextDay} {
		if err := r.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Record(ctx, DMARCEvaluation{PolicyDomain: "example.com", RUA: []dmarc.URI{{Address: "mailto:a@b"}}}); err == nil {
		t.Error("an evaluation without source IP was recorded")
	}
	rows, err := st.ReportRows(ctx, store.ReportDMARC, day)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, row := range rows {
		var dr dmarcRow
		if err := json.Unmarshal(row.Data, &dr); err != nil {
			t.Fatal(err)
		}
		if row.Domain != "example.com" || dr.Policy.Domain != "example.com" || len(dr.RUA) != 1 {
			t.Errorf("row %s: %+v", row.Domain, dr)
		}
		got[dr.SourceIP+" spf "+dr.SPF.Result] += row.Count
	}
	want := map[string]int64{"192.0.2.1 spf pass": 3, "2001:db8::1 spf pass": 1, "192.0.2.1 spf fail": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
	if len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
}

func TestRecordBoundsRows(t *testing.T) {
	st := openStore(t)
	ev := evaluation("192.0.2.1")
	ev.HeaderFrom, ev.DKIM = strings.Repeat("a", 5000), nil
	for i := range 5000 {
		ev.DKIM = append(ev.DKIM, DKIMAuthResult{Domain: fmt.Sprintf("d%d.example", i), Selector: strings.Repeat("s", 300), Result: "fail"})
	}
	if err := (&DMARCRecorder{Store: st}).Record(t.Context(), ev); err != nil {
		t.Fatalf("an evaluation with 5000 signatures: %v", err)
	}
	rows, _ := st.ReportRows(t.Context(), store.ReportDMARC, day)
	var row dmarcRow
	if len(rows) != 1 || json.Unmarshal(rows[0].Data, &row) != nil || len(row.DKIM) != maxRowSignatures ||
		len(row.HeaderFrom) != maxRowField || len(row.DKIM[0].Selector) != maxRowField {
		t.Errorf("row kept %d signatures, From of %d bytes", len(row.DKIM), len(row.HeaderFrom))
	}
}

func TestFeedbackDefaults(t *testing.T) {
	st := openStore(t)
	ev := evaluation("192.0.2.1")
	ev.Policy = PolicyPublished{}
	if err := (&DMARCRecorder{Store: st}).Record(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	rows, _ := st.ReportRows(t.Context(), store.ReportDMARC, day)
	fb, _, err := scheduler(st, nil).Feedback("example.com", day, rows)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := MarshalFeedback(fb)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFeedbackSchema(doc); err != nil {
		t.Errorf("a report from rows without the policy: %v\n%s", err, doc)
	}
}
