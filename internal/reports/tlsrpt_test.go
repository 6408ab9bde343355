package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

func TestLookupTLSRPT(t *testing.T) {
	r := resolver(t, `
_smtp._tls.one.example. TXT "v=TLSRPTv1; rua=mailto:tls@one.example, https://one.example/tls"
_smtp._tls.two.example. TXT "v=TLSRPTv1; rua=mailto:a@two.example"
_smtp._tls.two.example. TXT "v=TLSRPTv1; rua=mailto:b@two.example"
_smtp._tls.other.example. TXT "v=spf1 -all"
_smtp._tls.other.example. TXT "v=TLSRPTv1;rua=mailto:t@other.example"
_smtp._tls.norua.example. TXT "v=TLSRPTv1; ruf=mailto:t@norua.example"
_smtp._tls.split.example. TXT "v=TLSRPTv1; rua=mailto:" "t@split.example"
$SERVFAIL _smtp._tls.broken.example.
`)
	tests := []struct {
		domain  string
		want    []string
		wantErr error
	}{
		{"one.example", []string{"mailto:tls@one.example", "https://one.example/tls"}, nil},
		{"two.example", nil, ErrNoTLSRPT},
		{"other.example", []string{"mailto:t@other.example"}, nil},
		{"norua.example", nil, ErrNoTLSRPT},
		{"split.example", []string{"mailto:t@split.example"}, nil},
		{"none.example", nil, ErrNoTLSRPT},
		{"broken.example", nil, dnsxTemporary},
	}
	for _, tc := range tests {
		got, err := LookupTLSRPT(t.Context(), r, tc.domain)
		if !errors.Is(err, tc.wantErr) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v; want %q, %v", tc.domain, got, err, tc.want, tc.wantErr)
		}
	}
}

func tlsResult(domain string, ok bool, resultType string) TLSResult {
	return TLSResult{
		Time: day.Add(8 * time.Hour), PolicyDomain: domain, PolicyType: PolicySTS,
		PolicyStrings: []string{"version: STSv1", "mode: enforce", "mx: mx.tls.example", "max_age: 86400"},
		MXHosts:       []string{"mx.tls.example"}, Success: ok, ResultType: resultType,
		SendingIP: "192.0.2.25", ReceivingMX: "mx.tls.example", ReceivingIP: "198.51.100.25",
	}
}

// daneResult is a session with an MX host whose TLSA records applied.
func daneResult(ok bool) TLSResult {
	r := TLSResult{
		Time: day.Add(10 * time.Hour), PolicyDomain: "tls.example", PolicyType: PolicyTLSA,
		PolicyStrings: []string{"3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"},
		MXHosts:       []string{"mx2.tls.example"}, Success: ok,
	}
	if !ok {
		r.ResultType, r.SendingIP, r.ReceivingMX, r.ReceivingIP = "validation-failure", "192.0.2.25", "mx2.tls.example", "198.51.100.26"
		r.FailureCode = "dane: no TLSA record matches the certificate"
	}
	return r
}

func TestSendTLSGolden(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	rec := &TLSRecorder{Store: st}
	results := []TLSResult{
		tlsResult("tls.example", true, ""), tlsResult("tls.example", true, ""), tlsResult("tls.example", true, ""),
		tlsResult("tls.example", false, "certificate-expired"), tlsResult("tls.example", false, "certificate-expired"),
		tlsResult("tls.example", false, "starttls-not-supported"),
		{Time: day.Add(9 * time.Hour), PolicyDomain: "TLS.example.", PolicyType: PolicyNotFound, Success: true},
		tlsResult("nordua.example", true, ""),
		daneResult(true), daneResult(false),
	}
	for _, res := range results {
		if err := rec.Record(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []TLSResult{{PolicyType: PolicySTS}, {PolicyDomain: "x.example", PolicyType: "dane"},
		{PolicyDomain: "x.example", PolicyType: PolicyTLSA}} {
		if err := rec.Record(ctx, bad); err == nil {
			t.Errorf("recorded %+v", bad)
		}
	}
	spy := &queueSpy{Store: st}
	r := resolver(t, `_smtp._tls.tls.example. TXT "v=TLSRPTv1; rua=mailto:tlsrpt@tls.example,https://tls.example/r"`)
	sent, err := scheduler(spy, r).SendDue(ctx, day.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sent[0].Kind != store.ReportTLS || !slices.Equal(sent[0].To, []string{"tlsrpt@tls.example"}) {
		t.Fatalf("sent %+v", sent)
	}
	golden(t, "tls.example.eml", spy.bodies[0])
	name, doc := attachment(t, spy.bodies[0])
	if want := "mail.example.org!tls.example!1795219200!1795305599!20261121.5bbbfbe457f7.json.gz"; name != want {
		t.Errorf("file name %q, want %q", name, want)
	}
	golden(t, "tls.example.json", doc)
	rep, err := ParseTLSReport(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Policies) != 3 || rep.Policies[1].Summary != (TLSSummary{Successful: 3, Failed: 3}) ||
		rep.Policies[0].Summary != (TLSSummary{Successful: 1}) || len(rep.Policies[1].FailureDetails) != 2 ||
		rep.Policies[2].Summary != (TLSSummary{Successful: 1, Failed: 1}) || rep.Policies[2].Policy.Type != PolicyTLSA ||
		len(rep.Policies[2].FailureDetails) != 1 || rep.Policies[2].FailureDetails[0].ReceivingIP != "198.51.100.26" {
		t.Errorf("report %+v", rep)
	}
	if again, _ := scheduler(spy, r).SendDue(ctx, day.Add(26*time.Hour)); len(again) != 0 {
		t.Errorf("sent again: %+v", again)
	}

	// The report reads back through Ingest and adds up.
	in, err := Ingest(ctx, st, bytes.NewReader(spy.bodies[0]))
	if err != nil || in.Kind != store.ReportTLS || in.Domain != "tls.example" || in.Org != "mail.example.org" {
		t.Fatalf("ingest: %+v, %v", in, err)
	}
	list, err := st.ListReceivedReports(ctx, store.ReportTLS, "tls.example", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sums, skipped := SummarizeTLS(list)
	want := []TLSSummaryRow{
		{Domain: "tls.example", PolicyType: PolicySTS, Successful: 3, Failed: 3,
			Failures: map[string]int64{"certificate-expired": 2, "starttls-not-supported": 1}, Reporters: []string{"mail.example.org"}},
		{Domain: "tls.example", PolicyType: PolicyTLSA, Successful: 1, Failed: 1,
			Failures: map[string]int64{"validation-failure": 1}, Reporters: []string{"mail.example.org"}},
		{Domain: "tls.example", PolicyType: PolicyNotFound, Successful: 1, Reporters: []string{"mail.example.org"}},
	}
	gotJSON, _ := json.Marshal(sums)
	wantJSON, _ := json.Marshal(want)
	if skipped != 0 || !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("summary %s, want %s", gotJSON, wantJSON)
	}
}

// TestTLSRowBounds: a huge MTA-STS policy or TLSA set still makes a row
// the store takes; strings too long are left out whole, never cut.
func TestTLSRowBounds(t *testing.T) {
	st := openStore(t)
	long := strings.Repeat("A", maxPolicyString+1)
	var many []string
	for i := range 5000 {
		many = append(many, fmt.Sprintf("mx: mx%d.tls.example", i))
	}
	tests := []struct {
		name    string
		strings []string
		want    int // strings kept
	}{
		{"fits", []string{"version: STSv1", "mode: enforce"}, 2},
		{"one too long", []string{"3 0 0 " + long, "3 1 1 00"}, 1},
		{"too many", many, len(bounded(many, maxPolicyString))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := TLSResult{Time: day, PolicyDomain: tc.name + ".example", PolicyType: PolicySTS, PolicyStrings: tc.strings,
				MXHosts: []string{"mx.tls.example", long}, Success: true}
			if err := (&TLSRecorder{Store: st}).Record(t.Context(), res); err != nil {
				t.Fatal(err)
			}
			rows, err := st.ReportRows(t.Context(), store.ReportTLS, day)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.Domain != tc.name+".example" {
					continue
				}
				var row tlsRow
				if err := json.Unmarshal(r.Data, &row); err != nil {
					t.Fatal(err)
				}
				if len(row.Policy.Strings) != tc.want || len(row.Policy.MXHosts) != 1 || len(r.Data) > store.MaxValueLen {
					t.Errorf("%d strings, %d mx hosts in %d bytes; want %d strings", len(row.Policy.Strings),
						len(row.Policy.MXHosts), len(r.Data), tc.want)
				}
				return
			}
			t.Error("no row")
		})
	}
	if n := len(bounded(many, maxPolicyString)); n == len(many) || n == 0 {
		t.Errorf("bounded kept %d of %d", n, len(many))
	}
}

// TestTLSFailuresCountedTogether: sessions that fail alike make one row,
// even when the error quotes the time of the attempt.
func TestTLSFailuresCountedTogether(t *testing.T) {
	st := openStore(t)
	rec := &TLSRecorder{Store: st}
	for i := range 3 {
		code := fmt.Sprintf("x509: certificate has expired or is not yet valid: current time 2026-11-22T10:00:0%dZ is after 2026-01-01T00:00:00Z", i)
		res := TLSResult{Time: day, PolicyDomain: "expired.example", PolicyType: PolicySTS, ResultType: "certificate-expired",
			ReceivingMX: "mx.expired.example", FailureCode: code}
		if err := rec.Record(t.Context(), res); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := st.ReportRows(t.Context(), store.ReportTLS, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Count != 3 {
		t.Fatalf("rows %+v, want one counted 3 times", rows)
	}
	var row tlsRow
	if err := json.Unmarshal(rows[0].Data, &row); err != nil {
		t.Fatal(err)
	}
	if want := "x509: certificate has expired or is not yet valid: current time (time) is after (time)"; row.Failure.FailureCode != want {
		t.Errorf("failure code %q, want %q", row.Failure.FailureCode, want)
	}
}
