package dnsbl_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"sealpost.dev/sealpost/internal/dnsbl"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func ExampleChecker() {
	// A test DNS world with one listed address; in production the
	// resolver is the operator's and the zones are real lists.
	srv, err := dnstest.New(`
2.2.0.192.bl.example.  A   127.0.0.2
2.2.0.192.bl.example.  TXT "spam source, see https://bl.example/192.0.2.2"
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &dnsbl.Checker{Resolver: r}
	zones := []dnsbl.Zone{{Name: "bl.example", Score: 3}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, ip := range []string{"192.0.2.2", "192.0.2.3"} {
		ls, err := c.Check(ctx, netip.MustParseAddr(ip), zones)
		fmt.Println(ip, ls, err)
	}
	// Output:
	// 192.0.2.2 [{bl.example 127.0.0.2 spam source, see https://bl.example/192.0.2.2 3}] <nil>
	// 192.0.2.3 [] <nil>
}
