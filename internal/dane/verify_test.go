package dane

import (
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

func TestVerify(t *testing.T) {
	p := newPKI(t)
	mx := []string{"mx.example.test"}
	type tc struct {
		name    string
		records []dnsx.TLSA
		chain   []*x509.Certificate
		names   []string
		ok      bool
	}
	var tests []tc
	// Every selector and matching type, for both usable usages.
	for _, sel := range []uint8{SelectorCert, SelectorSPKI} {
		for _, mt := range []uint8{MatchFull, MatchSHA256, MatchSHA512} {
			tests = append(tests,
				tc{fmt.Sprintf("DANE-EE %d %d leaf", sel, mt), []dnsx.TLSA{tlsa(t, 3, sel, mt, p.leaf)}, p.chain(p.leaf), mx, true},
				tc{fmt.Sprintf("DANE-TA %d %d intermediate", sel, mt), []dnsx.TLSA{tlsa(t, 2, sel, mt, p.inter)}, p.chain(p.leaf), mx, true},
				tc{fmt.Sprintf("DANE-TA %d %d root", sel, mt), []dnsx.TLSA{tlsa(t, 2, sel, mt, p.root)}, p.chain(p.leaf), mx, true},
			)
		}
	}
	tests = append(tests, []tc{
		{"DANE-EE wrong key", []dnsx.TLSA{tlsa(t, 3, 1, 1, p.other)}, p.chain(p.leaf), mx, false},
		{"DANE-EE on the intermediate", []dnsx.TLSA{tlsa(t, 3, 1, 1, p.inter)}, p.chain(p.leaf), mx, false},
		{"DANE-TA wrong anchor", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.unrelated)}, p.chain(p.leaf), mx, false},
		{"DANE-TA anchor not in chain", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.root)}, []*x509.Certificate{p.leaf.cert, p.inter.cert}, mx, false},
		{"DANE-TA intermediate only sent", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}, []*x509.Certificate{p.leaf.cert, p.inter.cert}, mx, true},
		{"DANE-TA chain out of order", []dnsx.TLSA{tlsa(t, 2, 0, 1, p.root)}, []*x509.Certificate{p.leaf.cert, p.root.cert, p.inter.cert}, mx, true},
		{"DANE-TA intermediate missing", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.root)}, []*x509.Certificate{p.leaf.cert, p.root.cert}, mx, false},
		{"expired leaf, DANE-EE passes", []dnsx.TLSA{tlsa(t, 3, 1, 1, p.expired)}, p.chain(p.expired), mx, true},
		{"expired leaf, DANE-TA fails", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}, p.chain(p.expired), mx, false},
		{"name mismatch, DANE-EE passes", []dnsx.TLSA{tlsa(t, 3, 0, 1, p.other)}, p.chain(p.other), mx, true},
		{"name mismatch, DANE-TA fails", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}, p.chain(p.other), mx, false},
		{"DANE-TA names the base domain", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}, p.chain(p.leaf), []string{"alias.example.net", "MX.example.test."}, true},
		{"DANE-TA with no names", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}, p.chain(p.leaf), nil, false},
		{"DANE-TA wildcard one label", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}, p.chain(p.wildcard), mx, true},
		{"DANE-TA wildcard two labels", []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}, p.chain(p.wildcard), []string{"a.mx.example.test"}, false},
		{"DANE-EE self-signed leaf", []dnsx.TLSA{tlsa(t, 3, 1, 2, p.selfSigned)}, []*x509.Certificate{p.selfSigned.cert}, mx, true},
		{"DANE-TA self-signed leaf as its own anchor", []dnsx.TLSA{tlsa(t, 2, 0, 1, p.selfSigned)}, []*x509.Certificate{p.selfSigned.cert}, mx, true},
		{"PKIX-TA ignored", []dnsx.TLSA{tlsa(t, 0, 1, 1, p.root)}, p.chain(p.leaf), mx, false},
		{"PKIX-EE ignored", []dnsx.TLSA{tlsa(t, 1, 1, 1, p.leaf)}, p.chain(p.leaf), mx, false},
		{"unknown usage ignored", []dnsx.TLSA{{Usage: 4, Selector: 1, MatchingType: 1, Data: tlsa(t, 3, 1, 1, p.leaf).Data}}, p.chain(p.leaf), mx, false},
		{"unknown selector ignored", []dnsx.TLSA{{Usage: 3, Selector: 2, MatchingType: 0, Data: p.leaf.cert.Raw}}, p.chain(p.leaf), mx, false},
		{"unknown matching type ignored", []dnsx.TLSA{{Usage: 3, Selector: 1, MatchingType: 3, Data: tlsa(t, 3, 1, 1, p.leaf).Data}}, p.chain(p.leaf), mx, false},
		{"short digest ignored", []dnsx.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: tlsa(t, 3, 1, 1, p.leaf).Data[:31]}}, p.chain(p.leaf), mx, false},
		{"unusable and wrong records beside a right one", []dnsx.TLSA{
			tlsa(t, 0, 1, 1, p.leaf), tlsa(t, 3, 1, 1, p.other), tlsa(t, 2, 1, 1, p.unrelated), tlsa(t, 3, 1, 2, p.leaf),
		}, p.chain(p.leaf), mx, true},
		{"no records", nil, p.chain(p.leaf), mx, false},
		{"no certificate", []dnsx.TLSA{tlsa(t, 3, 1, 1, p.leaf)}, nil, mx, false},
	}...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.records, tc.chain, tc.names)
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrNoMatch) {
				t.Fatalf("Verify = %v, want ErrNoMatch", err)
			}
		})
	}
}

// TestVerifyAtTime checks DANE-TA validity dates against the given time,
// and that DANE-EE ignores them.
func TestVerifyAtTime(t *testing.T) {
	p := newPKI(t)
	ta := []dnsx.TLSA{tlsa(t, 2, 1, 1, p.inter)}
	ee := []dnsx.TLSA{tlsa(t, 3, 1, 1, p.leaf)}
	mx := []string{"mx.example.test"}
	later := time.Now().Add(365 * 24 * time.Hour)
	if err := verifyAt(ta, p.chain(p.leaf), mx, later); !errors.Is(err, ErrNoMatch) {
		t.Errorf("DANE-TA a year later: %v, want ErrNoMatch", err)
	}
	if err := verifyAt(ee, p.chain(p.leaf), mx, later); err != nil {
		t.Errorf("DANE-EE a year later: %v", err)
	}
}

func TestUsable(t *testing.T) {
	d32, d64 := make([]byte, 32), make([]byte, 64)
	tests := []struct {
		rec  dnsx.TLSA
		want bool
	}{
		{dnsx.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: d32}, true},
		{dnsx.TLSA{Usage: 2, Selector: 0, MatchingType: 2, Data: d64}, true},
		{dnsx.TLSA{Usage: 3, Selector: 0, MatchingType: 0, Data: []byte{1}}, true},
		{dnsx.TLSA{Usage: 3, Selector: 0, MatchingType: 0}, false},
		{dnsx.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: d64}, false},
		{dnsx.TLSA{Usage: 3, Selector: 1, MatchingType: 2, Data: d32}, false},
		{dnsx.TLSA{Usage: 0, Selector: 1, MatchingType: 1, Data: d32}, false},
		{dnsx.TLSA{Usage: 1, Selector: 1, MatchingType: 1, Data: d32}, false},
		{dnsx.TLSA{Usage: 255, Selector: 1, MatchingType: 1, Data: d32}, false},
		{dnsx.TLSA{Usage: 3, Selector: 2, MatchingType: 1, Data: d32}, false},
		{dnsx.TLSA{Usage: 3, Selector: 1, MatchingType: 255, Data: d32}, false},
	}
	for _, tc := range tests {
		if got := Usable(tc.rec); got != tc.want {
			t.Errorf("Usable(%d %d %d, %d bytes) = %v, want %v", tc.rec.Usage, tc.rec.Selector, tc.rec.MatchingType, len(tc.rec.Data), got, tc.want)
		}
	}
}
