package authres

import "testing"

// BenchmarkHeader builds the field of a typical inbound message, as the
// mail check does: SPF of MAIL FROM and HELO, one DKIM signature, no ARC
// chain and DMARC, results made by the constructors.
func BenchmarkHeader(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		results := []Result{
			SPF("pass", "matched ip4:192.0.2.0/24", "bounce+1234@mail.example.com", ""),
			SPF("pass", "matched a", "", "mail.example.com"),
			DKIM("pass", "", "example.com", "2026a", "ed25519-sha256", "Lq/8w+3aXpYq0r1Kc9ZtG2h4VbNwJ=="),
			ARC("none", "", ""),
			DMARC("pass", "p=reject dis=none", "example.com", "none"),
		}
		if _, err := Header("mx.sealpost.example", results); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHeaderAllocs checks that the field is built in place: the string
// returned is its only allocation.
func TestHeaderAllocs(t *testing.T) {
	for _, results := range [][]Result{nil, sample} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := Header("mx.sealpost.example", results); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 1 {
			t.Errorf("Header of %d results: %v allocations, want 1", len(results), allocs)
		}
	}
}
