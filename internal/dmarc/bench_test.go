package dmarc

import (
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

var benchInput = Input{
	FromDomains: []string{"news.example.com"},
	SPF:         SPF{Result: "pass", Domain: "bounces.esp.example"},
	DKIM: []DKIM{
		{Result: "pass", Domain: "esp.example"},
		{Result: "pass", Domain: "example.com"},
	},
}

// BenchmarkEvaluate measures one evaluation that falls back to the
// organizational domain's record, with DNS answered from memory, so the
// figure is DMARC's own cost: two TXT lookups, parsing, public suffix
// lookups and alignment.
func BenchmarkEvaluate(b *testing.B) {
	ev := &Evaluator{Resolver: testZone(), Sample: func() int { return 0 }}
	b.ReportAllocs()
	for b.Loop() {
		if v := ev.Evaluate(b.Context(), benchInput); v.Result != ResultPass {
			b.Fatal(v)
		}
	}
}

// BenchmarkEvaluateCachedClient measures the same evaluation through a
// dnsx.Client whose cache already holds the answers, as on a busy server.
func BenchmarkEvaluateCachedClient(b *testing.B) {
	srv := dnstest.Start(b, `
example.com. SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300
_dmarc.example.com. TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"
`)
	client, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ev := &Evaluator{Resolver: client, Sample: func() int { return 0 }}
	ev.Evaluate(b.Context(), benchInput)
	queries := srv.Queries()
	b.ReportAllocs()
	for b.Loop() {
		if v := ev.Evaluate(b.Context(), benchInput); v.Result != ResultPass {
			b.Fatal(v)
		}
	}
	if srv.Queries() != queries {
		b.Errorf("%d queries reached the server after warm-up", srv.Queries()-queries)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:a@example.com!10m,mailto:b@example.net"); err != nil {
			b.Fatal(err)
		}
	}
}
