package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func runWithStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	code := Main(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

// dmarcReportMail is a mail carrying an aggregate report about domain
// for yesterday, with records "ip:count:dkim:spf".
func dmarcReportMail(org, id, domain string, records ...string) string {
	begin := time.Now().Add(-24 * time.Hour).Unix()
	var recs strings.Builder
	for _, r := range records {
		var ip, dkim, spf string
		var n int
		fmt.Sscanf(strings.ReplaceAll(r, ":", " "), "%s %d %s %s", &ip, &n, &dkim, &spf)
		fmt.Fprintf(&recs, `<record><row><source_ip>%s</source_ip><count>%d</count><policy_evaluated><disposition>none</disposition>
<dkim>%s</dkim><spf>%s</spf></policy_evaluated></row><identifiers><envelope_from>%s</envelope_from><header_from>%s</header_from></identifiers>
<auth_results><spf><domain>%s</domain><result>%s</result></spf></auth_results></record>`, ip, n, dkim, spf, domain, domain, domain, spf)
	}
	return fmt.Sprintf("From: dmarc@%s\r\nSubject: Report Domain: %s\r\nContent-Type: application/xml\r\n\r\n"+
		`<feedback><report_metadata><org_name>%s</org_name><email>dmarc@%s</email><report_id>%s</report_id>`+
		`<date_range><begin>%d</begin><end>%d</end></date_range></report_metadata>`+
		`<policy_published><domain>%s</domain><p>none</p><sp>none</sp><pct>100</pct><fo>0</fo></policy_published>%s</feedback>`,
		org, domain, org, org, id, begin, begin+86399, domain, recs.String())
}

func TestReportCommands(t *testing.T) {
	dir := t.TempDir()
	_, st := openTestInstance(t, dir)
	st.Close()

	imports := []struct {
		msg, want string
	}{
		{dmarcReportMail("google.com", "g1", "example.org", "192.0.2.1:10:pass:pass", "198.51.100.7:3:fail:fail"),
			"dmarc report g1 from google.com about example.org: stored"},
		{dmarcReportMail("google.com", "g1", "example.org", "192.0.2.1:10:pass:pass"), "already stored"},
		{dmarcReportMail("yahoo.com", "y1", "example.net", "203.0.113.9:2:pass:fail"), "stored"},
	}
	for _, im := range imports {
		code, out, stderr := runWithStdin(t, im.msg, "report", "import", "--data", dir)
		if code != 0 || !strings.Contains(out, im.want) {
			t.Errorf("report import: %d %q %q, want %q", code, out, stderr, im.want)
		}
	}
	if code, _, stderr := runWithStdin(t, "From: a@b\r\n\r\nhello\r\n", "report", "import", "--data", dir); code == 0 || !strings.Contains(stderr, "no report") {
		t.Errorf("importing a message without a report: %d %q", code, stderr)
	}

	code, out, stderr := run(t, "report", "dmarc", "--data", dir)
	if code != 0 {
		t.Fatalf("report dmarc: %d %s", code, stderr)
	}
	for _, want := range []string{"2 DMARC reports", "198.51.100.7", "192.0.2.1", "203.0.113.9",
		"198.51.100.7 sends as example.org, fails SPF and DKIM: add it to SPF or sign"} {
		if !strings.Contains(out, want) {
			t.Errorf("report dmarc output lacks %q:\n%s", want, out)
		}
	}

	code, out, stderr = run(t, "report", "dmarc", "--data", dir, "--domain", "example.org", "--json")
	var got reportDMARCOutput
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("report dmarc --json: %d %s %s", code, out, stderr)
	}
	if got.Reports != 1 || len(got.Sources) != 2 || got.Sources[0].SourceIP != "198.51.100.7" || got.Sources[0].Messages != 3 ||
		got.Sources[0].Advice == "" || got.Sources[1].Pass != 10 || got.Sources[1].Advice != "" {
		t.Errorf("report dmarc --json: %+v", got)
	}
	if code, _, _ := run(t, "report", "dmarc", "--data", dir, "--days", "0"); code != 2 {
		t.Errorf("--days 0: exit %d, want 2", code)
	}
}

func TestReportTLS(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	doc := fmt.Sprintf(`{"organization-name":"google.com","report-id":"t1","contact-info":"smtp-tls@google.com",
"date-range":{"start-datetime":%q,"end-datetime":%q},
"policies":[{"policy":{"policy-type":"sts","policy-domain":"example.org","mx-host":["mx.example.org"]},
"summary":{"total-successful-session-count":40,"total-failure-session-count":2},
"failure-details":[{"result-type":"certificate-expired","receiving-mx-hostname":"mx.example.org","failed-session-count":2}]}]}`,
		start.Format(time.RFC3339), start.Add(24*time.Hour-time.Second).Format(time.RFC3339))
	msg := "From: smtp-tls@google.com\r\nContent-Type: application/tlsrpt+json\r\n\r\n" + doc
	if code, out, stderr := runWithStdin(t, msg, "report", "import", "--data", dir, "--json"); code != 0 || !strings.Contains(out, `"kind": "tls"`) {
		t.Fatalf("report import: %d %s %s", code, out, stderr)
	}
	code, out, stderr := run(t, "report", "tls", "--data", dir)
	if code != 0 || !strings.Contains(out, "1 TLS reports") || !strings.Contains(out, "certificate-expired: 2") || !strings.Contains(out, "example.org") {
		t.Errorf("report tls: %d %s %s", code, out, stderr)
	}
	code, out, _ = run(t, "report", "tls", "--data", dir, "--domain", "other.example", "--json")
	var got reportTLSOutput
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Reports != 0 || len(got.Policies) != 0 {
		t.Errorf("report tls for another domain: %d %s", code, out)
	}
}
