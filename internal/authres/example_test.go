package authres_test

import (
	"fmt"
	"strings"

	"sealpost.dev/sealpost/internal/authres"
)

func ExampleHeader() {
	h, err := authres.Header("mx.example.org", []authres.Result{
		authres.SPF("pass", "", "bounce@example.com", ""),
		authres.DKIM("pass", "", "example.com", "sel", "ed25519-sha256", "k7Zp2Qx9tW=="),
		authres.DMARC("pass", "p=reject dis=none", "example.com", "none"),
	})
	if err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(h, "\r\n", "\n"))
	// Output:
	// Authentication-Results: mx.example.org;
	// 	spf=pass smtp.mailfrom=bounce@example.com;
	// 	dkim=pass header.d=example.com header.s=sel header.a=ed25519-sha256
	// 	header.b=k7Zp2Qx9;
	// 	dmarc=pass (p=reject dis=none) header.from=example.com policy.dmarc=none
}

func ExampleClaiming() {
	header := []byte("Authentication-Results: MX.Example.ORG 1; dkim=pass header.d=bank.example\r\n" +
		"Authentication-Results: other.example; spf=pass smtp.mailfrom=a.example\r\n" +
		"Subject: hello\r\n\r\n")
	forged := authres.Claiming(header, "mx.example.org")
	fmt.Printf("%d forged, left:\n%s", len(forged), strings.ReplaceAll(string(authres.Remove(header, forged)), "\r\n", "\n"))
	// Output:
	// 1 forged, left:
	// Authentication-Results: other.example; spf=pass smtp.mailfrom=a.example
	// Subject: hello
}
