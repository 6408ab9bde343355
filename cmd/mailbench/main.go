// Command mailbench measures mail servers on loopback: "mailbench smtp"
// sends a bounded load and reports messages per second and latency,
// "mailbench imap" runs bounded IMAP sessions and reports sessions per
// second and each phase's rate and latency, "mailbench idle" holds IMAP
// IDLE connections and reports the server's memory per connection, and
// "mailbench count-maildir" and "mailbench write-maildir" count (or wait
// for) and write messages in a Maildir. Run "mailbench help" for the flags.
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
