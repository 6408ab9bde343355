// Command sealpost is the Sealpost mail server and its administration tool.
// Run "sealpost help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"sealpost.dev/sealpost/internal/cli"
)

func main() {
	env := &cli.Env{
		Stdin:           os.Stdin,
		Stdout:          os.Stdout,
		Stderr:          os.Stderr,
		StdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
		ReadPassword: func() (string, error) {
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			return string(b), err
		},
		Notify: notify,
	}
	os.Exit(cli.Main(context.Background(), env, os.Args[1:]))
}

// notify catches SIGINT and SIGTERM (cancelling the context) and SIGHUP
// (sent on the channel) until stop is called.
func notify(ctx context.Context) (context.Context, <-chan os.Signal, context.CancelFunc) {
	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return ctx, hup, func() {
		cancel()
		signal.Stop(hup)
	}
}
