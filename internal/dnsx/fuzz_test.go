package dnsx

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzParseReply feeds arbitrary bytes to the reply processing as the answer
// to a query for example.test. of the given type. It must never panic, and
// whatever it accepts must respect the package's promises. Seeds are in
// testdata/fuzz/FuzzParseReply.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte{}, uint16(dns.TypeA))
	f.Fuzz(func(t *testing.T, raw []byte, qtype uint16) {
		query := new(dns.Msg).SetQuestion("example.test.", qtype)
		if len(raw) >= 2 {
			// Let the fuzzer past the ID check; mismatches are tested
			// elsewhere.
			query.Id = binary.BigEndian.Uint16(raw)
		}
		a, truncated, err := processReply(query, raw)
		if err != nil || truncated {
			return
		}
		if a.nxdomain && len(a.rrs) > 0 {
			t.Errorf("NXDOMAIN with %d records", len(a.rrs))
		}
		if len(a.rrs) > MaxAnswers {
			t.Errorf("%d records accepted", len(a.rrs))
		}
		if a.ttl > maxPositiveTTL {
			t.Errorf("ttl %d above the cap", a.ttl)
		}
		for _, rr := range a.rrs {
			h := rr.Header()
			if h.Rrtype != qtype || !strings.EqualFold(h.Name, a.target) {
				t.Errorf("record %v does not answer %s at %s", rr, dns.TypeToString[qtype], a.target)
			}
		}
		// Whatever was accepted converts without trouble.
		for _, mx := range mxFrom(a.rrs) {
			if mx.Host == "" {
				t.Error("MX with an empty host")
			}
		}
		for _, name := range ptrFrom(a.rrs) {
			if name == "" {
				t.Error("PTR with an empty name")
			}
		}
		txtFrom(a.rrs)
		addrsFrom(a.rrs)
		tlsaFrom(a.rrs)
	})
}
