package dsn_test

import (
	"bytes"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/dsn"
)

// A queue gives up on a recipient and tells the sender; the report parses
// back to what was said.
func Example() {
	report, err := dsn.Build(dsn.Message{
		Hostname: "mx.example.org",
		To:       "alice@example.org",
		Date:     time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC),
		Original: []byte("Subject: Hello\r\n\r\nHi Bob.\r\n"),
		Return:   dsn.ReturnHeaders,
		Recipients: []dsn.Recipient{{
			FinalRecipient: "bob@example.com",
			Action:         dsn.ActionFailed,
			Status:         "5.1.1",
			RemoteMTA:      "mx.example.com",
			DiagnosticCode: "550 5.1.1 no such user",
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := dsn.Parse(bytes.NewReader(report))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := rep.Recipients[0]
	fmt.Println(rep.Header.Get("Subject"))
	fmt.Println(r.FinalRecipient.Value, r.Action, r.Status, r.DiagnosticCode.Value)
	fmt.Println(rep.ReturnedHeader.Get("Subject"))
	// Output:
	// Undelivered Mail Returned to Sender
	// bob@example.com failed 5.1.1 550 5.1.1 no such user
	// Hello
}
