package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func TestARCVerify(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := dkim.KeyRecordText(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.Start(t, fmt.Sprintf("arc._domainkey.one.example. TXT %q\narc._domainkey.two.example. TXT %q\n$SERVFAIL arc._domainkey.broken.example.\n", txt, txt))
	msg := "From: a@example.org\r\nTo: list@one.example\r\nSubject: hi\r\n\r\nbody\r\n"
	seal := func(domain, msg string, chain *arc.Result) string {
		s := &arc.Sealer{Domain: domain, Selector: "arc", Key: key}
		set, err := s.Seal(strings.NewReader(msg), "mx."+domain, "dmarc=pass header.from=example.org", chain)
		if err != nil {
			t.Fatal(err)
		}
		return set.String() + msg
	}
	one := seal("one.example", msg, &arc.Result{Status: arc.StatusNone})
	two := seal("two.example", one, &arc.Result{Status: arc.StatusPass, Instances: 1})

	code, out, stderr := runStdin(t, two, "arc", "verify", "--resolver", srv.Addr())
	if code != 0 || !strings.HasPrefix(out, "arc=pass (2 ARC sets verified) header.oldest-pass=0\n") ||
		!strings.Contains(out, "i=2 cv=pass seal=pass header.d=two.example header.s=arc; ams=pass header.d=two.example header.s=arc; aar authserv-id=mx.two.example\n") ||
		!strings.Contains(out, "i=1 cv=none seal=pass header.d=one.example") {
		t.Errorf("text: %d %q %q", code, out, stderr)
	}

	code, out, stderr = runStdin(t, two+"tampered\r\n", "arc", "verify", "--json", "--resolver", srv.Addr())
	var res arcResultJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v %q", err, out)
	}
	if code != exitFailure || res.Result != "fail" || res.Instances != 2 || len(res.Sets) != 2 ||
		res.Sets[1].AMS != "fail" || res.Sets[1].AMSReason != "body hash did not verify" || res.OldestPass != nil ||
		!strings.Contains(stderr, "the ARC chain failed") {
		t.Errorf("tampered: %d %+v %q", code, res, stderr)
	}

	code, out, _ = runStdin(t, msg, "arc", "verify", "--json", "--resolver", srv.Addr())
	if code != 0 || !strings.Contains(out, `"result": "none"`) {
		t.Errorf("no chain: %d %q", code, out)
	}

	broken := seal("broken.example", msg, &arc.Result{Status: arc.StatusNone})
	code, out, _ = runStdin(t, broken, "arc", "verify", "--json", "--resolver", srv.Addr())
	if code != exitFailure || !strings.Contains(out, `"temporary": true`) {
		t.Errorf("SERVFAIL: %d %q", code, out)
	}

	if code, _, _ := runStdin(t, msg, "arc", "verify", "--resolver", "not-an-address"); code != exitUsage {
		t.Errorf("bad resolver: exit %d", code)
	}
	if code, _, _ := runStdin(t, msg, "arc", "seal"); code != exitUsage {
		t.Errorf("unknown verb: exit %d", code)
	}
	if code, _, _ := runStdin(t, msg, "arc", "verify", "extra"); code != exitUsage {
		t.Errorf("argument: exit %d", code)
	}
}
