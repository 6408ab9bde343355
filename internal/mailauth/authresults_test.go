package mailauth

import (
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/authres"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/spf"
)

// TestAuthResults pins the exact field written for the results of a check,
// byte for byte.
func TestAuthResults(t *testing.T) {
	mailFrom := spf.Received{Result: spf.Pass, Identity: spf.IdentityMailFrom, Sender: "bounce@example.com",
		HELO: "mail.example.com", Mechanism: "ip4:192.0.2.0/24"}
	helo := spf.Received{Result: spf.None, Identity: spf.IdentityHELO, Sender: "postmaster@mail.example.com",
		HELO: "mail.example.com"}
	signed := dkim.Result{Status: dkim.StatusPass, Signature: &dkim.Signature{}, Domain: "example.com",
		Selector: "2026a", Algorithm: dkim.Ed25519SHA256, HeaderB: "Lq/8w+3a"}
	dmarcPass := dmarc.Verdict{Result: dmarc.ResultPass, FromDomain: "example.com",
		Requested: dmarc.PolicyReject, Disposition: dmarc.PolicyNone}
	dmarcFail := dmarc.Verdict{Result: dmarc.ResultFail, FromDomain: "lists.example",
		Requested: dmarc.PolicyQuarantine, Disposition: dmarc.PolicyQuarantine}
	tests := []struct {
		name string
		res  Results
		want string
	}{
		{"typical", Results{SPF: mailFrom, HELO: helo, DKIM: []dkim.Result{signed}, ARC: &arc.Result{Status: arc.StatusNone}, DMARC: dmarcPass},
			"Authentication-Results: mx.sealpost.test;\r\n" +
				"\tspf=pass reason=\"matched ip4:192.0.2.0/24\" smtp.mailfrom=bounce@example.com;\r\n" +
				"\tspf=none smtp.helo=mail.example.com;\r\n" +
				"\tdkim=pass header.d=example.com header.s=2026a header.a=ed25519-sha256\r\n" +
				"\theader.b=\"Lq/8w+3a\";\r\n" +
				"\tarc=none;\r\n" +
				"\tdmarc=pass (p=reject dis=none) header.from=example.com policy.dmarc=none\r\n"},
		{"unsigned, permerror, exempt", Results{
			SPF:      spf.Received{Result: spf.Permerror, Identity: spf.IdentityMailFrom, Sender: "a@lists.example", Problem: "too many DNS lookups"},
			DKIM:     nil,
			ARC:      &arc.Result{Status: arc.StatusFail, Reason: "AMS(1) body hash did not verify"},
			DMARC:    dmarcFail,
			Exempted: "lists.example"},
			"Authentication-Results: mx.sealpost.test;\r\n" +
				"\tspf=permerror reason=\"too many DNS lookups\" smtp.mailfrom=a@lists.example;\r\n" +
				"\tdkim=none;\r\n" +
				"\tarc=fail reason=\"AMS(1) body hash did not verify\";\r\n" +
				"\tdmarc=fail (p=quarantine dis=quarantine)\r\n" +
				"\treason=\"exempt by local policy: lists.example\" header.from=lists.example\r\n" +
				"\tpolicy.dmarc=none\r\n"},
		{"l=, broken signature, trusted ARC", Results{
			SPF: mailFrom,
			DKIM: []dkim.Result{
				{Status: dkim.StatusPass, Signature: &dkim.Signature{}, Domain: "example.com", Selector: "s", Algorithm: dkim.RSASHA256,
					HeaderB: "AbCdEfGh", UnsignedBodyBytes: 1234},
				{Status: dkim.StatusPass, Reason: "good", Signature: &dkim.Signature{}, Domain: "example.com", Selector: "s",
					Algorithm: dkim.RSASHA256, HeaderB: "AbCdEfGh", UnsignedBodyBytes: 7},
				{Status: dkim.StatusPermError, Reason: "missing s= tag", Domain: "example.net", HeaderB: "ignored"},
			},
			ARC:        &arc.Result{Status: arc.StatusPass, Instances: 2, OldestPass: 1},
			DMARC:      dmarcFail,
			TrustedARC: "forwarder.example"},
			"Authentication-Results: mx.sealpost.test;\r\n" +
				"\tspf=pass reason=\"matched ip4:192.0.2.0/24\" smtp.mailfrom=bounce@example.com;\r\n" +
				"\tdkim=pass reason=\"l= leaves 1234 body bytes unsigned\" header.d=example.com\r\n" +
				"\theader.s=s header.a=rsa-sha256 header.b=AbCdEfGh;\r\n" +
				"\tdkim=pass reason=\"good l= leaves 7 body bytes unsigned\" header.d=example.com\r\n" +
				"\theader.s=s header.a=rsa-sha256 header.b=AbCdEfGh;\r\n" +
				"\tdkim=permerror reason=\"missing s= tag\" header.d=example.net;\r\n" +
				"\tarc=pass header.oldest-pass=1;\r\n" +
				"\tdmarc=fail (p=quarantine dis=quarantine)\r\n" +
				"\treason=\"ARC chain sealed by trusted forwarder.example\"\r\n" +
				"\theader.from=lists.example policy.dmarc=none\r\n"},
	}
	var c Checker
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := authres.Header(ourID, c.authResults(tt.res))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			c := Checker{AuthservID: ourID}
			if field, err := c.authResultsField(&tt.res); err != nil || field != tt.want {
				t.Errorf("authResultsField: %v\n%s\nwant\n%s", err, field, tt.want)
			}
			if strings.Contains(got, "\r\n\r\n") {
				t.Error("empty line in the field")
			}
		})
	}
}

// TestWriteAuthResultsUsual checks that the usual results are written
// straight (writeAuthResults), not left to authres.Header, and in its
// bytes: FuzzWriteAuthResults compares the two on any results.
func TestWriteAuthResultsUsual(t *testing.T) {
	res := Results{
		SPF: spf.Received{Result: spf.Pass, Identity: spf.IdentityMailFrom, Sender: "joe@bench.example", HELO: "mx.bench.example",
			Mechanism: "ip4:192.0.2.10"},
		HELO: spf.Received{Result: spf.Pass, Identity: spf.IdentityHELO, Sender: "postmaster@mx.bench.example", HELO: "mx.bench.example",
			Mechanism: "ip4:192.0.2.10"},
		DKIM: []dkim.Result{{Status: dkim.StatusPass, Reason: "signature verified", Signature: &dkim.Signature{}, Domain: "bench.example",
			Selector: "sel", Algorithm: dkim.RSASHA256, HeaderB: "zv/Oo1wh"}},
		ARC: &arc.Result{Status: arc.StatusNone, Reason: "no ARC sets"},
		DMARC: dmarc.Verdict{Result: dmarc.ResultPass, FromDomain: "bench.example", Requested: dmarc.PolicyReject,
			Disposition: dmarc.PolicyNone},
	}
	c := Checker{AuthservID: "mx.sealpost.test"}
	got, ok := c.writeAuthResults(nil, &res)
	if !ok {
		t.Fatalf("writeAuthResults left the usual results to authres.Header; it wrote\n%s", got)
	}
	want := "Authentication-Results: mx.sealpost.test;\r\n" +
		"\tspf=pass reason=\"matched ip4:192.0.2.10\" smtp.mailfrom=joe@bench.example;\r\n" +
		"\tspf=pass reason=\"matched ip4:192.0.2.10\" smtp.helo=mx.bench.example;\r\n" +
		"\tdkim=pass reason=\"signature verified\" header.d=bench.example header.s=sel\r\n" +
		"\theader.a=rsa-sha256 header.b=\"zv/Oo1wh\";\r\n" +
		"\tarc=none reason=\"no ARC sets\";\r\n" +
		"\tdmarc=pass (p=reject dis=none) header.from=bench.example policy.dmarc=none\r\n"
	if string(got) != want {
		t.Fatalf("writeAuthResults =\n%q\nwant\n%q", got, want)
	}
}
