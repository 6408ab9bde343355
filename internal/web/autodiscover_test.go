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

func autodiscoverBody(address string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + address + `</EMailAddress>
    <AcceptableResponseSchema>` + outlookSchema + `</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

func TestAutodiscover(t *testing.T) {
	mail := &MailDomains{
		Hosted:   func(ctx context.Context, d string) bool { return d == "example.org" },
		Hostname: "mail.example.org", IMAPS: 993, IMAP: 143, POP3: 110, Submission: 587,
	}
	srv := httptest.NewServer(Handler(Options{Hostname: "mail.example.org", Mail: mail}))
	defer srv.Close()
	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+path, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	for _, path := range []string{"/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"} {
		code, body := post(path, autodiscoverBody("Ann@Example.org"))
		var got autodiscoverResponse
		if code != 200 || xml.Unmarshal([]byte(body), &got) != nil {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		want := []autodiscoverProtocol{
			{Type: "IMAP", Server: "mail.example.org", Port: 993, LoginName: "Ann@Example.org", SPA: "off", SSL: "on", AuthRequired: "on"},
			{Type: "POP3", Server: "mail.example.org", Port: 110, LoginName: "Ann@Example.org", SPA: "off", SSL: "on", Encryption: "TLS", AuthRequired: "on"},
			{Type: "SMTP", Server: "mail.example.org", Port: 587, LoginName: "Ann@Example.org", SPA: "off", SSL: "on", Encryption: "TLS", AuthRequired: "on"},
		}
		acct := got.Response.Account
		if acct.AccountType != "email" || acct.Action != "settings" || len(acct.Protocol) != len(want) {
			t.Fatalf("%s: %+v", path, acct)
		}
		for i := range want {
			if acct.Protocol[i] != want[i] {
				t.Errorf("protocol %d: %+v, want %+v", i, acct.Protocol[i], want[i])
			}
		}
		if !strings.Contains(body, `xmlns="`+outlookSchema+`"`) {
			t.Errorf("no outlook schema namespace in\n%s", body)
		}
	}

	bad := []struct {
		name, body string
		code       int
	}{
		{"not hosted", autodiscoverBody("ann@other.example"), 404},
		{"no address", autodiscoverBody(""), 404},
		{"no domain", autodiscoverBody("ann@"), 404},
		{"not XML", "EMailAddress=ann@example.org", 400},
		{"mobile schema", strings.Replace(autodiscoverBody("ann@example.org"), outlookSchema, "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006", 1), 400},
		{"too large", autodiscoverBody("ann@example.org") + strings.Repeat(" ", maxAutodiscoverRequest), 413},
	}
	for _, tt := range bad {
		if code, body := post("/autodiscover/autodiscover.xml", tt.body); code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, code, body, tt.code)
		}
	}
	if resp, err := srv.Client().Get(srv.URL + "/autodiscover/autodiscover.xml"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func FuzzAutodiscover(f *testing.F) {
	f.Add(autodiscoverBody("ann@example.org"))
	f.Add("<Autodiscover><Request><EMailAddress>@</EMailAddress></Request></Autodiscover>")
	h := Handler(Options{Hostname: "mail.example.org", Mail: &MailDomains{
		Hosted: func(ctx context.Context, d string) bool { return true }, Hostname: "mail.example.org", IMAPS: 993}})
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/autodiscover/autodiscover.xml", strings.NewReader(body)))
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 404 && rec.Code != 413 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
