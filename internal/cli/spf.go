package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/spf"
)

// spfReport is what `sealpost spf check --json` prints.
type spfReport struct {
	spf.Received
	ReceivedSPF string `json:"received_spf"`
	AuthResult  string `json:"authentication_results"`
}

func runSPF(ctx context.Context, env *Env, args []string) error {
	verb, rest, err := subcommand(args, "check")
	if err != nil {
		return err
	}
	switch verb {
	case "check":
		return runSPFCheck(ctx, env, rest)
	}
	return nil
}

// runSPFCheck checks an SMTP client's right to send for MAIL FROM (or the
// HELO name) and prints the result in the words of RFC 7208.
func runSPFCheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "spf check", "spf check IP MAILFROM [HELO] --resolver HOST:PORT [--helo] [--json]")
	resolver := fs.String("resolver", "", "the DNS server `HOST:PORT` to ask (required)")
	heloIdentity := fs.Bool("helo", false, "check the HELO identity instead of MAIL FROM")
	receiver := fs.String("receiver", "", "our host `NAME`, for %{r} and the Received-SPF header")
	timeout := fs.Duration("timeout", spf.DefaultTimeout, "the time budget of the whole check")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || len(pos) > 3 {
		fs.Usage()
		return usagef("spf check takes IP MAILFROM [HELO]")
	}
	ip, err := netip.ParseAddr(pos[0])
	if err != nil {
		return usagef("invalid IP %q", pos[0])
	}
	if *resolver == "" {
		return usagef("--resolver HOST:PORT is required (Sealpost never uses the system resolver)")
	}
	client, err := dnsx.NewClient(*resolver, dnsx.ClientConfig{})
	if err != nil {
		return usagef("--resolver: %v", err)
	}
	a := spf.Args{IP: ip, MailFrom: strings.TrimSuffix(strings.TrimPrefix(pos[1], "<"), ">"), Receiver: *receiver}
	if len(pos) == 3 {
		a.HELO = pos[2]
	}
	if *heloIdentity && a.HELO == "" {
		return usagef("--helo needs a HELO name")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	verify := spf.Verify
	if *heloIdentity {
		verify = spf.VerifyHELO
	}
	rcv, _ := verify(ctx, client, a) // temperror and permerror are results, printed below
	return printSPF(env, rcv, *asJSON)
}

func printSPF(env *Env, rcv spf.Received, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(spfReport{rcv, strings.TrimSuffix(rcv.Header(), "\r\n"), rcv.AuthResult()})
	}
	w := env.Stdout
	fmt.Fprintf(w, "result:      %s\n", rcv.Result)
	fmt.Fprintf(w, "identity:    %s\n", rcv.Identity)
	fmt.Fprintf(w, "domain:      %s\n", rcv.Domain)
	fmt.Fprintf(w, "sender:      %s\n", rcv.Sender)
	if rcv.Mechanism != "" {
		fmt.Fprintf(w, "mechanism:   %s\n", rcv.Mechanism)
	}
	if rcv.Explanation != "" {
		fmt.Fprintf(w, "explanation: %s\n", rcv.Explanation)
	}
	if rcv.Problem != "" {
		fmt.Fprintf(w, "problem:     %s\n", rcv.Problem)
	}
	fmt.Fprint(w, strings.ReplaceAll(rcv.Header(), "\r\n", "\n"))
	fmt.Fprintf(w, "Authentication-Results: %s\n", rcv.AuthResult())
	return nil
}
