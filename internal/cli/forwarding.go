package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// runForward manages an account's forwarding rules as the administrator:
// no step-up, but an outside target still confirms by the link it is sent.
func runForward(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "add", "list", "del", "log")
	if err != nil {
		return err
	}
	var f instanceFlags
	var keepCopy bool
	fs := newFlagSet(env, "account forward "+verb, "account forward "+verb+" [-config FILE | --data DIR] [--json] "+map[string]string{
		"add": "USER TARGET [--keep-copy]", "list": "USER", "del": "USER ID", "log": "USER"}[verb])
	f.register(fs, true)
	if verb == "add" {
		fs.BoolVar(&keepCopy, "keep-copy", false, "keep a copy of each forwarded message in the account's INBOX")
	}
	pos, err := accountArgs(fs, args, map[string]int{"add": 2, "list": 1, "del": 2, "log": 1}[verb])
	if err != nil {
		return err
	}
	var id int64
	if verb == "del" {
		if id, err = strconv.ParseInt(pos[1], 10, 64); err != nil || id <= 0 {
			return usagef("account forward del: %q is not a rule ID (see account forward list)", pos[1])
		}
	}
	svc, done, err := openAccounts(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	switch verb {
	case "add":
		r, err := svc.AddForwardingAdmin(ctx, pos[0], pos[1], keepCopy)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, forwardRow(r))
		}
		fmt.Fprintf(env.Stdout, "forwarding %d of %s to %s: %s\n", r.ID, pos[0], r.Target, r.State)
		if r.State == store.ForwardPending {
			fmt.Fprintf(env.Stdout, "A confirmation message was queued to %s; nothing is forwarded until its link is followed (within 7 days).\n", r.Target)
		}
	case "list":
		rules, err := svc.ListForwarding(ctx, pos[0])
		if err != nil {
			return err
		}
		return printForwarding(env.Stdout, rules, f.json)
	case "del":
		if err := svc.RemoveForwardingAdmin(ctx, pos[0], id); err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, map[string]any{"removed": id})
		}
		fmt.Fprintf(env.Stdout, "forwarding %d of %s removed\n", id, pos[0])
	case "log":
		es, err := svc.ForwardingLog(ctx, pos[0], 100)
		if err != nil {
			return err
		}
		return printActivity(env.Stdout, es, nil, f.json)
	}
	return nil
}

// forwardJSON is a forwarding rule in --json output; never its token hash.
type forwardJSON struct {
	ID           int64      `json:"id"`
	Target       string     `json:"target"`
	KeepCopy     bool       `json:"keep_copy"`
	State        string     `json:"state"`
	Created      time.Time  `json:"created"`
	Confirmed    *time.Time `json:"confirmed"`
	TokenExpires *time.Time `json:"confirm_by,omitempty"`
	Reminders    int        `json:"reminders"`
}

func forwardRow(r store.ForwardRule) forwardJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	return forwardJSON{r.ID, r.Target, r.KeepCopy, string(r.State), r.Created.UTC(), opt(r.Confirmed), opt(r.TokenExpires), r.Reminders}
}

func printForwarding(w io.Writer, rules []store.ForwardRule, asJSON bool) error {
	if asJSON {
		return writeJSONRows(w, rules, forwardRow)
	}
	if len(rules) == 0 {
		fmt.Fprintln(w, "no forwarding")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTARGET\tSTATE\tKEEP COPY\tCREATED\tCONFIRMED")
	for _, r := range rules {
		confirmed := "-"
		if !r.Confirmed.IsZero() {
			confirmed = r.Confirmed.UTC().Format(time.DateTime)
		}
		keep := "no"
		if r.KeepCopy {
			keep = "yes"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Target, r.State, keep, r.Created.UTC().Format(time.DateTime), confirmed)
	}
	return tw.Flush()
}
