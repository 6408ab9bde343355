package spf_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/spf"
)

func ExampleVerify() {
	// Production code passes the dnsx.Client of the configured resolver;
	// here a Stub answers from records given as zone text.
	zone := dnsx.NewZone()
	zone.AddDomain("example.com")
	zone.Add(`
example.com.     TXT "v=spf1 mx -all exp=why.example.com"
example.com.     MX  10 mx.example.com.
mx.example.com.  A   192.0.2.10
why.example.com. TXT "%{i} does not send mail for %{d}"
`)
	resolver := dnsx.NewStub(zone, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rcv, _ := spf.Verify(ctx, resolver, spf.Args{
		IP:       netip.MustParseAddr("198.51.100.7"),
		MailFrom: "user@example.com",
		HELO:     "client.example.net",
		Receiver: "mx.sealpost.example",
	})
	fmt.Println(rcv.Result, rcv.Mechanism)
	fmt.Println(rcv.Explanation)
	fmt.Println(rcv.AuthResult())
	fmt.Print(strings.ReplaceAll(rcv.Header(), "\r\n", "\n"))
	// Output:
	// fail -all
	// 198.51.100.7 does not send mail for example.com
	// spf=fail smtp.mailfrom=example.com
	// Received-SPF: fail (mx.sealpost.example: domain of user@example.com does not designate 198.51.100.7 as permitted sender)
	//	client-ip=198.51.100.7; envelope-from="user@example.com";
	//	helo=client.example.net; identity=mailfrom; mechanism=-all;
	//	receiver=mx.sealpost.example
}
