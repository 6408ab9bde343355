package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/spf"
)

func TestSPFCheck(t *testing.T) {
	srv := dnstest.Start(t, `
example.com.      TXT  "v=spf1 mx -all exp=why.example.com"
example.com.      MX   10 mx.example.com.
mx.example.com.   A    192.0.2.10
why.example.com.  TXT  "%{i} is not a server of %{d}"
client.example.   TXT  "v=spf1 ip4:192.0.2.0/24 -all"
`)
	code, out, stderr := run(t, "spf", "check", "192.0.2.10", "user@example.com", "client.example", "--resolver", srv.Addr())
	if code != 0 || !strings.Contains(out, "result:      pass\n") || !strings.Contains(out, "mechanism:   mx\n") ||
		!strings.Contains(out, "Received-SPF: pass (unknown: domain of user@example.com designates 192.0.2.10 as permitted sender)") ||
		!strings.Contains(out, "Authentication-Results: spf=pass smtp.mailfrom=example.com\n") {
		t.Errorf("pass: %d\n%s%s", code, out, stderr)
	}

	code, out, stderr = run(t, "spf", "check", "--json", "192.0.2.99", "user@example.com", "--resolver", srv.Addr(), "--receiver", "mx.sealpost.example")
	var rep struct {
		spf.Received
		ReceivedSPF string `json:"received_spf"`
		AuthResult  string `json:"authentication_results"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("json: %d %s %s", code, out, stderr)
	}
	if rep.Result != spf.Fail || rep.Explanation != "192.0.2.99 is not a server of example.com" ||
		!strings.HasPrefix(rep.ReceivedSPF, "Received-SPF: fail (mx.sealpost.example: ") || rep.AuthResult != "spf=fail smtp.mailfrom=example.com" {
		t.Errorf("fail: %+v", rep)
	}

	// The null reverse-path checks postmaster@HELO; --helo checks the HELO
	// identity whatever MAIL FROM is.
	for _, args := range [][]string{
		{"spf", "check", "192.0.2.5", "<>", "client.example"},
		{"spf", "check", "--helo", "192.0.2.5", "user@example.com", "client.example"},
	} {
		code, out, stderr = run(t, append(args, "--resolver", srv.Addr())...)
		if code != 0 || !strings.Contains(out, "result:      pass\n") || !strings.Contains(out, "sender:      postmaster@client.example\n") {
			t.Errorf("%v: %d\n%s%s", args, code, out, stderr)
		}
	}

	for _, args := range [][]string{
		{"spf", "check", "192.0.2.5", "user@example.com"},                           // no resolver
		{"spf", "check", "not-an-ip", "user@example.com", "--resolver", srv.Addr()}, // bad IP
		{"spf", "check", "192.0.2.5", "--resolver", srv.Addr()},                     // no MAIL FROM
		{"spf", "check", "192.0.2.5", "a@b.example", "--resolver", "localhost:53"},  // names need a resolver
	} {
		if code, _, _ := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
