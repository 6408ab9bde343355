package reports

import (
	"net/netip"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// openStore returns a new SQLite store in a temporary directory.
func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// day is the UTC day the tests record evaluations on.
var day = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

// evaluation returns an evaluation of mail from example.com by ip, all
// passing.
func evaluation(ip string) DMARCEvaluation {
	return DMARCEvaluation{
		Time:         day.Add(10 * time.Hour),
		PolicyDomain: "example.com",
		RUA:          []dmarc.URI{{Address: "mailto:dmarc@example.com"}},
		Policy:       PolicyPublished{Domain: "example.com", ADKIM: "r", ASPF: "r", P: "reject", SP: "reject", Pct: 100, FO: "0"},
		SourceIP:     netip.MustParseAddr(ip),
		HeaderFrom:   "example.com", EnvelopeFrom: "example.com", EnvelopeTo: "example.org",
		Disposition: "none", DKIMAligned: true, SPFAligned: true,
		DKIM: []DKIMAuthResult{{Domain: "example.com", Selector: "s1", Result: "pass"}},
		SPF:  SPFAuthResult{Domain: "example.com", Scope: "mfrom", Result: "pass"},
	}
}
