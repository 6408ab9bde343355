package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

const testMessage = "From: Alice <alice@example.org>\r\n" +
	"To: bob@example.net\r\n" +
	"Subject: Hello  there\r\n" +
	"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"\r\n" +
	"Hi Bob,\r\n\tthis  line has tabs \r\n\r\n\r\n"

func testKeys(t testing.TB) (ed25519.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return edKey, rsaKey
}

func publish(t testing.TB, dns *dnsfake.TXT, s *Signer) {
	t.Helper()
	txt, err := KeyRecordText(s.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	dns.Add(KeyName(s.Selector, s.Domain), txt)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	edKey, rsaKey := testKeys(t)
	dns := dnsfake.NewTXT()
	for _, canon := range [][2]Canon{{Relaxed, Relaxed}, {Simple, Simple}, {Relaxed, Simple}, {Simple, Relaxed}} {
		for name, key := range map[string]crypto.Signer{"ed25519": edKey, "rsa": rsaKey} {
			t.Run(name+"-"+string(canon[0])+"-"+string(canon[1]), func(t *testing.T) {
				s := &Signer{Domain: "example.org", Selector: name, Key: key, HeaderCanon: canon[0], BodyCanon: canon[1]}
				publish(t, dns, s)
				field, err := s.Sign(strings.NewReader(testMessage))
				if err != nil {
					t.Fatal(err)
				}
				for line := range strings.SplitSeq(strings.TrimSuffix(field, "\r\n"), "\r\n") {
					if len(line) > maxLine {
						t.Errorf("line of %d characters: %q", len(line), line)
					}
				}
				res := verifyBytes(t, dns, field+testMessage)
				if len(res) != 1 || res[0].Status != StatusPass {
					t.Fatalf("got %v\n%s", res, field)
				}
				// A field added later breaks the signature (oversigning).
				res = verifyBytes(t, dns, field+testMessage[:len("From: Alice <alice@example.org>\r\n")]+"Subject: other\r\n"+testMessage[len("From: Alice <alice@example.org>\r\n"):])
				if res[0].Status != StatusFail {
					t.Errorf("added Subject: got %v", res[0])
				}
			})
		}
	}
}

func TestSignAllOnePass(t *testing.T) {
	edKey, rsaKey := testKeys(t)
	dns := dnsfake.NewTXT()
	signers := []*Signer{
		{Domain: "example.org", Selector: "ed", Key: edKey},
		{Domain: "example.org", Selector: "rsa", Key: rsaKey, BodyCanon: Simple},
	}
	for _, s := range signers {
		publish(t, dns, s)
	}
	fields, err := SignAll(strings.NewReader(testMessage), signers)
	if err != nil {
		t.Fatal(err)
	}
	res := verifyBytes(t, dns, fields[0]+fields[1]+testMessage)
	if got := statuses(res); !slices.Equal(got, []Status{StatusPass, StatusPass}) {
		t.Fatalf("got %v", res)
	}
	if res[0].Algorithm != Ed25519SHA256 || res[1].Algorithm != RSASHA256 {
		t.Errorf("algorithms %s, %s", res[0].Algorithm, res[1].Algorithm)
	}
}

func TestHeaderListOversigns(t *testing.T) {
	h, err := ReadHeader(bufioReader("From: a@example.org\r\nTo: x\r\nTo: y\r\n\r\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &Signer{Headers: []string{"To", "Subject", "from"}}
	got := s.headerList(h)
	want := []string{"From", "From", "To", "To", "To", "Subject"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSignRefuses(t *testing.T) {
	edKey, _ := testKeys(t)
	for name, tc := range map[string]struct {
		s   Signer
		msg string
	}{
		"bad domain":      {Signer{Domain: "-x", Selector: "s", Key: edKey}, testMessage},
		"no key":          {Signer{Domain: "example.org", Selector: "s"}, testMessage},
		"no From":         {Signer{Domain: "example.org", Selector: "s", Key: edKey}, "To: x\r\n\r\nbody\r\n"},
		"two From":        {Signer{Domain: "example.org", Selector: "s", Key: edKey}, "From: x\r\nFrom: y\r\n\r\nbody\r\n"},
		"identity":        {Signer{Domain: "example.org", Selector: "s", Key: edKey, Identity: "@other.org"}, testMessage},
		"identity with ;": {Signer{Domain: "example.org", Selector: "s", Key: edKey, Identity: "a;x=1@example.org"}, testMessage},
		"identity no @":   {Signer{Domain: "example.org", Selector: "s", Key: edKey, Identity: "example.org"}, testMessage},
		"header name":     {Signer{Domain: "example.org", Selector: "s", Key: edKey, Headers: []string{"Sub ject"}}, testMessage},
		"bad canon":       {Signer{Domain: "example.org", Selector: "s", Key: edKey, BodyCanon: "loose"}, testMessage},
		"bad selector":    {Signer{Domain: "example.org", Selector: "a b", Key: edKey}, testMessage},
	} {
		if _, err := tc.s.Sign(strings.NewReader(tc.msg)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestExpiration(t *testing.T) {
	edKey, _ := testKeys(t)
	dns := dnsfake.NewTXT()
	signed := time.Unix(1_800_000_000, 0)
	s := &Signer{Domain: "example.org", Selector: "ed", Key: edKey, Expiration: time.Hour, Now: func() time.Time { return signed }}
	publish(t, dns, s)
	field, err := s.Sign(strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want Status
	}{{signed.Add(time.Minute), StatusPass}, {signed.Add(2 * time.Hour), StatusFail}} {
		v := &Verifier{Resolver: dns, Now: func() time.Time { return tc.at }}
		res, err := v.Verify(t.Context(), strings.NewReader(field+testMessage))
		if err != nil || res[0].Status != tc.want {
			t.Errorf("at %v: got %v, %v; want %s", tc.at, res, err, tc.want)
		}
	}
}

// TestDefaultHeaders checks what headerList relies on to skip its
// duplicate check for the default names: they are distinct, ignoring
// case, and plain ASCII field names.
func TestDefaultHeaders(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range defaultHeaders {
		l := strings.ToLower(n)
		if seen[l] || !isASCII(n) || !validFieldName(n) {
			t.Errorf("default header %q repeats a name or is not a plain field name", n)
		}
		seen[l] = true
	}
}
