package alert

import (
	"net/netip"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
)

// FuzzCompose checks that nothing a client sends (its name, which goes
// into the detail and Client) can add a header field or break a line.
func FuzzCompose(f *testing.F) {
	f.Add("Thunderbird 128", "A sign-in.", "new-sign-in")
	f.Add("evil\r\nBcc: x@y", "a\n\nb", "x\r\ny")
	f.Add("\xff\xfe\u2028", "", "")
	f.Fuzz(func(t *testing.T, client, detail, kind string) {
		a := account.Alert{Kind: account.AlertKind(kind), Time: time.Unix(1_800_000_000, 0),
			RemoteIP: netip.MustParseAddr("2001:db8::1"), Client: client, Detail: detail}
		msg, err := Compose(a, "user@example.com", "me@elsewhere.example")
		if err != nil {
			t.Fatal(err)
		}
		checkComposed(t, msg)
	})
}
