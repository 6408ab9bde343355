package mailauth

import (
	"net/netip"
	"reflect"
	"testing"

	"sealpost.dev/sealpost/internal/delivery"
)

// TestSummary: Check leaves the plain summary of its results on the
// envelope for the hooks after it (the spam filter).
func TestSummary(t *testing.T) {
	signed := testdata(t, "signed.msg")
	spoof := "From: Boss <ceo@example.com>\r\nTo: ann@example.org\r\nSubject: pay this\r\n\r\nNow.\r\n"
	tests := []struct {
		name     string
		ip       string
		mailFrom string
		msg      string
		account  int64
		want     *delivery.Auth
	}{
		{"aligned", "192.0.2.10", "joe@example.com", signed, 0, &delivery.Auth{SPF: "pass", SPFDomain: "example.com",
			DKIM: []string{"example.com"}, DMARC: "pass", FromDomain: "example.com", Policy: "reject", Disposition: "none", Aligned: "example.com"}},
		{"spoofed p=reject", "198.51.100.7", "x@elsewhere.example", spoof, 0, &delivery.Auth{SPF: "fail", SPFDomain: "elsewhere.example",
			DMARC: "fail", FromDomain: "example.com", Policy: "reject", Disposition: "reject"}},
		{"exempt list", "192.0.2.20", "bounce@lists.example", spoof, 0, &delivery.Auth{SPF: "pass", SPFDomain: "lists.example",
			DMARC: "fail", FromDomain: "example.com", Policy: "reject", Disposition: "reject", Exempted: "lists.example"}},
		{"our user", "198.51.100.7", "x@elsewhere.example", spoof, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testChecker(t)
			env := &delivery.Envelope{ID: "t", MailFrom: tt.mailFrom, Helo: "mta.elsewhere.example",
				RemoteIP: netip.MustParseAddr(tt.ip), Account: tt.account}
			if _, err := c.Check(t.Context(), env, delivery.Spool(tt.msg)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(env.Auth, tt.want) {
				t.Errorf("summary %+v\nwant %+v", env.Auth, tt.want)
			}
		})
	}
}
