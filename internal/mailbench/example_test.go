package mailbench_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"sealpost.dev/sealpost/internal/mailbench"
	"sealpost.dev/sealpost/internal/smtpclient/smtptest"
)

func ExampleRun() {
	srv, err := smtptest.New(smtptest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	res, err := mailbench.Run(context.Background(), mailbench.Config{
		Addr:          srv.Addr(),
		Messages:      40,
		Connections:   4,
		Size:          4096,
		SenderDomains: 10,
		To:            []string{"demo@example.test"},
		Duration:      10 * time.Second,
		Timeout:       5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("sent %d, failed %d, server took %d\n", res.Sent, res.Failed, len(srv.Messages()))
	// Output: sent 40, failed 0, server took 40
}
