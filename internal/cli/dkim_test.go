package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func runStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	code := Main(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

func TestDKIMVerify(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := dkim.KeyRecordText(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.Start(t, fmt.Sprintf("sel._domainkey.example.org. TXT %q\n$SERVFAIL broken._domainkey.example.org.\n", txt))
	msg := "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
	sign := func(selector string) string {
		s := &dkim.Signer{Domain: "example.org", Selector: selector, Key: key}
		field, err := s.Sign(strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		return field
	}
	good, broken := sign("sel"), sign("broken")

	code, out, stderr := runStdin(t, good+broken+msg, "dkim", "verify", "--resolver", srv.Addr())
	if code != 0 || !strings.Contains(out, "dkim=pass header.d=example.org header.s=sel") ||
		!strings.Contains(out, "dkim=temperror header.d=example.org header.s=broken") {
		t.Errorf("text: %d %q %q", code, out, stderr)
	}

	code, out, stderr = runStdin(t, good+msg+"tampered\r\n", "dkim", "verify", "--json", "--resolver", srv.Addr())
	var res []dkimResultJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json: %v %q", err, out)
	}
	if code != exitFailure || len(res) != 1 || res[0].Result != "fail" || res[0].Domain != "example.org" || !strings.Contains(stderr, "no DKIM signature passed") {
		t.Errorf("tampered: %d %+v %q", code, res, stderr)
	}

	code, out, _ = runStdin(t, msg, "dkim", "verify", "--json", "--resolver", srv.Addr())
	if code != exitFailure || !strings.Contains(out, `"result": "none"`) {
		t.Errorf("unsigned: %d %q", code, out)
	}

	if code, _, _ := runStdin(t, msg, "dkim", "verify", "--resolver", "not-an-address"); code != exitUsage {
		t.Errorf("bad resolver: exit %d", code)
	}
	if code, _, _ := runStdin(t, msg, "dkim", "sign"); code != exitUsage {
		t.Errorf("unknown verb: exit %d", code)
	}
}
