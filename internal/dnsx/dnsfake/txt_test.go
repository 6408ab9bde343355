package dnsfake

import (
	"errors"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
)

func TestTXT(t *testing.T) {
	var _ dnsx.Resolver = NewTXT()
	r := NewTXT()
	r.Add("Sel._domainkey.Example.com.", "v=DKIM1; p=")
	r.Add("sel._domainkey.example.com", "second")
	r.Fail("down.example.com.")
	tests := []struct {
		name string
		want int
		err  error
	}{
		{"sel._domainkey.example.com", 2, nil},
		{"SEL._DOMAINKEY.EXAMPLE.COM.", 2, nil},
		{"missing.example.com", 0, dnsx.ErrNotFound},
		{"Down.Example.com", 0, dnsx.ErrTemporary},
	}
	for _, tt := range tests {
		txts, _, err := r.LookupTXT(t.Context(), tt.name)
		if len(txts) != tt.want || !errors.Is(err, tt.err) || tt.err == nil && err != nil {
			t.Errorf("LookupTXT(%s) = %q, %v; want %d records, %v", tt.name, txts, err, tt.want, tt.err)
		}
	}
	r.Recover("DOWN.example.com")
	if _, _, err := r.LookupTXT(t.Context(), "down.example.com"); !errors.Is(err, dnsx.ErrNotFound) {
		t.Errorf("after Recover: %v, want NXDOMAIN", err)
	}
	if n := r.Queries(); n != len(tests)+1 {
		t.Errorf("%d queries counted, want %d", n, len(tests)+1)
	}
}
