package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func TestDMARCCheck(t *testing.T) {
	srv := dnstest.Start(t, `
_dmarc.example.com. TXT "v=DMARC1; p=reject; sp=quarantine; adkim=s; pct=abc"
_dmarc.none.example. TXT "v=DMARC1; p=none"
`)
	r := srv.Addr()

	code, out, errOut := run(t, "dmarc", "check", "example.com", "--spf", "pass:bounce@mail.example.com",
		"--dkim", "pass:mail.example.com", "--dkim", "fail:example.com", "--resolver", r)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"DMARC record:        _dmarc.example.com: v=DMARC1; p=reject; sp=quarantine; adkim=s; pct=abc",
		`warning: invalid pct="abc", using 100`,
		"SPF:                 pass for bounce@mail.example.com, relaxed alignment: aligned",
		"DKIM:                pass for d=mail.example.com, strict alignment: not aligned",
		"DKIM:                fail for d=example.com, strict alignment: not aligned",
		"Result:              dmarc=pass",
		"Requested policy:    reject (p=)",
		"Policy to apply:     none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = run(t, "dmarc", "check", "--json", "www.example.com", "--resolver", r,
		"--dkim", "pass:other.example")
	var got dmarcCheckOutput
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	if got.Result != "fail" || got.PolicyDomain != "example.com" || got.Requested != "quarantine" || got.RequestedBy != "sp" ||
		got.Disposition != "quarantine" || got.DKIMAlign != "strict" || got.DKIMAligned {
		t.Errorf("json = %+v", got)
	}

	code, out, _ = run(t, "dmarc", "check", "nothing.example", "--resolver", r)
	if code != 0 || !strings.Contains(out, "DMARC record:        none found") || !strings.Contains(out, "dmarc=none") {
		t.Errorf("no record: %d\n%s", code, out)
	}
}

func TestDMARCCheckUsage(t *testing.T) {
	for _, args := range [][]string{
		{"dmarc"},
		{"dmarc", "verify"},
		{"dmarc", "check", "example.com"},
		{"dmarc", "check", "--resolver", "127.0.0.1:53"},
		{"dmarc", "check", "example.com", "--resolver", "localhost:53"},
		{"dmarc", "check", "example.com", "--resolver", "127.0.0.1:53", "--spf", "pass"},
		{"dmarc", "check", "example.com", "--resolver", "127.0.0.1:53", "--dkim", ":example.com"},
		{"dmarc", "check", "example.com", "--resolver", "127.0.0.1:53", "--spf", "pass:a", "--spf", "fail:b"},
	} {
		if code, _, _ := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
