package filter_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter"
)

// shouting is a check adapter: a name, and scores from the parsed
// message.
type shouting struct{}

func (shouting) Name() string { return "shouting" }

func (shouting) Check(_ context.Context, in *filter.Input) ([]filter.Score, error) {
	s := in.Message.Subject
	if s == "" || s != strings.ToUpper(s) {
		return nil, nil
	}
	return []filter.Score{{Name: "subject", Weight: 4, Reason: "the subject is in capitals"}}, nil
}

// A check plugs into the filter as one small type; the filter runs it,
// weighs its scores and decides.
func Example() {
	f := &filter.Filter{JunkScore: 6, WarnScore: 3, Checks: []filter.Check{shouting{}}}
	env := &delivery.Envelope{ID: "m1", MailFrom: "x@far.example", RemoteIP: netip.MustParseAddr("192.0.2.1"),
		Recipients: []delivery.Recipient{{Address: "ann@example.org"}}}
	msg := delivery.Spool("From: x@far.example\r\nSubject: BUY NOW\r\n\r\nCheap.\r\n")
	v, _ := f.Check(context.Background(), env, msg)
	ann, _ := v.ForAccount(context.Background(), "ann@example.org")
	for _, h := range ann.Headers {
		fmt.Println(h)
	}
	// Output:
	// X-Sealpost-Score: 4 (warn)
	// X-Sealpost-Reasons: shouting.subject=4 "the subject is in capitals"
}
