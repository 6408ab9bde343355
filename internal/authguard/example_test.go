package authguard_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"sealpost.dev/sealpost/internal/authguard"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// A login consults the Guard before checking the password and tells it the
// outcome.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "authguard")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	limits := authguard.DefaultLimits()
	limits.BaseDelay, limits.MaxDelay = 0, 0 // keep the example fast
	g, err := authguard.New(authguard.Options{Limits: limits, Store: st})
	if err != nil {
		panic(err)
	}
	from := netip.MustParseAddr("192.0.2.10")
	for range 11 {
		if err := g.Admit(ctx, from, "ann@example.com"); errors.Is(err, authguard.ErrLockedOut) {
			fmt.Println("refused:", err.(*authguard.LockError).Kind, err.(*authguard.LockError).Key)
			break
		}
		g.Record(ctx, from, "ann@example.com", false) // a wrong password
	}
	for _, l := range g.Locked() {
		fmt.Println(l.Kind, l.Key, l.Failures)
	}
	// Output:
	// refused: ip 192.0.2.10
	// ip 192.0.2.10 10
}
