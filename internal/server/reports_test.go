package server

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/queue"
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
			t.Errorf("a row for %q", r.Domain)
		}
		total += r.Count
		all += string(r.Data)
	}
	if len(rows) != 2 || total != 3 || !strings.Contains(all, "certificate-host-mismatch") || !strings.Contains(all, "sts") {
		t.Errorf("%d rows counting %d: %s", len(rows), total, all)
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
