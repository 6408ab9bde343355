package arc

import (
	"context"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

func FuzzParseSeal(f *testing.F) {
	for _, s := range []string{
		"i=1; a=rsa-sha256; cv=none; d=example.org; s=dummy; t=12345; b=AAAA",
		" a=rsa-sha256; b=Pg8Y\r\n yk1A=; cv=pass; d=example.org; i=2; s=dummy",
		"i=1; a=rsa-sha256; cv=none; d=example.org; s=dummy;; b=AAAA",
		"i=0; h=from; cv=maybe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		s, err := ParseSeal(value)
		if err != nil {
			return
		}
		if s.Instance < 1 || s.Instance > MaxInstances || len(s.Sig) == 0 {
			t.Fatalf("accepted %q as %+v", value, s)
		}
		if s.CV != StatusNone && s.CV != StatusPass && s.CV != StatusFail {
			t.Fatalf("cv=%q accepted", s.CV)
		}
	})
}

func FuzzParseMessageSignature(f *testing.F) {
	for _, s := range []string{
		"i=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=dummy; h=from:to; bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=; b=AAAA",
		"i=3; a=ed25519-sha256; d=example.org; s=s; h= from : to ::subject; bh=AAAA; b=AAAA; l=10",
		"i=1; a=rsa-sha256; d=example.org; s=s; h=arc-seal; bh=AA==; b=AA==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		m, err := ParseMessageSignature(value)
		if err != nil {
			return
		}
		if m.Instance < 1 || m.Instance > MaxInstances || len(m.Sig) == 0 || len(m.BodyHash) == 0 {
			t.Fatalf("accepted %q as %+v", value, m)
		}
		for _, h := range m.Headers {
			if strings.EqualFold(h, SealField) || h == "" {
				t.Fatalf("h= entry %q accepted", h)
			}
		}
	})
}

func FuzzParseAuthResults(f *testing.F) {
	for _, s := range []string{
		"i=1; lists.example.org; arc=none;\r\n spf=pass smtp.mfrom=jqd@d1.example;\r\n dkim=pass (1024-bit key) header.i=@d1.example;\r\n dmarc=pass",
		" i = 2 ; mx.example (comment; with semicolon) 1; dmarc=pass (\"quoted\\\" ; )\") header.from=example.org",
		"i=1; example.org; none",
		"lists.example.org; i=1; dmarc=pass",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		a, err := ParseAuthResults(value)
		if err != nil {
			return
		}
		if a.Instance < 1 || a.Instance > MaxInstances || a.AuthservID == "" {
			t.Fatalf("accepted %q as %+v", value, a)
		}
	})
}

// FuzzValidate validates arbitrary messages against a DNS holding the
// key of the seeds' sealer: it must never panic, and the status is one of
// the three.
func FuzzValidate(f *testing.F) {
	dns := dnsfake.NewTXT()
	h := newHop(f, dns, "fwd1.example", testEd25519Key())
	h2 := newHop(f, dns, "fwd2.example", testEd25519Key())
	one := forward(f, dns, h, testMessage, nil)
	f.Add(one)
	f.Add(forward(f, dns, h2, one, addFooter))
	f.Add(testMessage)
	f.Add("ARC-Seal: i=1\r\nARC-Message-Signature: i=1\r\nARC-Authentication-Results: i=1; x\r\n\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		res, err := (&Validator{Resolver: dns}).Validate(context.Background(), strings.NewReader(msg))
		if err != nil {
			return
		}
		res.Trust([]string{"fwd1.example", "fwd2.example"})
		res.AuthResult("192.0.2.1")
		switch res.Status {
		case StatusNone, StatusFail:
		case StatusPass:
			if len(res.Sets) != res.Instances || res.Instances == 0 {
				t.Fatalf("pass with %d sets for %d instances", len(res.Sets), res.Instances)
			}
		default:
			t.Fatalf("status %q", res.Status)
		}
	})
}
