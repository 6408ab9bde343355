package srs_test

import (
	"fmt"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/srs"
)

func Example() {
	r, err := srs.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	r.Now = func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }

	// alice@example.com writes to an alias of fwd.example that forwards
	// outside: the forwarded copy's reverse path is an address of
	// fwd.example.
	rewritten, _ := r.Forward("alice@example.com", "fwd.example")
	fmt.Println(rewritten)

	// A bounce to it comes back, perhaps lower-cased, and goes to Alice.
	orig, _ := r.Reverse(strings.ToLower(rewritten))
	fmt.Println(orig)

	// One that was not made with the secret is refused.
	_, err = r.Reverse("SRS0=AAAA=JL=example.com=mallory@fwd.example")
	fmt.Println(err)
	// Output:
	// SRS0=lIB0=JL=example.com=alice@fwd.example
	// alice@example.com
	// srs: SRS address hash does not match
}
