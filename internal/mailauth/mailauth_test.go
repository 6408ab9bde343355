package mailauth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/reports"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// The DNS world of the tests. example.com's key signed the messages in
// testdata (made with package dkim's test key); the other domains only
// publish SPF and DMARC.
const zone = `
sel._domainkey.example.com. TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
example.com. TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc.example.com. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
quar.example. TXT "v=spf1 -all"
_dmarc.quar.example. TXT "v=DMARC1; p=quarantine"
lists.example. TXT "v=spf1 ip4:192.0.2.20 -all"
elsewhere.example. TXT "v=spf1 -all"
$TIMEOUT _dmarc.slow.example.
forwarder.example. TXT "v=spf1 ip4:192.0.2.30 -all"
`

const ourID = "mx.sealpost.test"

func testChecker(t *testing.T) *Checker {
	t.Helper()
	srv := dnstest.Start(t, zone)
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{Resolver: client, AuthservID: ourID, Enforce: true, Exempt: []string{"lists.example"},
		Timeout: 2 * time.Second, Sample: func() int { return 0 }}
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCheck(t *testing.T) {
	signed := testdata(t, "signed.msg")
	appended := testdata(t, "length-appended.msg")
	plain := func(from string) string {
		return "From: Boss <" + from + ">\r\nTo: ann@example.org\r\nSubject: pay this\r\n\r\nNow.\r\n"
	}
	tests := []struct {
		name     string
		ip       string
		mailFrom string
		msg      string
		account  int64
		enforce  bool
		action   delivery.Action
		folder   string
		want     []string // in the Authentication-Results field
		drop     []int
	}{
		{name: "aligned SPF and DKIM", ip: "192.0.2.10", mailFrom: "joe@example.com", msg: signed, enforce: true,
			want: []string{"spf=pass", "smtp.mailfrom=joe@example.com", "smtp.helo=mta.elsewhere.example", "arc=none", "dkim=pass", "header.d=example.com", "dmarc=pass", "header.from=example.com"}},
		{name: "DKIM alone from elsewhere", ip: "198.51.100.7", mailFrom: "bounce@elsewhere.example", msg: signed, enforce: true,
			want: []string{"spf=fail", "dkim=pass", "dmarc=pass"}},
		{name: "spoofed p=reject", ip: "198.51.100.7", mailFrom: "x@elsewhere.example", msg: plain("ceo@example.com"), enforce: true,
			action: delivery.Reject, want: []string{"dkim=none", "dmarc=fail"}},
		{name: "spoofed p=quarantine", ip: "198.51.100.7", mailFrom: "x@quar.example", msg: plain("ceo@quar.example"), enforce: true,
			folder: `\Junk`, want: []string{"spf=fail", "dmarc=fail", "policy.dmarc=quarantine"}},
		{name: "not enforced", ip: "198.51.100.7", mailFrom: "x@elsewhere.example", msg: plain("ceo@example.com"), enforce: false,
			want: []string{"dmarc=fail"}},
		{name: "exempt mailing list", ip: "192.0.2.20", mailFrom: "bounce@lists.example", msg: plain("ceo@example.com"), enforce: true,
			want: []string{"spf=pass", "dmarc=fail", "policy.dmarc=none", "exempt by local policy: lists.example"}},
		{name: "l= with text appended", ip: "198.51.100.7", mailFrom: "x@elsewhere.example", msg: appended, enforce: true,
			action: delivery.Reject, want: []string{"dkim=pass", "34 body bytes unsigned", "dmarc=fail"}},
		{name: "DMARC lookup times out", ip: "198.51.100.7", mailFrom: "x@elsewhere.example", msg: plain("ceo@slow.example"), enforce: true,
			want: []string{"dmarc=temperror"}},
		{name: "forged results removed", ip: "192.0.2.10", mailFrom: "joe@example.com",
			msg:     "Received: from x\r\nAuthentication-Results: " + ourID + "; dmarc=pass\r\nAuthentication-Results: other.example; spf=pass\r\n" + signed,
			enforce: true, drop: []int{1}, want: []string{"dmarc=pass"}},
		{name: "folded From", ip: "198.51.100.7", mailFrom: "x@elsewhere.example", enforce: true,
			msg:    "From: \"The\r\n Boss\" <ceo@\r\n example.com>\r\nSubject: x\r\n\r\nNow.\r\n",
			action: delivery.Reject, want: []string{"dmarc=fail", "header.from=example.com"}},
		{name: "header section past the limit", ip: "198.51.100.7", mailFrom: "x@elsewhere.example", enforce: true,
			msg: "Authentication-Results: " + ourID + "; dmarc=pass\r\n" + strings.Repeat("X-Filler: "+strings.Repeat("f", 90)+"\r\n", maxHeader/100+1) + signed,
			// No signature is seen past the limit, nor a From (permerror); the
			// claim at the top is still removed.
			drop: []int{0}, want: []string{"spf=fail", "dkim=none", "arc=none", "dmarc=permerror"}},
		{name: "our user's submission", ip: "198.51.100.7", mailFrom: "x@elsewhere.example", account: 5, enforce: true,
			msg: "authentication-results: " + strings.ToUpper(ourID) + "; dkim=pass\r\n" + plain("ceo@example.com"), drop: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testChecker(t)
			c.Enforce = tt.enforce
			env := &delivery.Envelope{ID: "t", MailFrom: tt.mailFrom, Helo: "mta.elsewhere.example",
				RemoteIP: netip.MustParseAddr(tt.ip), Account: tt.account}
			v, err := c.Check(t.Context(), env, delivery.Spool(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.action || v.Folder != tt.folder {
				t.Errorf("action %v folder %q (%s), want %v %q", v.Action, v.Folder, v.Reason, tt.action, tt.folder)
			}
			if v.Action == delivery.Reject && (v.Code != 550 || v.Enhanced != "5.7.1") {
				t.Errorf("reject with %d %s", v.Code, v.Enhanced)
			}
			if !slices.Equal(v.Drop, tt.drop) {
				t.Errorf("drop %v, want %v", v.Drop, tt.drop)
			}
			if tt.account != 0 {
				if len(v.Headers) != 0 {
					t.Errorf("a submission got %q", v.Headers)
				}
				return
			}
			if len(v.Headers) != 1 || !strings.HasPrefix(v.Headers[0], "Authentication-Results: "+ourID+";") {
				t.Fatalf("headers %q", v.Headers)
			}
			for _, w := range tt.want {
				if !strings.Contains(v.Headers[0], w) {
					t.Errorf("no %q in\n%s", w, v.Headers[0])
				}
			}
		})
	}
}

// TestQueuedMailIsNotChecked: mail the queue delivers locally has no
// client address and gets no checks.
func TestQueuedMailIsNotChecked(t *testing.T) {
	c := testChecker(t)
	v, err := c.Check(t.Context(), &delivery.Envelope{ID: "q1", MailFrom: ""}, delivery.Spool("From: a@example.com\r\n\r\nx\r\n"))
	if err != nil || len(v.Headers) != 0 || v.Action != delivery.Accept {
		t.Errorf("verdict %+v, %v", v, err)
	}
}

// newSigningKey returns a new Ed25519 key and its DKIM key record.
func newSigningKey(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.KeyRecordText(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return key, rec
}

// TestTrustedARCOverridesDMARC: a forwarder changed a message so that it
// fails DMARC here, but sealed it with ARC saying it passed DMARC there.
// Sealed by a trusted forwarder, it is delivered (and reported so);
// sealed by any other, the policy applies.
func TestTrustedARCOverridesDMARC(t *testing.T) {
	key, rec := newSigningKey(t)
	srv := dnstest.Start(t, zone+"arc._domainkey.forwarder.example. TXT \""+rec+"\"\n")
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	original := "From: Boss <ceo@example.com>\r\nTo: list@forwarder.example\r\nSubject: [list] budget\r\n\r\nNumbers.\r\n"
	set, err := (&arc.Sealer{Domain: "forwarder.example", Selector: "arc", Key: key}).Seal(strings.NewReader(original),
		"mx.forwarder.example", "spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com",
		&arc.Result{Status: arc.StatusNone})
	if err != nil {
		t.Fatal(err)
	}
	sealed := set.String() + original
	env := &delivery.Envelope{ID: "t", MailFrom: "bounce@forwarder.example", Helo: "mx.forwarder.example",
		RemoteIP: netip.MustParseAddr("192.0.2.30"), Recipients: []delivery.Recipient{{Address: "ann@example.org"}}}

	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		trusted []string
		action  delivery.Action
		want    string
	}{
		{[]string{"forwarder.example"}, delivery.Accept, "ARC chain sealed by trusted forwarder.example"},
		{[]string{"other.example"}, delivery.Reject, "dmarc=fail"},
	} {
		c := &Checker{Resolver: client, AuthservID: ourID, Enforce: true, TrustedSealers: tc.trusted,
			Sample: func() int { return 0 }, Reports: &reports.DMARCRecorder{Store: st}, Now: func() time.Time { return now }}
		v, err := c.Check(t.Context(), env, delivery.Spool(sealed))
		if err != nil {
			t.Fatal(err)
		}
		if v.Action != tc.action || len(v.Headers) != 1 || !strings.Contains(v.Headers[0], tc.want) || !strings.Contains(v.Headers[0], "arc=pass") {
			t.Errorf("trusting %v: action %v, headers %q; want %v and %q", tc.trusted, v.Action, v.Headers, tc.action, tc.want)
		}
	}
	rows, err := st.ReportRows(t.Context(), store.ReportDMARC, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Domain != "example.com" {
		t.Fatalf("report rows %+v, want two rows of example.com", rows)
	}
	all := string(rows[0].Data) + string(rows[1].Data)
	for _, want := range []string{"trusted_forwarder", "forwarder.example", "192.0.2.30"} {
		if !strings.Contains(all, want) {
			t.Errorf("the report rows lack %q: %s", want, all)
		}
	}
}

// TestSealForward: a message we checked and forward to an outside address
// gets an ARC set, by our domain's RSA key, carrying our results; the
// chain validates, and its AAR says what we found.
func TestSealForward(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := dkim.KeyRecordText(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.Start(t, zone+"rsa._domainkey.example.org. TXT \""+rec+"\"\n")
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	c := &Checker{Resolver: client, AuthservID: ourID, Enforce: true, Sample: func() int { return 0 },
		Signers: func(ctx context.Context, domain string) ([]*dkim.Signer, error) {
			if domain != "example.org" {
				return nil, errors.New("not ours")
			}
			return []*dkim.Signer{{Domain: domain, Selector: "ed", Key: edKey}, {Domain: domain, Selector: "rsa", Key: key}}, nil
		}}
	env := &delivery.Envelope{ID: "t", MailFrom: "joe@example.com", Helo: "mx.example.com", RemoteIP: netip.MustParseAddr("192.0.2.10"),
		Recipients: []delivery.Recipient{{Address: "friends@elsewhere.example"}, {Address: "team@example.org"}}}
	msg := testdata(t, "signed.msg")
	v, err := c.Check(t.Context(), env, delivery.Spool(msg))
	if err != nil {
		t.Fatal(err)
	}
	trace := "Received: from mx.example.com by " + ourID + "\r\n" + strings.Join(v.Headers, "\r\n") + "\r\n"
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(trace + msg)), nil }
	fields, err := c.SealForward(t.Context(), env, open, v.Headers)
	if err != nil || !strings.HasPrefix(fields, "ARC-Seal: ") || !strings.Contains(fields, "cv=none; d=example.org; i=1;") {
		t.Fatalf("seal: %q, %v", fields, err)
	}
	res, err := (&arc.Validator{Resolver: client}).Validate(t.Context(), strings.NewReader(fields+trace+msg))
	if err != nil || res.Status != arc.StatusPass || res.Instances != 1 {
		t.Fatalf("our chain: %+v, %v", res, err)
	}
	aar := res.Latest().AuthResults
	if aar.Instance != 1 || aar.AuthservID != ourID || len(aar.Lookup("dmarc")) != 1 || aar.Lookup("dmarc")[0].Result != "pass" ||
		len(aar.Lookup("dkim")) != 1 || aar.Lookup("dkim")[0].Result != "pass" {
		t.Errorf("the AAR: %+v", aar)
	}
	if !strings.Contains(fields, "d=example.org") || !strings.Contains(fields, "s=rsa") {
		t.Errorf("not sealed with example.org's RSA key:\n%s", fields)
	}
	// Mail from our own users, or without our results, is not sealed.
	for _, e := range []*delivery.Envelope{{ID: "s", Account: 3, RemoteIP: env.RemoteIP, Recipients: env.Recipients}} {
		if f, err := c.SealForward(t.Context(), e, open, v.Headers); f != "" || err != nil {
			t.Errorf("sealed a submission: %q %v", f, err)
		}
	}
	if f, err := c.SealForward(t.Context(), env, open, nil); f != "" || err != nil {
		t.Errorf("sealed without results: %q %v", f, err)
	}
}

// TestResultsOutliveTheNextCheck: what a check hands on (the verdict's
// field, Envelope.Auth) stays as it was when the next messages are
// checked, though the room the results were made in is pooled and reused.
func TestResultsOutliveTheNextCheck(t *testing.T) {
	c := testChecker(t)
	check := func(msg string) (delivery.Verdict, *delivery.Auth) {
		env := &delivery.Envelope{ID: "t", MailFrom: "joe@example.com", Helo: "mta.elsewhere.example",
			RemoteIP: netip.MustParseAddr("192.0.2.10")}
		v, err := c.Check(t.Context(), env, delivery.Spool(msg))
		if err != nil {
			t.Fatal(err)
		}
		return v, env.Auth
	}
	v, auth := check(testdata(t, "signed.msg"))
	if auth == nil || !slices.Equal(auth.DKIM, []string{"example.com"}) || auth.DMARC != "pass" {
		t.Fatalf("first message: %#v", auth)
	}
	wantHeaders, wantAuth := slices.Clone(v.Headers), *auth
	wantAuth.DKIM = slices.Clone(auth.DKIM)
	for range 3 {
		other, otherAuth := check("From: Boss <boss@quar.example>\r\nSubject: x\r\n\r\nNow.\r\n")
		if otherAuth.DMARC != "fail" || len(otherAuth.DKIM) != 0 || !strings.Contains(other.Headers[0], "dkim=none") {
			t.Fatalf("second message: %#v %q", otherAuth, other.Headers)
		}
	}
	if !slices.Equal(v.Headers, wantHeaders) {
		t.Errorf("the first verdict's field changed:\n%q\nwas\n%q", v.Headers, wantHeaders)
	}
	if !reflect.DeepEqual(*auth, wantAuth) {
		t.Errorf("the first results changed:\n%#v\nwere\n%#v", *auth, wantAuth)
	}
}
