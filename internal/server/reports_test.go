package server

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/queue"
	"sealpost.dev/sealpost/internal/reports"
	"sealpost.dev/sealpost/internal/store"
)

// TestRecordTLS: the queue's TLS outcomes become rows of the receiving
// domain's TLS report, successes and failures apart.
func TestRecordTLS(t *testing.T) {
	srv, _, _ := startServer(t, testConfig(t))
	addr := netip.MustParseAddrPort("192.0.2.25:25")
	for _, r := range []queue.TLSResult{
		{Domain: "receiver.example", MXHost: "mx.receiver.example", Addr: addr, Policy: queue.TLSPolicySTS, Success: true},
		{Domain: "receiver.example", MXHost: "mx.receiver.example", Addr: addr, Policy: queue.TLSPolicySTS, Success: true},
		{Domain: "receiver.example", MXHost: "mx2.receiver.example", Policy: queue.TLSPolicySTS,
			FailureReason: "certificate-host-mismatch", Detail: "x509: certificate is valid for other.example"},
		{Domain: "dane.example", MXHost: "mx.dane.example", Addr: addr, LocalAddr: netip.MustParseAddr("192.0.2.1"),
			Policy: queue.TLSPolicyDANE, PolicyStrings: []string{"3 1 1 0C72"}, PolicyMX: []string{"mx.dane.example"},
			FailureReason: "validation-failure", Detail: "dane: no TLSA record matches"},
	} {
		srv.recordTLS(r)
	}
	rows, err := srv.Store().ReportRows(t.Context(), store.ReportTLS, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	var all string
	for _, r := range rows {
		if r.Domain != "receiver.example" {
			continue
		}
		total += r.Count
		all += string(r.Data)
	}
	if len(rows) != 3 || total != 3 || !strings.Contains(all, "certificate-host-mismatch") || !strings.Contains(all, "sts") {
		t.Errorf("%d rows counting %d: %s", len(rows), total, all)
	}

	// The DANE failure becomes a report with its policy and the
	// session's addresses (RFC 8460 section 4.4).
	sched := &reports.Scheduler{OrgName: "example.org", Address: "postmaster@example.org"}
	var dane []store.ReportRow
	for _, r := range rows {
		if r.Domain == "dane.example" {
			dane = append(dane, r)
		}
	}
	rep, err := sched.TLSReportFor("dane.example", store.ReportDay(time.Now()), dane)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(rep.Policies)
	want := `[{"policy":{"policy-type":"tlsa","policy-string":["3 1 1 0C72"],"policy-domain":"dane.example",` +
		`"mx-host":["mx.dane.example"]},"summary":{"total-successful-session-count":0,"total-failure-session-count":1},` +
		`"failure-details":[{"result-type":"validation-failure","sending-mta-ip":"192.0.2.1",` +
		`"receiving-mx-hostname":"mx.dane.example","receiving-ip":"192.0.2.25","failed-session-count":1,` +
		`"failure-reason-code":"dane: no TLSA record matches"}]}]`
	if string(got) != want {
		t.Errorf("policies\n%s\nwant\n%s", got, want)
	}
}

func TestToPostmaster(t *testing.T) {
	for _, tc := range []struct {
		rcpts []string
		want  bool
	}{
		{[]string{"PostMaster@example.org"}, true},
		{[]string{"ann@example.org", "postmaster@example.net"}, true},
		{[]string{"postmasters@example.org"}, false},
		{nil, false},
	} {
		env := &delivery.Envelope{}
		for _, r := range tc.rcpts {
			env.Recipients = append(env.Recipients, delivery.Recipient{Address: r})
		}
		if got := toPostmaster(env); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.rcpts, got, tc.want)
		}
	}
}

// TestSignAs: report mail is signed by the reporting domain's keys, made
// when the config's domain was created.
func TestSignAs(t *testing.T) {
	srv, _, _ := startServer(t, testConfig(t))
	msg := []byte("From: postmaster@example.org\r\nSubject: report\r\n\r\nx\r\n")
	sig, err := srv.accounts.SignDKIM(t.Context(), srv.reportDomain(), bytes.NewReader(msg))
	if err != nil || strings.Count(sig, "DKIM-Signature:") != 2 || !strings.Contains(sig, "d=example.org") {
		t.Errorf("signature %q, %v", sig, err)
	}
}
