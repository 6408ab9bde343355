package dkim_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// Sign a message with an Ed25519 key, publish the key and verify.
func Example() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)) // use a real key
	record, _ := dkim.KeyRecordText(key.Public())
	fmt.Println(dkim.KeyName("sel", "example.org"), record)

	msg := "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"
	signer := &dkim.Signer{Domain: "example.org", Selector: "sel", Key: key}
	field, err := signer.Sign(strings.NewReader(msg))
	if err != nil {
		panic(err)
	}

	srv, err := dnstest.New(fmt.Sprintf("sel._domainkey.example.org. TXT %q", record))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		panic(err)
	}
	v := &dkim.Verifier{Resolver: client}
	results, err := v.Verify(context.Background(), strings.NewReader(field+msg))
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Println(r.Status, r.Domain, r.Algorithm)
	}
	// Output:
	// sel._domainkey.example.org v=DKIM1; k=ed25519; p=O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=
	// pass example.org ed25519-sha256
}
