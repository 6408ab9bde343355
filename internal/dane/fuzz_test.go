package dane

import (
	"bytes"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
)

// FuzzVerify checks records of arbitrary fields and data against a fixed
// chain. Verify must never panic, and may succeed only when the record's
// data really is the association data of a certificate its usage allows.
// Seeds are in testdata/fuzz/FuzzVerify.
func FuzzVerify(f *testing.F) {
	p := newPKI(f)
	chain := p.chain(p.leaf)
	f.Add(uint8(3), uint8(1), uint8(1), tlsa(f, 3, 1, 1, p.leaf).Data)
	f.Add(uint8(2), uint8(0), uint8(0), p.inter.cert.Raw)
	f.Fuzz(func(t *testing.T, usage, selector, mtype uint8, data []byte) {
		rec := dnsx.TLSA{Usage: usage, Selector: selector, MatchingType: mtype, Data: data}
		err := Verify([]dnsx.TLSA{rec}, chain, []string{"mx.example.test"})
		if err != nil {
			return
		}
		if !Usable(rec) {
			t.Fatalf("unusable record %d %d %d accepted", usage, selector, mtype)
		}
		candidates := chain[:1]
		if usage == UsageDANETA {
			candidates = chain
		}
		for _, c := range candidates {
			if want, err := Association(c, selector, mtype); err == nil && bytes.Equal(want, data) {
				return
			}
		}
		t.Fatalf("record %d %d %d %x accepted without matching", usage, selector, mtype, data)
	})
}
