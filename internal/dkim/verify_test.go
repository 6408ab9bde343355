package dkim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// signedWith signs testMessage with s after applying edit to the unsigned
// field text (which is re-signed, so only the edit's meaning is tested).
func resign(t *testing.T, s *Signer, edit func(string) string) string {
	t.Helper()
	h, err := ReadHeader(bufioReader(testMessage), 0)
	if err != nil {
		t.Fatal(err)
	}
	field, err := s.Sign(strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return field + testMessage
	}
	unsigned, _ := StripSignatureValue([]byte(field))
	text := edit(strings.TrimSuffix(string(unsigned), "\r\n"))
	sig, err := ParseSignature(text[len("DKIM-Signature:"):] + "AAAA")
	if err != nil {
		// The edit made it unparseable: keep it with a dummy b=.
		return text + "AAAA\r\n" + testMessage
	}
	alg := sig.Algorithm
	if alg.KeyType() == "" || alg == RSASHA1 {
		alg = RSASHA256
	}
	digest := HeaderHash(alg.Hash().New(), sig.HeaderCanon, h.SelectFields(sig.Headers), []byte(text))
	b, err := SignHash(s.Key, alg, digest)
	if err != nil {
		t.Fatal(err)
	}
	return text + foldBase64(b64(b)) + "\r\n" + testMessage
}

func TestVerifyCases(t *testing.T) {
	edKey, rsaKey := testKeys(t)
	// Go refuses to make RSA keys under 1024 bits; a key record only needs
	// the public half, and the check comes before any signature math.
	modulus, err := rand.Prime(rand.Reader, 768)
	if err != nil {
		t.Fatal(err)
	}
	shortKey := &rsa.PublicKey{N: modulus, E: 65537}
	ed := &Signer{Domain: "example.org", Selector: "ed", Key: edKey}
	rs := &Signer{Domain: "example.org", Selector: "rsa", Key: rsaKey}
	edText, _ := KeyRecordText(edKey.Public())
	rsaText, _ := KeyRecordText(rsaKey.Public())
	shortText, err := KeyRecordText(shortKey)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, old) {
				t.Fatalf("%q not in %q", old, s)
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	cases := []struct {
		name   string
		signer *Signer
		edit   func(string) string
		key    string // TXT at the selector; "" = none, "SERVFAIL" = temporary error
		want   Status
		reason string
	}{
		{"ed25519 pass", ed, nil, edText, StatusPass, "verified"},
		{"rsa pass", rs, nil, rsaText, StatusPass, "verified"},
		{"no key", ed, nil, "", StatusPermError, "no key"},
		{"dns failure", ed, nil, "SERVFAIL", StatusTempError, "temporary"},
		{"revoked", ed, nil, "v=DKIM1; k=ed25519; p=", StatusPermError, "revoked"},
		{"key type mismatch", ed, nil, rsaText, StatusPermError, "key type rsa"},
		{"key h= excludes sha256", rs, nil, strings.Replace(rsaText, "k=rsa", "k=rsa; h=sha1", 1), StatusPermError, "h="},
		{"key not for email", rs, nil, strings.Replace(rsaText, "k=rsa", "k=rsa; s=tlsrpt", 1), StatusPermError, "not for email"},
		{"testing key", ed, nil, edText + "; t=y", StatusPass, ""},
		{"strict key, i= subdomain", &Signer{Domain: "example.org", Selector: "ed", Key: edKey, Identity: "@sub.example.org"}, nil, edText + "; t=s", StatusPermError, "t=s"},
		{"strict key, i= exact", &Signer{Domain: "example.org", Selector: "ed", Key: edKey, Identity: "alice@example.org"}, nil, edText + "; t=s", StatusPass, ""},
		{"short rsa key", rs, nil, shortText, StatusPolicy, "too short"},
		{"rsa-sha1", rs, replace("a=rsa-sha256", "a=rsa-sha1"), rsaText, StatusPolicy, "rsa-sha1"},
		{"unknown algorithm", rs, replace("a=rsa-sha256", "a=rsa-sha512"), rsaText, StatusPermError, "unknown algorithm"},
		{"h= without From", ed, replace("h=From:From:", "h="), edText, StatusPermError, "From"},
		{"v=2", ed, replace("v=1", "v=2"), edText, StatusPermError, "version"},
		{"missing bh", ed, func(s string) string { return strings.Replace(s, "bh=", "xh=", 1) }, edText, StatusPermError, "bh"},
		{"bad domain", ed, replace("d=example.org", "d=exa_mple.org"), edText, StatusPermError, "domain"},
		{"i= outside d=", ed, replace("s=ed", "s=ed; i=@evil.example"), edText, StatusPermError, "i="},
		{"x before t", ed, replace("s=ed", "s=ed; x=1"), edText, StatusPermError, "x="},
		{"expired", ed, func(s string) string {
			return replace("s=ed", "s=ed; x=1000000000")(replace("t=", "t=999999999; z=")(s))
		}, edText, StatusFail, "expired"},
		{"q= other", ed, replace("s=ed", "s=ed; q=https"), edText, StatusPermError, "q="},
		{"l= covers part", ed, func(s string) string { return replace("s=ed", "s=ed; l=5")(s) }, edText, StatusFail, "body hash"},
		{"duplicate tag", ed, replace("s=ed", "s=ed; s=ed"), edText, StatusPermError, "twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dns := dnsfake.NewTXT()
			name := KeyName(tc.signer.Selector, tc.signer.Domain)
			switch tc.key {
			case "":
			case "SERVFAIL":
				dns.Fail(name)
			default:
				dns.Add(name, tc.key)
			}
			res := verifyBytes(t, dns, resign(t, tc.signer, tc.edit))
			if len(res) != 1 || res[0].Status != tc.want || !strings.Contains(res[0].Reason, tc.reason) {
				t.Fatalf("got %v, want %s (%s)", res, tc.want, tc.reason)
			}
			if tc.name == "testing key" && !res[0].Testing {
				t.Error("Testing not set")
			}
		})
	}
}

// TestVerifyLength signs a message with l= covering its body, then appends
// text: the signature still passes and the result counts the unsigned bytes.
func TestVerifyLength(t *testing.T) {
	edKey, _ := testKeys(t)
	s := &Signer{Domain: "example.org", Selector: "ed", Key: edKey}
	dns := dnsfake.NewTXT()
	publish(t, dns, s)
	body := testMessage[strings.Index(testMessage, "\r\n\r\n")+4:]
	const appended = "Appended by someone else.\r\n"
	n := int64(len(canonBody(t, Relaxed, body, nil)))
	// The empty lines at the end of the signed body count again once
	// something follows them.
	unsigned := int64(len(canonBody(t, Relaxed, body+appended, nil))) - n
	msg := resign(t, s, func(f string) string { return strings.Replace(f, "s=ed", fmt.Sprintf("s=ed; l=%d", n), 1) })
	res := verifyBytes(t, dns, msg+appended)
	if res[0].Status != StatusPass || res[0].BodyLength != n || res[0].UnsignedBodyBytes != unsigned || unsigned < int64(len(appended)) {
		t.Fatalf("got %+v", res[0])
	}
	if !strings.Contains(res[0].Reason, "unsigned") {
		t.Errorf("reason %q does not mention the unsigned part", res[0].Reason)
	}
}

func TestVerifyBoundsSignatures(t *testing.T) {
	edKey, _ := testKeys(t)
	s := &Signer{Domain: "example.org", Selector: "ed", Key: edKey}
	dns := dnsfake.NewTXT()
	publish(t, dns, s)
	field, err := s.Sign(strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Resolver: dns, MaxSignatures: 3}
	res, err := v.Verify(t.Context(), strings.NewReader(strings.Repeat(field, 5)+testMessage))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(statuses(res))
	if got != "[pass pass pass neutral neutral]" {
		t.Errorf("got %s", got)
	}
}

func TestVerifyUnsigned(t *testing.T) {
	res := verifyBytes(t, dnsfake.NewTXT(), testMessage)
	if len(res) != 0 {
		t.Errorf("got %v", res)
	}
}

// TestVerifyDNSTest runs key lookups through a real resolver on loopback:
// NXDOMAIN, SERVFAIL, and a key split over several TXT strings.
func TestVerifyDNSTest(t *testing.T) {
	edKey, rsaKey := testKeys(t)
	rsaText, _ := KeyRecordText(rsaKey.Public())
	edText, _ := KeyRecordText(edKey.Public())
	var split []string
	for s := rsaText; len(s) > 0; s = s[min(len(s), 200):] {
		split = append(split, fmt.Sprintf("%q", s[:min(len(s), 200)]))
	}
	srv := dnstest.Start(t, fmt.Sprintf(`
rsa._domainkey.example.org. TXT %s
ed._domainkey.example.org. TXT %q
$SERVFAIL broken._domainkey.example.org.
`, strings.Join(split, " "), edText))
	client := newDNSClient(t, srv.Addr())
	for selector, want := range map[string]Status{"rsa": StatusPass, "ed": StatusPass, "broken": StatusTempError, "gone": StatusPermError} {
		key := crypto2(edKey, rsaKey, selector)
		s := &Signer{Domain: "example.org", Selector: selector, Key: key}
		field, err := s.Sign(strings.NewReader(testMessage))
		if err != nil {
			t.Fatal(err)
		}
		res := verifyBytes(t, client, field+testMessage)
		if res[0].Status != want {
			t.Errorf("%s: got %v, want %s", selector, res[0], want)
		}
	}
}

// TestVerifyStreamsBody verifies a 4 MiB message and checks that the
// memory allocated stays far below the message size: the body goes through
// the hashes as it is read, never held.
func TestVerifyStreamsBody(t *testing.T) {
	edKey, _ := testKeys(t)
	s := &Signer{Domain: "example.org", Selector: "ed", Key: edKey}
	dns := dnsfake.NewTXT()
	publish(t, dns, s)
	msg := benchMessage(4 << 20)
	field, err := s.Sign(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Resolver: dns}
	// A reader without WriteTo, like a network connection.
	r := io.MultiReader(strings.NewReader(field), bytes.NewReader(msg))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := v.Verify(t.Context(), r)
	runtime.ReadMemStats(&after)
	if err != nil || len(res) != 1 || res[0].Status != StatusPass {
		t.Fatalf("got %v, %v", res, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<10 {
		t.Errorf("verifying a 4 MiB message allocated %d bytes", alloc)
	}
}

// signalDNS closes started when the first lookup begins.
type signalDNS struct {
	*dnsfake.TXT
	once    sync.Once
	started chan struct{}
}

func (s *signalDNS) LookupTXT(ctx context.Context, name string) ([]string, dnsx.Result, error) {
	s.once.Do(func() { close(s.started) })
	return s.TXT.LookupTXT(ctx, name)
}

// waitingReader gives its data only once the key lookup has started.
type waitingReader struct {
	r       io.Reader
	started chan struct{}
}

func (w *waitingReader) Read(p []byte) (int, error) {
	select {
	case <-w.started:
		return w.r.Read(p)
	case <-time.After(5 * time.Second):
		return 0, errors.New("key lookup did not start while the body was read")
	}
}

// TestVerifyLooksUpWhileHashing: the key lookup runs while the body is
// still being read, so DNS latency and hashing overlap.
func TestVerifyLooksUpWhileHashing(t *testing.T) {
	edKey, _ := testKeys(t)
	s := &Signer{Domain: "example.org", Selector: "ed", Key: edKey}
	dns := &signalDNS{TXT: dnsfake.NewTXT(), started: make(chan struct{})}
	publish(t, dns.TXT, s)
	field, err := s.Sign(strings.NewReader(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	split := strings.Index(testMessage, "\r\n\r\n") + 4
	msg := io.MultiReader(strings.NewReader(field+testMessage[:split]),
		&waitingReader{r: strings.NewReader(testMessage[split:]), started: dns.started})
	v := &Verifier{Resolver: dns}
	res, err := v.Verify(t.Context(), msg)
	if err != nil || len(res) != 1 || res[0].Status != StatusPass {
		t.Fatalf("got %v, %v", res, err)
	}
}
