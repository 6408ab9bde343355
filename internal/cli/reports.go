package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/reports"
	"sealpost.dev/sealpost/internal/store"
)

// reportDMARCOutput is what `report dmarc --json` prints.
type reportDMARCOutput struct {
	Since   time.Time               `json:"since"`
	Reports int                     `json:"reports"`
	Skipped int                     `json:"skipped,omitempty"`
	Sources []reports.SourceSummary `json:"sources"`
}

func runReport(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "dmarc", "tls", "import")
	if err != nil {
		return err
	}
	var f instanceFlags
	var domain string
	var days int
	usage := map[string]string{
		"dmarc":  "report dmarc [-config FILE | --data DIR] [--domain D] [--days N] [--json]",
		"tls":    "report tls [-config FILE | --data DIR] [--domain D] [--days N] [--json]",
		"import": "report import [-config FILE | --data DIR] [--json] < MESSAGE",
	}[verb]
	fs := newFlagSet(env, "report "+verb, usage)
	f.register(fs, true)
	if verb != "import" {
		fs.StringVar(&domain, "domain", "", "show the reports about `DOMAIN` only")
		fs.IntVar(&days, "days", 30, "show the reports of the last `N` days")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return usagef("report %s: no arguments expected", verb)
	}
	if days <= 0 && verb != "import" {
		return usagef("report %s: --days must be above 0", verb)
	}
	st, done, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	switch verb {
	case "import":
		in, err := reports.Ingest(ctx, st, env.Stdin)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, in)
		}
		state := "stored"
		if in.Duplicate {
			state = "already stored"
		}
		fmt.Fprintf(env.Stdout, "%s report %s from %s about %s: %s\n", in.Kind, in.ReportID, in.Org, in.Domain, state)
		return nil
	}
	since := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
	if verb == "tls" {
		return reportTLS(ctx, env, st, domain, since, f.json)
	}
	list, err := st.ListReceivedReports(ctx, store.ReportDMARC, domain, since)
	if err != nil {
		return err
	}
	sums, skipped := reports.SummarizeDMARC(list)
	out := reportDMARCOutput{Since: since.UTC().Truncate(time.Second), Reports: len(list), Skipped: skipped, Sources: sums}
	if out.Sources == nil {
		out.Sources = []reports.SourceSummary{}
	}
	if f.json {
		return writeJSON(env.Stdout, out)
	}
	printDMARCSummary(env.Stdout, out)
	return nil
}

func printDMARCSummary(w io.Writer, out reportDMARCOutput) {
	fmt.Fprintf(w, "%d DMARC reports received since %s", out.Reports, out.Since.Format(time.DateOnly))
	if out.Skipped > 0 {
		fmt.Fprintf(w, " (%d unreadable, skipped)", out.Skipped)
	}
	fmt.Fprintln(w)
	if len(out.Sources) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tSOURCE IP\tFROM\tMESSAGES\tDMARC PASS\tSPF ALIGNED\tDKIM ALIGNED\tREPORTERS")
	for _, s := range out.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", s.Domain, s.SourceIP, s.HeaderFrom, s.Messages, s.Pass, s.SPFPass, s.DKIMPass, len(s.Reporters))
	}
	tw.Flush()
	var fixes []string
	for _, s := range out.Sources {
		if s.Advice != "" {
			fixes = append(fixes, s.Advice)
		}
	}
	if len(fixes) == 0 {
		fmt.Fprintln(w, "\nevery source passes DMARC")
		return
	}
	fmt.Fprintln(w, "\nto fix:")
	for _, a := range fixes {
		fmt.Fprintln(w, "  "+a)
	}
}

// reportTLSOutput is what `report tls --json` prints.
type reportTLSOutput struct {
	Since    time.Time               `json:"since"`
	Reports  int                     `json:"reports"`
	Skipped  int                     `json:"skipped,omitempty"`
	Policies []reports.TLSSummaryRow `json:"policies"`
}

func reportTLS(ctx context.Context, env *Env, st store.Store, domain string, since time.Time, asJSON bool) error {
	list, err := st.ListReceivedReports(ctx, store.ReportTLS, domain, since)
	if err != nil {
		return err
	}
	sums, skipped := reports.SummarizeTLS(list)
	out := reportTLSOutput{Since: since.UTC().Truncate(time.Second), Reports: len(list), Skipped: skipped, Policies: sums}
	if out.Policies == nil {
		out.Policies = []reports.TLSSummaryRow{}
	}
	if asJSON {
		return writeJSON(env.Stdout, out)
	}
	w := env.Stdout
	fmt.Fprintf(w, "%d TLS reports received since %s", out.Reports, out.Since.Format(time.DateOnly))
	if out.Skipped > 0 {
		fmt.Fprintf(w, " (%d unreadable, skipped)", out.Skipped)
	}
	fmt.Fprintln(w)
	if len(sums) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOMAIN\tPOLICY\tSUCCESSFUL\tFAILED\tFAILURES\tREPORTERS")
	for _, s := range sums {
		var fails []string
		for _, t := range slices.Sorted(maps.Keys(s.Failures)) {
			fails = append(fails, fmt.Sprintf("%s: %d", t, s.Failures[t]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", s.Domain, s.PolicyType, s.Successful, s.Failed,
			strings.Join(fails, ", "), strings.Join(s.Reporters, ", "))
	}
	return tw.Flush()
}
