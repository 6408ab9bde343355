package dnsx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// countingResolver counts the lookups a Stub forwards.
type countingResolver struct {
	Resolver
	calls atomic.Int32
}

func (c *countingResolver) LookupMX(ctx context.Context, name string) ([]MX, Result, error) {
	c.calls.Add(1)
	return c.Resolver.LookupMX(ctx, name)
}

func (c *countingResolver) LookupTXT(ctx context.Context, name string) ([]string, Result, error) {
	c.calls.Add(1)
	return c.Resolver.LookupTXT(ctx, name)
}

func newDevStub(t *testing.T, upstream Resolver) *Stub {
	t.Helper()
	z, err := DevZone("example.test", "mail.example.test")
	if err != nil {
		t.Fatal(err)
	}
	err = z.Add(`
example.test.                  TXT   "v=spf1 mx -all"
sel._domainkey.example.test.   TXT   "v=DKIM1; k=ed25519; p=AAAA"
www.example.test.              CNAME mail.example.test.
away.example.test.             CNAME mx.secure.test.
1.0.0.127.in-addr.arpa.        PTR   mail.example.test.
_25._tcp.mail.example.test.    TLSA  3 1 1 ` + testTLSA)
	if err == nil {
		t.Fatal("adding a record outside the zone's domains succeeded")
	}
	if err := z.AddDomain("0.0.127.in-addr.arpa"); err != nil {
		t.Fatal(err)
	}
	if err := z.Add(`
example.test.                  TXT   "v=spf1 mx -all"
sel._domainkey.example.test.   TXT   "v=DKIM1; k=ed25519; p=AAAA"
www.example.test.              CNAME mail.example.test.
away.example.test.             CNAME mx.secure.test.
1.0.0.127.in-addr.arpa.        PTR   mail.example.test.
_25._tcp.mail.example.test.    TLSA  3 1 1 ` + testTLSA + `
_imaps._tcp.example.test.      SRV   0 1 993 mail.example.test.
_imap._tcp.example.test.       CNAME _imaps._tcp.secure.test.`); err != nil {
		t.Fatal(err)
	}
	return NewStub(z, upstream)
}

func TestStubWithUpstream(t *testing.T) {
	srv := dnstest.Start(t, testZone)
	up := &countingResolver{Resolver: newTestClient(t, srv.Addr(), ClientConfig{})}
	s := newDevStub(t, up)
	tlsa := fmt.Sprintf("[{3 1 1 %v}]", mustHex(testTLSA))
	runLookupCases(t, s, []lookupCase{
		{"own mx", mxOf("example.test"), "[{mail.example.test. 10}]", "ok", false},
		{"own mx nodata", mxOf("mail.example.test"), "[]", "ok", false},
		{"own nxdomain not forwarded", mxOf("nope.example.test"), "[]", "notfound", false},
		{"own empty non-terminal", txtOf("_domainkey.example.test"), "[]", "ok", false},
		{"own txt", txtOf("sel._domainkey.example.test."), "[v=DKIM1; k=ed25519; p=AAAA]", "ok", false},
		{"own ip", ipOf("mail.example.test"), "[127.0.0.1 ::1]", "ok", false},
		{"own ip through cname", ipOf("WWW.example.test"), "[127.0.0.1 ::1]", "ok", false},
		{"own ip nxdomain", ipOf("nope.example.test"), "[]", "notfound", false},
		{"own a", aOf("mail.example.test"), "[127.0.0.1]", "ok", false},
		{"own a nxdomain", aOf("nope.example.test"), "[]", "notfound", false},
		{"a through a cname leaving the zone", aOf("away.example.test"), "[192.0.2.10]", "ok", true},
		{"own ptr", ptrOf("127.0.0.1"), "[mail.example.test.]", "ok", false},
		{"own tlsa", tlsaOf(25, "mail.example.test"), tlsa, "ok", false},
		{"own cname", cnameOf("www.example.test"), "mail.example.test.", "ok", false},
		{"own srv", srvOf("_imaps._tcp.example.test"), "[{mail.example.test. 993 0 1}]", "ok", false},
		{"own srv nodata", srvOf("example.test"), "[]", "ok", false},
		{"own srv nxdomain", srvOf("_pop3s._tcp.example.test"), "[]", "notfound", false},
		{"srv cname leaving the zone", srvOf("_imap._tcp.example.test"), "[{mx.secure.test. 993 0 1}]", "ok", true},
		{"forwarded srv", srvOf("_imaps._tcp.secure.test"), "[{mx.secure.test. 993 0 1}]", "ok", true},
		{"forwarded srv nxdomain", srvOf("_imaps._tcp.nope.secure.test"), "[]", "notfound", true},
		{"cname leaving the zone", ipOf("away.example.test"), "[192.0.2.10]", "ok", true},
		{"forwarded mx", mxOf("secure.test"), "[{mx.secure.test. 10}]", "ok", true},
		{"forwarded nxdomain", mxOf("nope.secure.test"), "[]", "notfound", true},
		{"forwarded servfail", mxOf("fail.secure.test"), "[]", "temporary", false},
		{"forwarded ptr", ptrOf("192.0.2.1"), "[mx1.example.test.]", "ok", false},
		{"forwarded tlsa", tlsaOf(25, "mx.secure.test"), tlsa, "ok", true},
		{"forwarded cname", cnameOf("out.secure.test"), "mx1.example.test.", "ok", false},
	})
	if n := up.calls.Load(); n != 3 {
		t.Errorf("upstream LookupMX/LookupTXT called %d times, want 3", n)
	}
}

func TestStubWithoutUpstream(t *testing.T) {
	s := newDevStub(t, nil)
	runLookupCases(t, s, []lookupCase{
		{"own mx", mxOf("example.test"), "[{mail.example.test. 10}]", "ok", false},
		{"outside mx", mxOf("gmail.com"), "[]", "notfound", false},
		{"outside txt", txtOf("_dmarc.gmail.com"), "[]", "notfound", false},
		{"outside ip", ipOf("gmail.com"), "[]", "notfound", false},
		{"cname leaving the zone", ipOf("away.example.test"), "[]", "notfound", false},
		{"outside ptr", ptrOf("192.0.2.1"), "[]", "notfound", false},
		{"outside tlsa", tlsaOf(25, "mx.gmail.com"), "[]", "notfound", false},
		{"outside cname", cnameOf("gmail.com"), "", "notfound", false},
		{"outside srv", srvOf("_imaps._tcp.gmail.com"), "[]", "notfound", false},
		{"srv cname leaving the zone", srvOf("_imap._tcp.example.test"), "[]", "notfound", false},
		{"own srv", srvOf("_imaps._tcp.example.test"), "[{mail.example.test. 993 0 1}]", "ok", false},
		{"invalid", mxOf(""), "[]", "invalid", false},
	})
}

func TestStubEmptyZone(t *testing.T) {
	s := NewStub(nil, nil)
	_, _, err := s.LookupIP(t.Context(), "localhost")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if err := s.Zone().AddDomain("local.test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Zone().Add("a.local.test. A 192.0.2.5"); err != nil {
		t.Fatal(err)
	}
	addrs, _, err := s.LookupIP(t.Context(), "a.local.test")
	if err != nil || len(addrs) != 1 || addrs[0] != netip.MustParseAddr("192.0.2.5") {
		t.Fatalf("got %v, %v", addrs, err)
	}
}

func TestZoneAddRejects(t *testing.T) {
	z := NewZone()
	if err := z.AddDomain("example.test"); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		"example.test. MX", // no rdata
		"example.test. A 192.0.2.1\nother.test. A 192.0.2.2", // second record outside
		"$INCLUDE /etc/passwd",
	} {
		if err := z.Add(text); err == nil {
			t.Errorf("Add(%q) succeeded", text)
		}
	}
	if len(z.records) != 0 {
		t.Errorf("failed Adds left records: %v", z.records)
	}
	if err := z.AddDomain("a..b"); err == nil {
		t.Error("AddDomain accepted an invalid name")
	}
}

func TestZoneCNAMELoop(t *testing.T) {
	z := NewZone()
	if err := z.AddDomain("example.test"); err != nil {
		t.Fatal(err)
	}
	if err := z.Add("a.example.test. CNAME b.example.test.\nb.example.test. CNAME a.example.test."); err != nil {
		t.Fatal(err)
	}
	s := NewStub(z, nil)
	if _, _, err := s.LookupIP(t.Context(), "a.example.test"); !errors.Is(err, ErrTemporary) {
		t.Errorf("LookupIP: err = %v, want ErrTemporary", err)
	}
	if _, _, err := s.LookupCNAME(t.Context(), "a.example.test"); !errors.Is(err, ErrTemporary) {
		t.Errorf("LookupCNAME: err = %v, want ErrTemporary", err)
	}
}

// TestStubMemo: answers from the zone are remembered, shared and cost no
// allocation, but a change to the zone is seen at once, and the memo is
// bounded.
func TestStubMemo(t *testing.T) {
	ctx := t.Context()
	s := NewStub(nil, nil)
	if err := s.Zone().AddDomain("local.test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LookupTXT(ctx, "a.local.test"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before Add: %v, want ErrNotFound", err)
	}
	if _, _, err := s.LookupTXT(ctx, "A.local.test"); err == nil || !strings.HasSuffix(err.Error(), " A.local.test.") {
		t.Fatalf("other spelling: %v, want ErrNotFound naming A.local.test.", err)
	}
	if err := s.Zone().Add("a.local.test. TXT \"one\"\na.local.test. TXT \"two\""); err != nil {
		t.Fatal(err)
	}
	first, _, err := s.LookupTXT(ctx, "a.local.test")
	if err != nil || len(first) != 2 || cap(first) != 2 {
		t.Fatalf("after Add: %q (cap %d), %v", first, cap(first), err)
	}
	again, _, _ := s.LookupTXT(ctx, "a.local.test")
	if &again[0] != &first[0] {
		t.Error("the second lookup did not return the remembered slice")
	}
	if addrs, _, err := s.LookupIP(ctx, "a.local.test"); err != nil || len(addrs) != 0 {
		t.Fatalf("A before Add: %v, %v", addrs, err)
	}
	if err := s.Zone().Add("a.local.test. AAAA 2001:db8::5"); err != nil {
		t.Fatal(err)
	}
	if addrs, _, err := s.LookupIP(ctx, "a.local.test"); err != nil || len(addrs) != 1 {
		t.Fatalf("AAAA after Add: %v, %v", addrs, err)
	}
	if !raceEnabled {
		if n := testing.AllocsPerRun(100, func() { s.LookupTXT(ctx, "a.local.test") }); n != 0 {
			t.Errorf("a remembered TXT lookup allocates %v times", n)
		}
	}
	for i := range maxMemo + 10 {
		s.LookupTXT(ctx, fmt.Sprintf("n%d.local.test", i))
	}
	if n := len(s.Zone().memo); n > maxMemo {
		t.Errorf("memo holds %d answers, bound is %d", n, maxMemo)
	}
}
