package smtpserver

import (
	"io"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
)

// TestSubmissionIsSigned: a submission from a domain with DKIM keys is
// stored and queued with one signature per active key, RSA first, and
// both verify against the published records, with the Message-ID and
// Date the server added covered.
func TestSubmissionIsSigned(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	keys, err := e.acc.RotateDKIM(t.Context(), "example.org") // the domain's first keys: active at once
	if err != nil {
		t.Fatal(err)
	}
	zone := dnsx.NewZone()
	if err := zone.AddDomain("example.org"); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		rec, err := account.DKIMRecord(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := zone.Add(k.Selector + "._domainkey.example.org. TXT \"" + rec + "\"\n"); err != nil {
			t.Fatal(err)
		}
	}
	verifier := &dkim.Verifier{Resolver: dnsx.NewStub(zone, nil)}

	c := dialTLS(t, e.addrs[Submissions])
	c.greet()
	if code, text := c.login("ann@example.org", annPassword); code != 235 {
		t.Fatalf("login: %s", text)
	}
	for _, rcpts := range [][]string{{"bob@example.org"}, {"bob@example.org", "friend@outside.example"}} {
		c.expect("MAIL FROM:<ann@example.org>", 250)
		for _, r := range rcpts {
			c.expect("RCPT TO:<"+r+">", 250)
		}
		c.expect("DATA", 354)
		c.send("From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: signed\r\n\r\nHello,  world.\r\n.\r\n")
		if code, text := c.read(); code != 250 {
			t.Fatalf("submission: %s", text)
		}
	}
	msgs := e.inbox(t, "bob@example.org")
	for _, q := range e.queue(t) {
		msgs = append(msgs, readBlob(t, e, q.BlobID))
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages stored and queued, want 2", len(msgs))
	}
	for _, m := range msgs {
		if strings.Count(m, "DKIM-Signature:") != 2 || strings.Index(m, "a=rsa-sha256") > strings.Index(m, "a=ed25519-sha256") {
			t.Errorf("want an RSA then an Ed25519 signature:\n%s", m)
		}
		results, err := verifier.Verify(t.Context(), strings.NewReader(m))
		if err != nil || len(results) != 2 {
			t.Fatalf("verify: %v, %v", results, err)
		}
		for _, r := range results {
			if r.Status != dkim.StatusPass || r.Domain != "example.org" {
				t.Errorf("%s", r)
			}
			if h := strings.Join(r.Signature.Headers, ":"); !strings.Contains(h, "Message-ID") || !strings.Contains(h, "Date") {
				t.Errorf("the signature does not cover the added fields: h=%s", h)
			}
		}
	}
}

func readBlob(t *testing.T, e *env, id string) string {
	t.Helper()
	r, err := e.st.OpenBody(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
