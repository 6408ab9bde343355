package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
)

// defaultResolver is the resolver the mail authentication commands ask
// when --resolver is not given: the same default as the config's
// dns.resolver, a validating resolver on this host.
const defaultResolver = "127.0.0.1:53"

// runDKIM runs "sealpost dkim": verifying signatures, and the domains'
// signing keys.
func runDKIM(ctx context.Context, env *Env, args []string) error {
	verb, rest, err := subcommand(args, "verify", "sign", "keys", "rotate", "activate")
	if err != nil {
		return err
	}
	switch verb {
	case "verify":
		return runDKIMVerify(ctx, env, rest)
	case "sign":
		return runDKIMSign(ctx, env, rest)
	}
	return runDKIMKeys(ctx, env, verb, rest)
}

// dkimResultJSON is one signature's result in `dkim verify --json`.
type dkimResultJSON struct {
	Result            string `json:"result"`
	Reason            string `json:"reason,omitempty"`
	Domain            string `json:"domain,omitempty"`
	Selector          string `json:"selector,omitempty"`
	Identity          string `json:"identity,omitempty"`
	Algorithm         string `json:"algorithm,omitempty"`
	HeaderB           string `json:"header_b,omitempty"`
	KeyBits           int    `json:"key_bits,omitempty"`
	Testing           bool   `json:"testing,omitempty"`
	BodyLength        *int64 `json:"body_length,omitempty"`
	UnsignedBodyBytes int64  `json:"unsigned_body_bytes,omitempty"`
}

// messageCheckFlags parses the flags of a command that checks a message on
// standard input ("dkim verify", "arc verify"): --resolver and --json.
func messageCheckFlags(env *Env, name string, args []string) (*dnsx.Client, bool, error) {
	fs := newFlagSet(env, name, name+" [--resolver host:port] [--json] < message")
	resolver := fs.String("resolver", defaultResolver, "the DNS resolver to ask, `host:port`")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, false, err
	}
	if len(rest) != 0 {
		return nil, false, usagef("%s takes the message on standard input, not arguments", name)
	}
	client, err := dnsx.NewClient(*resolver, dnsx.ClientConfig{})
	if err != nil {
		return nil, false, usagef("--resolver: %v", err)
	}
	return client, *asJSON, nil
}

func runDKIMVerify(ctx context.Context, env *Env, args []string) error {
	client, asJSON, err := messageCheckFlags(env, "dkim verify", args)
	if err != nil {
		return err
	}
	v := &dkim.Verifier{Resolver: client}
	results, err := v.Verify(ctx, bufio.NewReader(env.Stdin))
	if errors.Is(err, dkim.ErrHeaderTooLarge) {
		return usagef("%v", err)
	}
	if err != nil {
		return fmt.Errorf("reading the message: %w", err)
	}
	if asJSON {
		out := make([]dkimResultJSON, 0, len(results))
		for _, r := range results {
			out = append(out, resultJSON(r))
		}
		if len(out) == 0 {
			out = append(out, dkimResultJSON{Result: string(dkim.StatusNone), Reason: "no DKIM-Signature"})
		}
		if err := writeJSON(env.Stdout, out); err != nil {
			return err
		}
	} else {
		if len(results) == 0 {
			fmt.Fprintln(env.Stdout, "dkim=none (no DKIM-Signature)")
		}
		for _, r := range results {
			fmt.Fprintf(env.Stdout, "dkim=%s\n", r)
		}
	}
	for _, r := range results {
		if r.Status == dkim.StatusPass {
			return nil
		}
	}
	return errors.New("no DKIM signature passed")
}

func resultJSON(r dkim.Result) dkimResultJSON {
	j := dkimResultJSON{
		Result: string(r.Status), Reason: r.Reason, Domain: r.Domain, Selector: r.Selector,
		Identity: r.Identity, Algorithm: string(r.Algorithm), HeaderB: r.HeaderB,
		KeyBits: r.KeyBits, Testing: r.Testing, UnsignedBodyBytes: r.UnsignedBodyBytes,
	}
	if r.BodyLength >= 0 {
		j.BodyLength = &r.BodyLength
	}
	return j
}

// runDKIMSign signs the message on standard input with a hosted domain's
// active keys, as a submission would be, and writes it, signatures first,
// to standard output.
func runDKIMSign(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	fs := newFlagSet(env, "dkim sign", "dkim sign --domain DOMAIN [-config FILE | --data DIR] < message")
	f.register(fs, false)
	domain := fs.String("domain", "", "the hosted `DOMAIN` whose active keys sign")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 || *domain == "" {
		fs.Usage()
		return usagef("dkim sign: --domain is required, and the message comes on standard input")
	}
	if err := checkDomains([]string{*domain}); err != nil {
		return err
	}
	msg, err := io.ReadAll(io.LimitReader(env.Stdin, maxSignInput+1))
	if err != nil {
		return err
	}
	if len(msg) > maxSignInput {
		return usagef("dkim sign: the message is over %d bytes", maxSignInput)
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	signers, err := svc.DKIMSigners(ctx, *domain)
	if err != nil {
		return err
	}
	if len(signers) == 0 {
		return fmt.Errorf("dkim sign: %s has no active key (sealpost dkim rotate %s)", *domain, *domain)
	}
	fields, err := dkim.SignAll(bytes.NewReader(msg), signers)
	if err != nil {
		return usagef("dkim sign: %v", err)
	}
	for _, f := range fields {
		if _, err := io.WriteString(env.Stdout, f); err != nil {
			return err
		}
	}
	_, err = env.Stdout.Write(msg)
	return err
}

// maxSignInput bounds the message "dkim sign" reads into memory.
const maxSignInput = 64 << 20
