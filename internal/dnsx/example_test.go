package dnsx_test

import (
	"context"
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func ExampleClient() {
	// A test DNS world; in production the address is the operator's
	// validating resolver.
	srv, err := dnstest.New(`
$SECURE example.test.
example.test.      MX   10 mail.example.test.
mail.example.test. A    192.0.2.1
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
	ctx := context.Background()
	mxs, res, err := r.LookupMX(ctx, "example.test")
	fmt.Println(mxs, res.Authentic, err)
	_, _, err = r.LookupMX(ctx, "nope.example.test")
	fmt.Println(errors.Is(err, dnsx.ErrNotFound))
	// Output:
	// [{mail.example.test. 10}] true <nil>
	// true
}

func ExampleStub() {
	zone, err := dnsx.DevZone("example.test", "mail.example.test")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := dnsx.NewStub(zone, nil) // no upstream: everything else is NXDOMAIN
	ctx := context.Background()
	addrs, _, _ := r.LookupIP(ctx, "mail.example.test")
	fmt.Println(addrs)
	_, _, err = r.LookupMX(ctx, "gmail.com")
	fmt.Println(errors.Is(err, dnsx.ErrNotFound))
	// Output:
	// [127.0.0.1 ::1]
	// true
}
