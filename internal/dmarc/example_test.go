package dmarc_test

import (
	"context"
	"fmt"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/dnsx"
)

// resolver stands for the dnsx.Resolver a real caller passes, such as a
// *dnsx.Client or a dnsx.Stub.
var resolver dnsx.Resolver = dnsx.NewStub(mustZone(`_dmarc.example.com. TXT "v=DMARC1; p=reject"`), nil)

func mustZone(records string) *dnsx.Zone {
	z := dnsx.NewZone()
	if err := z.AddDomain("example.com"); err != nil {
		panic(err)
	}
	if err := z.Add(records); err != nil {
		panic(err)
	}
	return z
}

func ExampleEvaluator_Evaluate() {
	ev := &dmarc.Evaluator{Resolver: resolver}
	v := ev.Evaluate(context.Background(), dmarc.Input{
		FromDomains: []string{"example.com"},
		SPF:         dmarc.SPF{Result: "pass", Domain: "bounces.example.com"},
		DKIM:        []dmarc.DKIM{{Result: "fail", Domain: "example.com"}},
	})
	fmt.Println(v.Result, v.Requested, v.Disposition, v.SPFAligned)
	// Output: pass reject none true
}
