package dkim

import (
	"bytes"
	"context"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

// TestAllocations keeps the fixed cost of a message from creeping back:
// Verify and Sign of a 10 KiB message with an Ed25519 key once made 46 and
// 105 allocations. The bounds leave a little room for the standard
// library.
func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes sync.Pool and allocation counts")
	}
	edKey, _ := testKeys(t)
	msg := benchMessage(10 << 10)
	s := &Signer{Domain: "example.org", Selector: "s", Key: edKey}
	dns := dnsfake.NewTXT()
	publish(t, dns, s)
	field, err := s.Sign(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	signed := append([]byte(field), msg...)
	v := &Verifier{Resolver: dns}
	verify := testing.AllocsPerRun(100, func() {
		res, err := v.Verify(context.Background(), bytes.NewReader(signed))
		if err != nil || res[0].Status != StatusPass {
			t.Fatal(res, err)
		}
	})
	sign := testing.AllocsPerRun(100, func() {
		if _, err := s.Sign(bytes.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
	})
	h, err := ReadHeader(bufioReader(string(signed)), 0)
	if err != nil {
		t.Fatal(err)
	}
	body := msg[bytes.Index(msg, []byte("\r\n\r\n"))+4:]
	// One room for every run, made before: the results of a run are not
	// used after it.
	room := new(SignatureRoom)
	in := testing.AllocsPerRun(100, func() {
		res, err := v.VerifyHeaderIn(context.Background(), h, bytes.NewReader(body), room)
		if err != nil || res[0].Status != StatusPass || res[0].Signature != &room.one.sig[0].sig {
			t.Fatal(res, err)
		}
	})
	header := testing.AllocsPerRun(100, func() {
		if _, err := v.VerifyHeader(context.Background(), h, bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("Verify: %.0f allocations, Sign: %.0f, VerifyHeader: %.0f, VerifyHeaderIn: %.0f", verify, sign, header, in)
	if in != header-1 {
		t.Errorf("VerifyHeaderIn made %.0f allocations, VerifyHeader %.0f: want one less", in, header)
	}
	if verify > 16 {
		t.Errorf("Verify made %.0f allocations, want at most 16", verify)
	}
	if sign > 12 {
		t.Errorf("Sign made %.0f allocations, want at most 12", sign)
	}
}
