package cli

import (
	"context"
	"fmt"
	"os"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/metrics"
	"sealpost.dev/sealpost/internal/server"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "serve", "serve -config FILE")
	configPath := fs.String("config", "", "the config `FILE`")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *configPath == "" || len(pos) != 0 {
		fs.Usage()
		return usagef("serve: -config FILE is required and there are no arguments")
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	// Signals are caught from here on, so a SIGTERM during start-up still
	// shuts down cleanly.
	ctx, reload, stop := env.notify(ctx)
	defer stop()
	resolver, err := dnsx.NewClient(cfg.DNS.Resolver, dnsx.ClientConfig{})
	if err != nil {
		return usagef("dns.resolver: %v", err)
	}
	log := instance.Logger(cfg, env.Stderr)
	srv, err := server.New(ctx, server.Options{
		Config:   cfg,
		Resolver: resolver,
		Logger:   log,
	})
	if err != nil {
		return err
	}
	return runUntilSignal(ctx, env, srv, reload)
}

// runUntilSignal runs srv until ctx ends (SIGINT or SIGTERM, caught from
// the start of the command by env.notify), reloading its certificates on
// every SIGHUP.
func runUntilSignal(ctx context.Context, env *Env, srv *server.Server, reload <-chan os.Signal) error {
	go reloadOnSignal(ctx, env, srv, reload)
	return srv.Run(ctx)
}

// reloadOnSignal reloads the certificates on every SIGHUP until ctx ends.
func reloadOnSignal(ctx context.Context, env *Env, srv *server.Server, reload <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			if err := srv.Reload(); err != nil {
				fmt.Fprintf(env.Stderr, "sealpost: %v\n", err)
			}
		}
	}
}

func runConfig(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "check")
	if err != nil {
		return err
	}
	fs := newFlagSet(env, "config "+verb, "config check FILE")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("config check: expected one FILE")
	}
	if _, err := config.Load(pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: ok\n", pos[0])
	return nil
}

func runVersion(ctx context.Context, env *Env, args []string) error {
	fmt.Fprintf(env.Stdout, "sealpost %s\n", metrics.Version())
	return nil
}
