package cli

import "context"

// runDKIM runs "sealpost dkim": the domains' signing keys.
func runDKIM(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "keys", "rotate", "activate")
	if err != nil {
		return err
	}
	return runDKIMKeys(ctx, env, verb, args)
}
