package account_test

import (
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/account"
)

func ExampleParseAddress() {
	for _, s := range []string{"User@Bücher.example", `"John Doe"@Example.COM`, "a@b@c"} {
		a, err := account.ParseAddress(s)
		if errors.Is(err, account.ErrInvalid) {
			fmt.Println("invalid:", s)
			continue
		}
		fmt.Println(a)
	}
	// Output:
	// user@xn--bcher-kva.example
	// "john doe"@example.com
	// invalid: a@b@c
}

func ExampleHasher() {
	h := account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1} // cheap, for the example
	phc, err := h.Hash("correct horse battery staple")
	if err != nil {
		panic(err)
	}
	ok, err := account.DefaultHasher().Verify(phc, "correct horse battery staple")
	fmt.Println(ok, err, account.DefaultHasher().NeedsRehash(phc))
	// Output: true <nil> true
}
