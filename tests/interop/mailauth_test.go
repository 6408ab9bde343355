package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// TestInboundAuthentication sends mail to `sealpost dev`'s MX port with
// Python's smtplib, as other servers do, with DNS from a test server:
// a message forging the From of a domain with DMARC p=reject is refused
// at DATA with 550 5.7.1; one from a domain without DMARC is stored with
// Sealpost's Authentication-Results field, and the field it carried that
// claimed to be Sealpost's is gone.
func TestInboundAuthentication(t *testing.T) {
	dns := dnstest.Start(t, `
bank.example. TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.bank.example. TXT "v=DMARC1; p=reject"
friends.example. TXT "v=spf1 ip4:127.0.0.0/8 -all"
`)
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second, "--resolver", dns.Addr())
	hostname := d.config.Hostname
	send := func(name, from, msg string) (code int, text string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), name+".eml")
		if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "python3", "testdata/mx_send.py", d.config.Host, fmt.Sprint(d.config.Ports["smtp"]),
			from, d.config.User, path).CombinedOutput()
		if err != nil {
			t.Fatalf("mx_send.py: %v\n%s\n%s", err, out, d.out)
		}
		var got struct {
			Code int    `json:"code"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return got.Code, got.Text
	}

	code, text := send("forged", "ceo@bank.example",
		"From: Bank <ceo@bank.example>\r\nTo: "+d.config.User+"\r\nSubject: forged bank\r\n\r\nPay now.\r\n")
	if code != 550 || !strings.Contains(text, "DMARC") {
		t.Errorf("a forged p=reject From: %d %s, want 550 naming DMARC", code, text)
	}
	code, text = send("friend", "ann@friends.example",
		"Authentication-Results: "+hostname+"; dmarc=pass header.from=bank.example\r\n"+
			"From: Ann <ann@friends.example>\r\nTo: "+d.config.User+"\r\nSubject: from a friend\r\n\r\nHello.\r\n")
	if code != 250 {
		t.Fatalf("an honest message: %d %s", code, text)
	}
	// A DMARC aggregate report from another receiver, to the postmaster
	// address our DMARC record names, is read and kept.
	if r := sealpost(t, "", "alias", "add", "postmaster@"+d.config.Domain, d.config.User, "--data", dir); r.code != 0 {
		t.Fatalf("alias add: %s", r.stderr)
	}
	xml, err := os.ReadFile("../../internal/reports/testdata/example.com.xml")
	if err != nil {
		t.Fatal(err)
	}
	report := "From: reports@friends.example\r\nTo: postmaster@" + d.config.Domain + "\r\nSubject: Report Domain: example.com\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/xml\r\n\r\n" + strings.ReplaceAll(string(xml), "\n", "\r\n")
	pathReport := filepath.Join(t.TempDir(), "report.eml")
	if err := os.WriteFile(pathReport, []byte(report), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "testdata/mx_send.py", d.config.Host, fmt.Sprint(d.config.Ports["smtp"]),
		"reports@friends.example", "postmaster@"+d.config.Domain, pathReport).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"code": 250`) {
		t.Fatalf("sending the report: %v %s", err, out)
	}
	// The MTA-STS policy and the client configuration, fetched with curl
	// as senders and mail clients do, from the names `sealpost dns`
	// publishes; Autodiscover is a POST, as Outlook makes it.
	port := d.config.Ports["https"]
	autodiscover := `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request>` +
		`<EMailAddress>` + d.config.User + `</EMailAddress>` +
		`<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>` +
		`</Request></Autodiscover>`
	for _, tc := range []struct{ host, path, post, want string }{
		{"mta-sts." + d.config.Domain, "/.well-known/mta-sts.txt", "", "mx: " + d.config.Hostname},
		{"autoconfig." + d.config.Domain, "/mail/config-v1.1.xml", "", "<hostname>" + d.config.Hostname + "</hostname>"},
		{"autodiscover." + d.config.Domain, "/autodiscover/autodiscover.xml", autodiscover, "<Server>" + d.config.Hostname + "</Server>"},
	} {
		url := fmt.Sprintf("https://%s:%d%s", tc.host, port, tc.path)
		args := []string{"-sS", "--fail", "--insecure", "--resolve", fmt.Sprintf("%s:%d:%s", tc.host, port, d.config.Host)}
		if tc.post != "" {
			args = append(args, "-H", "Content-Type: text/xml", "--data-binary", tc.post)
		}
		out, err := exec.CommandContext(ctx, "curl", append(args, url)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("curl %s: %v\n%s", url, err, out)
		}
	}
	d.stop(t, 10*time.Second)
	if r := sealpost(t, "", "report", "dmarc", "--json", "--days", "3650", "--data", dir); r.code != 0 || !strings.Contains(r.stdout, `"reports": 1`) || !strings.Contains(r.stdout, `"source_ip": "192.0.2.1"`) {
		t.Errorf("report dmarc: %d %s %s", r.code, r.stdout, r.stderr)
	}

	bodies := inboxBodies(t, dir, d.config.User)
	var friend string
	for _, b := range bodies {
		if strings.Contains(b, "Subject: from a friend") {
			friend = b
		}
		if strings.Contains(b, "Subject: forged bank") {
			t.Error("the forged message was stored")
		}
	}
	if friend == "" {
		t.Fatalf("the honest message is not in the INBOX: %d messages", len(bodies))
	}
	header, _, _ := strings.Cut(friend, "\r\n\r\n")
	if n := strings.Count(header, "Authentication-Results: "+hostname+";"); n != 1 {
		t.Errorf("%d Authentication-Results fields of %s, want 1 (ours):\n%s", n, hostname, header)
	}
	for _, want := range []string{"spf=pass", "smtp.mailfrom=ann@friends.example", "dkim=none", "dmarc=none"} {
		if !strings.Contains(header, want) {
			t.Errorf("no %q in the header:\n%s", want, header)
		}
	}
	if strings.Contains(header, "header.from=bank.example") {
		t.Errorf("the forged field survived:\n%s", header)
	}
}
