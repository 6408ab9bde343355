package clamd_test

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"sealpost.dev/sealpost/internal/clamd"
)

func ExampleClient_Scan() {
	c := &clamd.Client{Address: "/run/clamav/clamd.ctl", Timeout: 30 * time.Second}
	msg, err := os.Open("message.eml")
	if err != nil {
		log.Fatal(err)
	}
	defer msg.Close()
	res, err := c.Scan(context.Background(), msg)
	switch {
	case errors.Is(err, clamd.ErrUnavailable):
		// clamd is down: tempfail or pass, as configured; never lose it.
	case errors.Is(err, clamd.ErrTooLarge):
		// Too large to scan.
	case err != nil:
		log.Fatal(err)
	case res.Infected:
		log.Printf("refused: %s", res.Signature)
	}
}
