package arc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey returns a 2048-bit key shared by the tests of this package.
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func testEd25519Key() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte("sealpost arc test key seed 32 b!"))
}

// hop is one forwarder: its sealer and the key record it publishes.
type hop struct {
	sealer *Sealer
	authID string
}

func newHop(t testing.TB, dns *dnsfake.TXT, domain string, key crypto.Signer) hop {
	t.Helper()
	rec, err := dkim.KeyRecordText(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	dns.Add(dkim.KeyName("arc", domain), rec)
	now := time.Unix(1_700_000_000, 0)
	return hop{
		sealer: &Sealer{Domain: domain, Selector: "arc", Key: key, Now: func() time.Time { return now }},
		authID: "mx." + domain,
	}
}

const testMessage = "From: Alice <alice@example.org>\r\n" +
	"To: list@lists.example.net\r\n" +
	"Subject: ARC test\r\n" +
	"Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n" +
	"Message-ID: <arc-test@example.org>\r\n" +
	"\r\n" +
	"Hello,\r\nthis is the body.\r\n"

// forward validates msg as hop h receives it, then seals it, after
// changing the body with edit when edit is not nil.
func forward(t testing.TB, dns *dnsfake.TXT, h hop, msg string, edit func(string) string) string {
	t.Helper()
	v := &Validator{Resolver: dns}
	chain, err := v.Validate(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		msg = edit(msg)
	}
	results := fmt.Sprintf("spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org; %s", chain.AuthResult(""))
	set, err := h.sealer.Seal(strings.NewReader(msg), h.authID, results, chain)
	if err != nil {
		t.Fatalf("Seal at %s: %v", h.sealer.Domain, err)
	}
	return set.String() + msg
}

func validate(t testing.TB, dns *dnsfake.TXT, msg string) *Result {
	t.Helper()
	res, err := (&Validator{Resolver: dns}).Validate(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func addFooter(msg string) string { return msg + "-- \r\nSent through the list\r\n" }

func TestChains(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key        func() crypto.Signer
		hops       int
		editAt     int // hop that changes the body before sealing (0: none)
		wantStatus Status
		wantOldest int
	}{
		{"rsa one hop", func() crypto.Signer { return testRSAKey(t) }, 1, 0, StatusPass, 0},
		{"rsa three hops", func() crypto.Signer { return testRSAKey(t) }, 3, 0, StatusPass, 0},
		{"ed25519 three hops", func() crypto.Signer { return testEd25519Key() }, 3, 0, StatusPass, 0},
		{"second hop adds a footer", func() crypto.Signer { return testEd25519Key() }, 3, 2, StatusPass, 2},
		{"third hop adds a footer", func() crypto.Signer { return testRSAKey(t) }, 3, 3, StatusPass, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dns := dnsfake.NewTXT()
			msg := testMessage
			for i := 1; i <= tc.hops; i++ {
				h := newHop(t, dns, fmt.Sprintf("fwd%d.example", i), tc.key())
				var edit func(string) string
				if i == tc.editAt {
					edit = addFooter
				}
				msg = forward(t, dns, h, msg, edit)
			}
			res := validate(t, dns, msg)
			if res.Status != tc.wantStatus || res.OldestPass != tc.wantOldest {
				t.Fatalf("status %s oldest-pass %d (%s), want %s %d", res.Status, res.OldestPass, res.Reason, tc.wantStatus, tc.wantOldest)
			}
			if res.Instances != tc.hops || len(res.Sets) != tc.hops {
				t.Fatalf("%d instances, %d sets, want %d", res.Instances, len(res.Sets), tc.hops)
			}
			for _, s := range res.Sets {
				if s.AS != StatusPass {
					t.Errorf("AS(%d) %s: %s", s.Instance, s.AS, s.ASReason)
				}
			}
			// A change after the last seal breaks the chain.
			if res := validate(t, dns, addFooter(msg)); res.Status != StatusFail {
				t.Errorf("changed body: %s (%s), want fail", res.Status, res.Reason)
			}
		})
	}
}

// TestBrokenChainSealedFail: a hop that receives a broken chain seals it
// with cv=fail over its own set, and the next hop does not seal again.
func TestBrokenChainSealedFail(t *testing.T) {
	dns := dnsfake.NewTXT()
	h1 := newHop(t, dns, "fwd1.example", testEd25519Key())
	h2 := newHop(t, dns, "fwd2.example", testEd25519Key())
	h3 := newHop(t, dns, "fwd3.example", testEd25519Key())
	msg := addFooter(forward(t, dns, h1, testMessage, nil)) // broken in transit
	msg = forward(t, dns, h2, msg, nil)
	res := validate(t, dns, msg)
	if res.Status != StatusFail || !strings.Contains(res.Reason, "cv=fail") {
		t.Fatalf("status %s (%s), want fail for cv=fail", res.Status, res.Reason)
	}
	chain := validate(t, dns, msg)
	_, err := h3.sealer.Seal(strings.NewReader(msg), h3.authID, "dmarc=pass", chain)
	if !errors.Is(err, ErrChainEnded) {
		t.Fatalf("sealing an ended chain: %v, want ErrChainEnded", err)
	}
}

func TestValidateFailures(t *testing.T) {
	dns := dnsfake.NewTXT()
	h1 := newHop(t, dns, "fwd1.example", testRSAKey(t))
	h2 := newHop(t, dns, "fwd2.example", testEd25519Key())
	two := forward(t, dns, h2, forward(t, dns, h1, testMessage, nil), nil)
	if res := validate(t, dns, two); res.Status != StatusPass {
		t.Fatalf("base chain: %s (%s)", res.Status, res.Reason)
	}
	for _, tc := range []struct {
		name   string
		edit   func(string) string
		status Status
		reason string
	}{
		{"no ARC fields", func(string) string { return testMessage }, StatusNone, "no ARC sets"},
		{"seal 1 removed", func(m string) string { return dropField(m, "ARC-Seal", "i=1;") }, StatusFail, "incomplete"},
		{"AAR 2 removed", func(m string) string { return dropField(m, "ARC-Authentication-Results", "i=2;") }, StatusFail, "incomplete"},
		{"AMS duplicated", func(m string) string { return fieldOf(m, "ARC-Message-Signature", "i=1;") + m }, StatusFail, "two ARC-Message-Signature"},
		{"AAR 1 changed", func(m string) string { return strings.Replace(m, "i=1; mx.fwd1.example;", "i=1; mx.fwd9.example;", 1) }, StatusFail, "ARC-Seal(2)"},
		{"subject changed", func(m string) string { return strings.Replace(m, "Subject: ARC test", "Subject: ARC test!", 1) }, StatusFail, "ARC-Message-Signature(2)"},
		{"instance 51", func(m string) string { return strings.ReplaceAll(m, "i=2;", "i=51;") }, StatusFail, "out of range"},
		{"gap", func(m string) string { return strings.ReplaceAll(m, "i=2;", "i=3;") }, StatusFail, "ARC set 2 is incomplete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := validate(t, dns, tc.edit(two))
			if res.Status != tc.status || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("%s (%s), want %s with %q", res.Status, res.Reason, tc.status, tc.reason)
			}
		})
	}
	t.Run("temporary DNS failure", func(t *testing.T) {
		dns.Fail(dkim.KeyName("arc", "fwd2.example"))
		defer dns.Recover(dkim.KeyName("arc", "fwd2.example"))
		res := validate(t, dns, two)
		if res.Status != StatusFail || !res.Temporary {
			t.Fatalf("%s temporary=%v (%s), want a temporary fail", res.Status, res.Temporary, res.Reason)
		}
	})
	t.Run("keys fetched once", func(t *testing.T) {
		before := dns.Queries()
		validate(t, dns, two)
		if n := dns.Queries() - before; n != 2 {
			t.Fatalf("%d key lookups for two sealers, want 2", n)
		}
	})
}

// fieldOf returns the first field named name whose value contains marker.
func fieldOf(msg, name, marker string) string {
	h, _ := dkim.ReadHeader(bufioReader(msg), 0)
	for _, f := range h {
		if strings.EqualFold(f.Name, name) && strings.Contains(f.Value(), marker) {
			return string(f.Raw)
		}
	}
	return ""
}

func dropField(msg, name, marker string) string {
	return strings.Replace(msg, fieldOf(msg, name, marker), "", 1)
}

func TestTrust(t *testing.T) {
	dns := dnsfake.NewTXT()
	h1 := newHop(t, dns, "lists.example.net", testEd25519Key())
	msg := forward(t, dns, h1, testMessage, addFooter)
	res := validate(t, dns, msg)
	for _, tc := range []struct {
		name     string
		res      *Result
		trusted  []string
		override bool
	}{
		{"trusted sealer, dmarc=pass", res, []string{"Lists.Example.NET."}, true},
		{"untrusted sealer", res, []string{"example.net"}, false},
		{"failed chain", &Result{Status: StatusFail}, []string{"lists.example.net"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := tc.res.Trust(tc.trusted)
			if tr.OverridesDMARC() != tc.override {
				t.Fatalf("%+v: override %v, want %v", tr, tr.OverridesDMARC(), tc.override)
			}
		})
	}
	// The forwarder saw DMARC fail: no override.
	set, err := h1.sealer.Seal(strings.NewReader(testMessage), h1.authID, "spf=fail; dmarc=fail header.from=example.org", &Result{Status: StatusNone})
	if err != nil {
		t.Fatal(err)
	}
	res = validate(t, dns, set.String()+testMessage)
	if tr := res.Trust([]string{"lists.example.net"}); !tr.Trusted || tr.DMARCPass || tr.OverridesDMARC() {
		t.Fatalf("dmarc=fail in AAR: %+v", tr)
	}
}

func TestAuthResult(t *testing.T) {
	for _, tc := range []struct {
		res  Result
		ip   string
		want string
	}{
		{Result{Status: StatusNone}, "", "arc=none"},
		{Result{Status: StatusPass, OldestPass: 2, Reason: "2 sets (ok)"}, "192.0.2.1", `arc=pass (2 sets \(ok\)) smtp.remote-ip=192.0.2.1 header.oldest-pass=2`},
		{Result{Status: StatusFail, Reason: "ARC-Seal(1): bad"}, "2001:db8::1", `arc=fail (ARC-Seal\(1\): bad) smtp.remote-ip=2001:db8::1`},
	} {
		if got := tc.res.AuthResult(tc.ip); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestSealErrors(t *testing.T) {
	dns := dnsfake.NewTXT()
	h := newHop(t, dns, "fwd.example", testEd25519Key())
	none := &Result{Status: StatusNone}
	if _, err := h.sealer.Seal(strings.NewReader(testMessage), "bad id", "", none); err == nil {
		t.Error("authserv-id with a space accepted")
	}
	if _, err := h.sealer.Seal(strings.NewReader(testMessage), h.authID, "", nil); err == nil {
		t.Error("nil chain accepted")
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	bad := &Sealer{Domain: "fwd.example", Selector: "arc", Key: ec}
	if _, err := bad.Seal(strings.NewReader(testMessage), h.authID, "", none); err == nil {
		t.Error("ECDSA key accepted")
	}
	// A message with ARC fields is not "none".
	msg := forward(t, dns, h, testMessage, nil)
	if _, err := h.sealer.Seal(strings.NewReader(msg), h.authID, "", none); err == nil {
		t.Error("status none accepted for a message with a chain")
	}
	// No result text: the AAR says none.
	set, err := h.sealer.Seal(strings.NewReader(testMessage), h.authID, "", none)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(set.AuthResults, "i=1; mx.fwd.example;\r\n\tnone\r\n") {
		t.Errorf("AAR without results: %q", set.AuthResults)
	}
}

// TestFiftySets: a chain of 50 sets validates, a 51st is refused.
func TestFiftySets(t *testing.T) {
	dns := dnsfake.NewTXT()
	h := newHop(t, dns, "fwd.example", testEd25519Key())
	msg := testMessage
	for range MaxInstances {
		msg = forward(t, dns, h, msg, nil)
	}
	res := validate(t, dns, msg)
	if res.Status != StatusPass || res.Instances != 50 {
		t.Fatalf("50 sets: %s (%s), %d instances", res.Status, res.Reason, res.Instances)
	}
	if _, err := h.sealer.Seal(strings.NewReader(msg), h.authID, "", res); !errors.Is(err, ErrTooManySets) {
		t.Fatalf("51st set: %v, want ErrTooManySets", err)
	}
}

// TestLengthTag: an AMS with l= verifies over the first l bytes of the
// canonical body; what follows is counted, and such a chain is not trusted
// to override DMARC.
func TestLengthTag(t *testing.T) {
	dns := dnsfake.NewTXT()
	h := newHop(t, dns, "fwd.example", testEd25519Key())
	body := "Hello,\r\nthis is the body.\r\n"
	const appended = "Click here!\r\n"
	build := func(length int) string {
		alg := dkim.Ed25519SHA256
		bh := sha256.Sum256([]byte(body))
		tags := []string{
			"bh=" + base64.StdEncoding.EncodeToString(bh[:]), "c=relaxed/relaxed", "d=fwd.example",
			"h=from:subject", "i=1", fmt.Sprintf("l=%d", length), "s=arc", "t=1",
		}
		hdr, err := dkim.ReadHeader(bufioReader(testMessage), 0)
		if err != nil {
			t.Fatal(err)
		}
		digest := dkim.HeaderHash(alg.Hash().New(), dkim.Relaxed, hdr.SelectFields([]string{"from", "subject"}), []byte(sigField(MessageSigField, alg, tags, "")))
		sig, err := dkim.SignHash(h.sealer.Key, alg, digest)
		if err != nil {
			t.Fatal(err)
		}
		ams := sigField(MessageSigField, alg, tags, base64.StdEncoding.EncodeToString(sig))
		aar := aarField(1, h.authID, "dmarc=pass")
		seal, err := h.sealer.seal([]arcSet{{aar: []byte(aar), ams: []byte(ams)}}, alg, 1, StatusNone)
		if err != nil {
			t.Fatal(err)
		}
		return seal + ams + aar + testMessage + appended
	}
	res := validate(t, dns, build(len(body)))
	if res.Status != StatusPass || res.Sets[0].UnsignedBodyBytes != int64(len(appended)) {
		t.Fatalf("l=%d: %s (%s), %d unsigned bytes", len(body), res.Status, res.Reason, res.Sets[0].UnsignedBodyBytes)
	}
	if tr := res.Trust([]string{"fwd.example"}); tr.Trusted || tr.OverridesDMARC() || tr.UnsignedBodyBytes != int64(len(appended)) {
		t.Fatalf("trust with unsigned bytes: %+v", tr)
	}
	res = validate(t, dns, build(10_000))
	if res.Status != StatusFail || !strings.Contains(res.Reason, "longer than the body") {
		t.Fatalf("l= past the end: %s (%s)", res.Status, res.Reason)
	}
}
