package web

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMailDomains(t *testing.T) {
	policy := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmax_age: 604800\r\n"
	srv := httptest.NewServer(Handler(Options{Hostname: "mail.example.org", Mail: &MailDomains{
		Hosted:   func(ctx context.Context, d string) bool { return d == "example.org" },
		Policy:   policy,
		Hostname: "mail.example.org", IMAPS: 993, Submissions: 465, Submission: 587,
	}}))
	defer srv.Close()
	get := func(host, path string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, ct, body := get("mta-sts.example.org", "/.well-known/mta-sts.txt"); code != 200 || body != policy || !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("policy: %d %q %q", code, ct, body)
	}
	if code, _, body := get("MTA-STS.Example.org:443", "/.well-known/mta-sts.txt"); code != 200 || body != policy {
		t.Errorf("policy, host in capitals with a port: %d %q", code, body)
	}
	for _, host := range []string{"mta-sts.other.example", "example.org", "mail.example.org", "autoconfig.example.org"} {
		if code, _, _ := get(host, "/.well-known/mta-sts.txt"); code != 404 {
			t.Errorf("policy for %s: %d, want 404", host, code)
		}
	}
	code, ct, body := get("autoconfig.example.org", "/mail/config-v1.1.xml")
	var c autoconfig
	if code != 200 || !strings.HasPrefix(ct, "application/xml") || xml.Unmarshal([]byte(body), &c) != nil {
		t.Fatalf("autoconfig: %d %q %s", code, ct, body)
	}
	if c.Provider.Domain != "example.org" || len(c.Provider.Incoming) != 1 || c.Provider.Incoming[0] != (server{"imap", "mail.example.org", 993, "SSL", "%EMAILADDRESS%", "password-cleartext"}) ||
		len(c.Provider.Outgoing) != 2 || c.Provider.Outgoing[0].Port != 465 || c.Provider.Outgoing[1].Socket != "STARTTLS" {
		t.Errorf("autoconfig: %+v", c)
	}
	if code, _, _ := get("autoconfig.other.example", "/mail/config-v1.1.xml"); code != 404 {
		t.Errorf("autoconfig of a domain not hosted: %d", code)
	}
}
