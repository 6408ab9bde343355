package mtasts_test

import (
	"fmt"

	"sealpost.dev/sealpost/internal/mtasts"
)

func ExampleParsePolicy() {
	p, err := mtasts.ParsePolicy([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Mode, p.MaxAge)
	for _, mx := range []string{"mail.example.com.", "mx1.example.net", "a.mx1.example.net"} {
		fmt.Println(mx, p.Match(mx))
	}
	// Output:
	// enforce 168h0m0s
	// mail.example.com. true
	// mx1.example.net true
	// a.mx1.example.net false
}
