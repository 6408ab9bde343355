package mailauth

import (
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// readOnly is a Message without Bytes, as one on disk: the check reads it
// through its read buffer.
type readOnly struct{ b []byte }

func (m readOnly) Open() (io.ReadCloser, error) { return delivery.Spool(m.b).Open() }
func (m readOnly) Size() int64                  { return int64(len(m.b)) }

// TestInMemorySameAsRead: a message held in memory (delivery.Spool, read
// in place) gets the verdict, the fields and the results a message read
// through the read buffer gets, byte for byte: the test messages, an ARC
// sealed one, and the edge cases where reading in place gives way.
func TestInMemorySameAsRead(t *testing.T) {
	key, rec := newSigningKey(t)
	original := "From: Boss <ceo@example.com>\r\nTo: list@forwarder.example\r\nSubject: [list] budget\r\n\r\nNumbers.\r\n"
	set, err := (&arc.Sealer{Domain: "forwarder.example", Selector: "arc", Key: key}).Seal(strings.NewReader(original),
		"mx.forwarder.example", "spf=pass smtp.mailfrom=example.com", &arc.Result{Status: arc.StatusNone})
	if err != nil {
		t.Fatal(err)
	}
	srv := dnstest.Start(t, zone+"arc._domainkey.forwarder.example. TXT \""+rec+"\"\n")
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c := &Checker{Resolver: client, AuthservID: ourID, Enforce: true, Exempt: []string{"lists.example"},
		TrustedSealers: []string{"forwarder.example"}, Sample: func() int { return 0 }}

	signed := testdata(t, "signed.msg")
	claim := "Authentication-Results: " + ourID + "; dmarc=pass\r\n"
	filler := func(n int) string { return strings.Repeat("X-Filler: "+strings.Repeat("f", 90)+"\r\n", n) }
	msgs := map[string]string{
		"signed":                 signed,
		"length appended":        testdata(t, "length-appended.msg"),
		"plain":                  "From: Boss <ceo@example.com>\r\nTo: ann@example.org\r\nSubject: pay this\r\n\r\nNow.\r\n",
		"forged results":         "Received: from x\r\n" + claim + "Authentication-Results: other.example; spf=pass\r\n" + signed,
		"folded From":            "From: \"The\r\n Boss\" <ceo@\r\n example.com>\r\nSubject: x\r\n\r\nNow.\r\n",
		"ARC sealed":             set.String() + original,
		"signed, bare LF":        strings.ReplaceAll(signed, "\r\n", "\n"),
		"bare LF in the header":  "From: Boss <ceo@example.com>\nTo: ann@example.org\r\n\r\nNow.\r\n",
		"bare LF in the body":    "From: Boss <ceo@example.com>\r\n\r\nNow.\nThen.\r\n",
		"no body":                "From: Boss <ceo@example.com>\r\nSubject: x\r\n\r\n",
		"no empty line":          "From: Boss <ceo@example.com>\r\nSubject: x\r\n",
		"no line end":            claim + "From: Boss <ceo@example.com>",
		"empty header":           "\r\nNow.\r\n",
		"empty":                  "",
		"header past 64 KiB":     claim + filler(1000) + signed,
		"header past the limit":  claim + filler(maxHeader/100+1) + signed,
		"header at the limit":    claim + filler((maxHeader-len(claim)-len(signed))/100) + signed,
		"header past a bare LF":  claim + filler(10) + "X-Bare: x\n" + signed,
		"only a claim, no empty": claim,
	}
	for name, msg := range msgs {
		t.Run(name, func(t *testing.T) {
			check := func(m delivery.Message) (delivery.Verdict, *delivery.Auth, error) {
				env := &delivery.Envelope{ID: "t", MailFrom: "joe@example.com", Helo: "mta.elsewhere.example",
					RemoteIP: netip.MustParseAddr("192.0.2.10")}
				v, err := c.Check(t.Context(), env, m)
				return v, env.Auth, err
			}
			wantV, wantAuth, wantErr := check(readOnly{[]byte(msg)})
			if wantErr != nil {
				t.Fatal(wantErr)
			}
			v, auth, err := check(delivery.Spool(msg))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, wantV) {
				t.Errorf("in memory:\n%#v\nread:\n%#v", v, wantV)
			}
			if !reflect.DeepEqual(auth, wantAuth) {
				t.Errorf("results in memory:\n%#v\nread:\n%#v", auth, wantAuth)
			}
		})
	}
}

// TestInMemoryMessageUnchanged: the check does not write to the bytes of
// a message held in memory.
func TestInMemoryMessageUnchanged(t *testing.T) {
	c := testChecker(t)
	msg := testdata(t, "signed.msg")
	b := []byte(msg)
	env := &delivery.Envelope{ID: "t", MailFrom: "joe@example.com", Helo: "mta.elsewhere.example",
		RemoteIP: netip.MustParseAddr("192.0.2.10")}
	if _, err := c.Check(t.Context(), env, delivery.Spool(b)); err != nil {
		t.Fatal(err)
	}
	if string(b) != msg {
		t.Errorf("the message changed:\n%q", b)
	}
}
