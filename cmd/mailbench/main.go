// Command mailbench measures how fast an SMTP server takes mail: "mailbench
// smtp" sends a bounded load to a server on loopback and reports messages
// per second and latency, and "mailbench count-maildir" counts (or waits
// for) the messages delivered into a Maildir. Run "mailbench help" for the
// flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"sealpost.dev/sealpost/internal/mailbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := mailbench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
