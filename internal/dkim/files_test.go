package dkim

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

// The verification cases in testdata/verify are files, one set per case:
// NAME.msg (the message), NAME.dns (TXT records, "name value" per line;
// "name TEMPERROR" makes the lookup fail), NAME.result (one line per
// signature: the status, then the reason) and NAME.readme (what the case is
// about). TestVerifyFiles writes NAME.got beside a .result it does not
// match, so a changed outcome is reviewed as a diff. Cases can be added by
// hand (a captured message and its keys); those made here are regenerated
// with "go test -run TestVerifyFiles -generate".

var generate = flag.Bool("generate", false, "rewrite the generated cases in testdata/verify")

// caseNow is the verification time of every case, so that x= is stable.
var caseNow = time.Unix(1_800_000_000, 0)

func TestVerifyFiles(t *testing.T) {
	if *generate {
		generateCases(t)
	}
	msgs, err := filepath.Glob("testdata/verify/*.msg")
	if err != nil || len(msgs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, msgPath := range msgs {
		base := strings.TrimSuffix(msgPath, ".msg")
		t.Run(filepath.Base(base), func(t *testing.T) {
			if _, err := os.Stat(base + ".readme"); err != nil {
				t.Errorf("case without .readme: %v", err)
			}
			dns := dnsfake.NewTXT()
			if data, err := os.ReadFile(base + ".dns"); err == nil {
				for line := range strings.Lines(string(data)) {
					name, value, _ := strings.Cut(strings.TrimSpace(line), " ")
					if value == "TEMPERROR" {
						dns.Fail(strings.ToLower(name))
					} else if name != "" {
						dns.Add(name, value)
					}
				}
			}
			msg, err := os.ReadFile(msgPath)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{Resolver: dns, Now: func() time.Time { return caseNow }}
			res, err := v.Verify(t.Context(), bufio.NewReader(bytes.NewReader(msg)))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, r := range res {
				fmt.Fprintf(&got, "%s %s\n", r.Status, r.Reason)
			}
			want, _ := os.ReadFile(base + ".result")
			if got.String() != string(want) {
				os.WriteFile(base+".got", []byte(got.String()), 0o644)
				t.Errorf("got:\n%swant:\n%s(written to %s.got)", got.String(), want, base)
			} else {
				os.Remove(base + ".got")
			}
		})
	}
}

// caseKey is the RFC 8032 section 7.1 test key: Ed25519 signatures are
// deterministic, so regenerating gives the same files.
func caseKey(t *testing.T) ed25519.PrivateKey {
	seed, err := base64.StdEncoding.DecodeString("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

const caseMessage = "From: Joe <joe@example.com>\r\nTo: sue@example.net\r\nSubject: dinner\r\n" +
	"Date: Sat, 15 Jan 2027 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\nAre you hungry yet?\r\n"

type genCase struct {
	name, readme string
	// edit changes the unsigned field before signing (nil: none);
	// after changes the signed message.
	edit  func(string) string
	after func(string) string
	dns   string // "" means the key at sel._domainkey.example.com
}

func generateCases(t *testing.T) {
	key := caseKey(t)
	record, _ := KeyRecordText(key.Public())
	keyDNS := "sel._domainkey.example.com " + record + "\n"
	cases := []genCase{
		{name: "01-pass", readme: "An Ed25519 relaxed/relaxed signature as Sealpost makes it; passes."},
		{name: "02-lf-line-ends", readme: "The signed message stored with LF line ends, as in a Unix file: read as CRLF, it passes.",
			after: func(m string) string { return strings.ReplaceAll(m, "\r\n", "\n") }},
		{name: "03-length-appended", readme: "l= covers the original body; a line appended later is reported as unsigned bytes, and the signature passes.",
			edit:  func(f string) string { return strings.Replace(f, "s=sel", "s=sel; l=21", 1) },
			after: func(m string) string { return m + "Click here: http://evil.example/\r\n" }},
		{name: "04-length-past-end", readme: "l= larger than the body: fails.",
			edit: func(f string) string { return strings.Replace(f, "s=sel", "s=sel; l=500", 1) }},
		{name: "05-no-from-in-h", readme: "h= does not name From (RFC 6376 section 5.4): permerror.",
			edit: func(f string) string { return strings.Replace(f, "h=From:From:", "h=", 1) }},
		{name: "06-revoked", readme: "The key record has an empty p=: the key is revoked, permerror.",
			dns: "sel._domainkey.example.com v=DKIM1; k=ed25519; p=\n"},
		{name: "07-temperror", readme: "The key lookup fails (SERVFAIL): temperror.",
			dns: "sel._domainkey.example.com TEMPERROR\n"},
		{name: "08-no-key", readme: "No record at the selector (NXDOMAIN): permerror.", dns: "other._domainkey.example.com " + record + "\n"},
		{name: "09-expired", readme: "x= is before the verification time: fails.",
			edit: func(f string) string {
				return strings.Replace(strings.Replace(f, "t=1799999000", "t=1700000000", 1), "s=sel", "s=sel; x=1700003600", 1)
			}},
		{name: "10-rsa-sha1", readme: "a=rsa-sha1 is refused by RFC 8301: policy, before any lookup.",
			edit: func(f string) string { return strings.Replace(f, "a=ed25519-sha256", "a=rsa-sha1", 1) }},
		{name: "11-added-subject", readme: "Subject is oversigned, so a second Subject added after signing breaks the signature: fails.",
			after: func(m string) string {
				return strings.Replace(m, "Subject: dinner\r\n", "Subject: dinner\r\nSubject: urgent\r\n", 1)
			}},
		{name: "12-body-changed", readme: "One word of the body changed after signing: body hash mismatch, fails.",
			after: func(m string) string { return strings.Replace(m, "hungry", "hangry", 1) }},
		{name: "13-too-many-signatures", readme: "Eleven copies of a good signature: the first ten are checked and pass, the eleventh is not checked (neutral).",
			after: func(m string) string {
				field := m[:strings.Index(m, "\r\nFrom:")+2]
				return strings.Repeat(field, 10) + m
			}},
	}
	for _, c := range cases {
		base := filepath.Join("testdata/verify", c.name)
		msg := signCase(t, key, c.edit) + caseMessage
		if c.after != nil {
			msg = c.after(msg)
		}
		dns := c.dns
		if dns == "" {
			dns = keyDNS
		}
		for ext, text := range map[string]string{".msg": msg, ".dns": dns, ".readme": c.readme + "\n"} {
			if err := os.WriteFile(base+ext, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// signCase signs caseMessage at a fixed time with the field edited first.
func signCase(t *testing.T, key ed25519.PrivateKey, edit func(string) string) string {
	s := &Signer{Domain: "example.com", Selector: "sel", Key: key, Now: func() time.Time { return time.Unix(1799999000, 0) }}
	field, err := s.Sign(strings.NewReader(caseMessage))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return field
	}
	unsigned, _ := StripSignatureValue([]byte(field))
	text := edit(strings.TrimSuffix(string(unsigned), "\r\n"))
	h, _ := ReadHeader(bufioReader(caseMessage), 0)
	sig, err := ParseSignature(text[len("DKIM-Signature:"):] + "AAAA")
	if err != nil {
		return text + "AAAA\r\n" // unparseable on purpose
	}
	digest := HeaderHash(sig.Algorithm.Hash().New(), sig.HeaderCanon, h.SelectFields(sig.Headers), []byte(text))
	b, err := SignHash(key, Ed25519SHA256, digest)
	if err != nil {
		t.Fatal(err)
	}
	return text + foldBase64(b64(b)) + "\r\n"
}
