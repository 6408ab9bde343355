package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/dkim"
)

func runARC(ctx context.Context, env *Env, args []string) error {
	verb, rest, err := subcommand(args, "verify")
	if err != nil {
		return err
	}
	switch verb {
	case "verify":
		return runARCVerify(ctx, env, rest)
	}
	return nil
}

// arcResultJSON is the output of `arc verify --json`.
type arcResultJSON struct {
	Result     string       `json:"result"`
	Reason     string       `json:"reason,omitempty"`
	Instances  int          `json:"instances"`
	OldestPass *int         `json:"oldest_pass,omitempty"`
	Temporary  bool         `json:"temporary,omitempty"`
	Sets       []arcSetJSON `json:"sets,omitempty"`
}

type arcSetJSON struct {
	Instance     int    `json:"instance"`
	CV           string `json:"cv"`
	Seal         string `json:"seal"`
	SealReason   string `json:"seal_reason,omitempty"`
	SealDomain   string `json:"seal_domain"`
	SealSelector string `json:"seal_selector"`
	AMS          string `json:"ams"`
	AMSReason    string `json:"ams_reason,omitempty"`
	AMSDomain    string `json:"ams_domain,omitempty"`
	AMSSelector  string `json:"ams_selector,omitempty"`
	AuthservID   string `json:"authserv_id"`
}

func runARCVerify(ctx context.Context, env *Env, args []string) error {
	client, asJSON, err := messageCheckFlags(env, "arc verify", args)
	if err != nil {
		return err
	}
	v := &arc.Validator{Resolver: client}
	res, err := v.Validate(ctx, bufio.NewReader(env.Stdin))
	if errors.Is(err, dkim.ErrHeaderTooLarge) {
		return usagef("%v", err)
	}
	if err != nil {
		return fmt.Errorf("reading the message: %w", err)
	}
	if asJSON {
		err = writeJSON(env.Stdout, arcJSON(res))
	} else {
		err = printARC(env.Stdout, res)
	}
	if err != nil {
		return err
	}
	if res.Status == arc.StatusFail {
		return errors.New("the ARC chain failed")
	}
	return nil
}

func arcJSON(res *arc.Result) arcResultJSON {
	j := arcResultJSON{Result: string(res.Status), Reason: res.Reason, Instances: res.Instances, Temporary: res.Temporary}
	if res.Status == arc.StatusPass {
		j.OldestPass = &res.OldestPass
	}
	for _, s := range res.Sets {
		sj := arcSetJSON{
			Instance: s.Instance, CV: string(s.Seal.CV),
			Seal: string(s.AS), SealReason: s.ASReason, SealDomain: s.Seal.Domain, SealSelector: s.Seal.Selector,
			AMS: string(s.AMS), AMSReason: s.AMSReason, AuthservID: s.AuthResults.AuthservID,
		}
		if s.MessageSig != nil {
			sj.AMSDomain, sj.AMSSelector = s.MessageSig.Domain, s.MessageSig.Selector
		}
		j.Sets = append(j.Sets, sj)
	}
	return j
}

// printARC prints the arc resinfo, then one line per set, newest first as
// they appear in the message.
func printARC(w io.Writer, res *arc.Result) error {
	var b strings.Builder
	b.WriteString(res.AuthResult(""))
	b.WriteString("\n")
	for i := len(res.Sets) - 1; i >= 0; i-- {
		s := res.Sets[i]
		fmt.Fprintf(&b, "i=%d cv=%s seal=%s header.d=%s header.s=%s%s", s.Instance, s.Seal.CV, s.AS, s.Seal.Domain, s.Seal.Selector, reason(s.ASReason))
		fmt.Fprintf(&b, "; ams=%s", s.AMS)
		if s.MessageSig != nil {
			fmt.Fprintf(&b, " header.d=%s header.s=%s", s.MessageSig.Domain, s.MessageSig.Selector)
		}
		fmt.Fprintf(&b, "%s; aar authserv-id=%s\n", reason(s.AMSReason), s.AuthResults.AuthservID)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func reason(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
