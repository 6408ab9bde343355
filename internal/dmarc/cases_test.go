package dmarc

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

// TestCases runs every testdata/eval/*.case: a comment saying what the case
// is about, the input as "from:", "spf: RESULT DOMAIN", "dkim: RESULT
// DOMAIN" and "sample: N" lines, then "---" and the DNS zone, served by
// dnstest. The verdict is compared with the .result file beside it; a
// difference is written to .got for review. Adding a case needs no Go code.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/eval/*.case")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".case")
		t.Run(name, func(t *testing.T) {
			in, sample, zone := readCase(t, file)
			srv := dnstest.Start(t, zone)
			client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Timeout: 300 * time.Millisecond, Attempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			ev := &Evaluator{Resolver: client, Sample: func() int { return sample }}
			start := time.Now()
			v := ev.Evaluate(t.Context(), in)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("evaluation took %v, past the DNS budget", d)
			}
			// Ports change from run to run.
			got := loopbackPort.ReplaceAllString(formatVerdict(v), "127.0.0.1:PORT")
			golden(t, "eval/"+name+".result", got)
		})
	}
}

var loopbackPort = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

func readCase(t *testing.T, file string) (Input, int, string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	head, zone, ok := strings.Cut(string(b), "\n---\n")
	if !ok {
		t.Fatalf("%s: no --- line before the zone", file)
	}
	var in Input
	sample := 0
	for line := range strings.SplitSeq(head, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		result, domain, _ := strings.Cut(value, " ")
		switch key {
		case "from":
			in.FromDomains = append(in.FromDomains, value)
		case "spf":
			in.SPF = SPF{Result: result, Domain: domain}
		case "dkim":
			in.DKIM = append(in.DKIM, DKIM{Result: result, Domain: domain})
		case "sample":
			if sample, err = strconv.Atoi(value); err != nil {
				t.Fatalf("%s: sample %q", file, value)
			}
		default:
			t.Fatalf("%s: unknown line %q", file, line)
		}
	}
	return in, sample, zone
}

func formatVerdict(v Verdict) string {
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%-14s %v\n", k+":", v) }
	line("result", v.Result)
	line("from domain", v.FromDomain)
	line("policy domain", v.PolicyDomain)
	line("record", v.TXT)
	line("requested", strings.TrimSpace(string(v.Requested)+" "+v.RequestedBy))
	line("disposition", v.Disposition)
	line("sampled", v.Sampled)
	line("spf aligned", v.SPFAligned)
	line("dkim aligned", strings.TrimSpace(fmt.Sprint(v.DKIMAligned, " ", v.DKIMDomain)))
	line("reason", v.Reason)
	return b.String()
}
