package dane_test

import (
	"context"
	"fmt"

	"sealpost.dev/sealpost/internal/dane"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func ExampleLookup() {
	// A signed zone with one DANE-EE record and one PKIX-EE record, which
	// SMTP does not use.
	srv, err := dnstest.New(`
$SECURE example.test.
mx.example.test.           A    192.0.2.1
_25._tcp.mx.example.test.  TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_25._tcp.mx.example.test.  TLSA 1 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
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
	recs, status, err := dane.Lookup(context.Background(), r, "mx.example.test.", 25)
	fmt.Println(status, len(recs.TLSA), recs.Names(), err)
	// The connection then uses dane.TLSConfig(recs).
	// Output:
	// secure 1 [mx.example.test] <nil>
}
