package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/dnsx"
)

// dmarcResultFlags collects repeated RESULT:DOMAIN flags.
type dmarcResultFlags []string

func (f *dmarcResultFlags) String() string { return strings.Join(*f, ",") }

func (f *dmarcResultFlags) Set(s string) error {
	if _, _, err := splitDMARCResult(s); err != nil {
		return err
	}
	*f = append(*f, s)
	return nil
}

// splitDMARCResult splits "pass:example.com" into its result and domain.
func splitDMARCResult(s string) (string, string, error) {
	result, domain, ok := strings.Cut(s, ":")
	result = strings.ToLower(strings.TrimSpace(result))
	if !ok || result == "" || strings.TrimSpace(domain) == "" {
		return "", "", fmt.Errorf("want RESULT:DOMAIN (e.g. pass:example.com), got %q", s)
	}
	return result, strings.TrimSpace(domain), nil
}

// dmarcCheckOutput is what `dmarc check --json` prints.
type dmarcCheckOutput struct {
	FromDomain   string   `json:"from_domain"`
	Result       string   `json:"result"`
	PolicyDomain string   `json:"policy_domain,omitempty"`
	Record       string   `json:"record,omitempty"`
	Requested    string   `json:"requested_policy,omitempty"`
	RequestedBy  string   `json:"requested_by,omitempty"`
	Disposition  string   `json:"disposition"`
	Sampled      bool     `json:"sampled"`
	SPFAlignment string   `json:"spf_alignment,omitempty"`
	DKIMAlign    string   `json:"dkim_alignment,omitempty"`
	SPFAligned   bool     `json:"spf_aligned"`
	DKIMAligned  bool     `json:"dkim_aligned"`
	DKIMDomain   string   `json:"dkim_domain,omitempty"`
	Reason       string   `json:"reason"`
	Warnings     []string `json:"warnings,omitempty"`
}

func runDMARC(ctx context.Context, env *Env, args []string) error {
	_, args, err := subcommand(args, "check")
	if err != nil {
		return err
	}
	return runDMARCCheck(ctx, env, args)
}

func runDMARCCheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "dmarc check",
		"dmarc check FROM-DOMAIN [--spf RESULT:DOMAIN] [--dkim RESULT:DOMAIN ...] --resolver host:port [--json]")
	var spf, dkim dmarcResultFlags
	fs.Var(&spf, "spf", "the SPF `RESULT:DOMAIN` (MAIL FROM domain, or HELO when MAIL FROM was empty)")
	fs.Var(&dkim, "dkim", "a DKIM signature's `RESULT:DOMAIN` (its d=); repeat for several")
	resolver := fs.String("resolver", "", "the DNS resolver to ask, `host:port`")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("dmarc check takes one FROM-DOMAIN")
	}
	if len(spf) > 1 {
		return usagef("--spf given more than once")
	}
	if *resolver == "" {
		return usagef("--resolver host:port is required")
	}
	client, err := dnsx.NewClient(*resolver, dnsx.ClientConfig{})
	if err != nil {
		return usageError{err}
	}
	in := dmarc.Input{FromDomains: []string{pos[0]}}
	if len(spf) == 1 {
		in.SPF.Result, in.SPF.Domain, _ = splitDMARCResult(spf[0])
	}
	for _, d := range dkim {
		r, dom, _ := splitDMARCResult(d)
		in.DKIM = append(in.DKIM, dmarc.DKIM{Result: r, Domain: dom})
	}
	ev := &dmarc.Evaluator{Resolver: client}
	out := newDMARCCheckOutput(ev.Evaluate(ctx, in))
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printDMARCCheck(env.Stdout, out, in)
	return nil
}

func newDMARCCheckOutput(v dmarc.Verdict) dmarcCheckOutput {
	out := dmarcCheckOutput{
		FromDomain: v.FromDomain, Result: string(v.Result), PolicyDomain: v.PolicyDomain, Record: v.TXT,
		Requested: string(v.Requested), RequestedBy: v.RequestedBy, Disposition: string(v.Disposition), Sampled: v.Sampled,
		SPFAligned: v.SPFAligned, DKIMAligned: v.DKIMAligned, DKIMDomain: v.DKIMDomain, Reason: v.Reason,
	}
	if v.Record != nil {
		out.SPFAlignment, out.DKIMAlign = v.Record.SPF.String(), v.Record.DKIM.String()
		out.Warnings = v.Record.Warnings
	}
	return out
}

func printDMARCCheck(w io.Writer, out dmarcCheckOutput, in dmarc.Input) {
	fmt.Fprintf(w, "RFC5322.From domain: %s\n", out.FromDomain)
	switch {
	case out.Record == "":
		fmt.Fprintf(w, "DMARC record:        none found\n")
	case out.PolicyDomain != out.FromDomain:
		fmt.Fprintf(w, "DMARC record:        _dmarc.%s (Organizational Domain): %s\n", out.PolicyDomain, out.Record)
	default:
		fmt.Fprintf(w, "DMARC record:        _dmarc.%s: %s\n", out.PolicyDomain, out.Record)
	}
	for _, warn := range out.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	if out.Record != "" && out.Requested != "" {
		fmt.Fprintf(w, "SPF:                 %s for %s, %s alignment: %s\n",
			orDash(in.SPF.Result), orDash(in.SPF.Domain), out.SPFAlignment, alignedWord(out.SPFAligned))
		if len(in.DKIM) == 0 {
			fmt.Fprintf(w, "DKIM:                no signature, %s alignment: not aligned\n", out.DKIMAlign)
		}
		for _, d := range in.DKIM {
			aligned := out.DKIMAligned && strings.EqualFold(strings.TrimSuffix(d.Domain, "."), out.DKIMDomain) && d.Result == "pass"
			fmt.Fprintf(w, "DKIM:                %s for d=%s, %s alignment: %s\n", d.Result, d.Domain, out.DKIMAlign, alignedWord(aligned))
		}
	}
	fmt.Fprintf(w, "Result:              dmarc=%s\n", out.Result)
	if out.Requested != "" {
		fmt.Fprintf(w, "Requested policy:    %s (%s=)\n", out.Requested, out.RequestedBy)
	}
	sampled := ""
	if !out.Sampled && out.Result == "fail" {
		sampled = " (not sampled by pct: next lower policy)"
	}
	fmt.Fprintf(w, "Policy to apply:     %s%s\n", out.Disposition, sampled)
	fmt.Fprintf(w, "Reason:              %s\n", out.Reason)
}

func alignedWord(b bool) string {
	if b {
		return "aligned"
	}
	return "not aligned"
}

func orDash(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
