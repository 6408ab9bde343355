package dmarc

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"sealpost.dev/sealpost/internal/dnsx"
)

// memResolver is an in-memory dnsx.Resolver for the table-driven tests and
// the benchmark: TXT records by name, names that exist (so that other names
// are NXDOMAIN), and names that fail temporarily.
type memResolver struct {
	txt     map[string][]string
	exists  map[string]bool // names with A or MX records
	fail    map[string]bool
	queries atomic.Int64
}

func newMemResolver(zone map[string][]string) *memResolver {
	return &memResolver{txt: zone, exists: map[string]bool{}, fail: map[string]bool{}}
}

var _ dnsx.Resolver = (*memResolver)(nil)

func canon(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

func (m *memResolver) check(name string) error {
	m.queries.Add(1)
	if m.fail[canon(name)] {
		return fmt.Errorf("%w: SERVFAIL for %s", dnsx.ErrTemporary, name)
	}
	return nil
}

// nameExists reports whether name or a name below it owns records.
func (m *memResolver) nameExists(name string) bool {
	for n := range m.txt {
		if n == name || strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	for n := range m.exists {
		if n == name || strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

func (m *memResolver) LookupTXT(_ context.Context, name string) ([]string, dnsx.Result, error) {
	if err := m.check(name); err != nil {
		return nil, dnsx.Result{}, err
	}
	n := canon(name)
	if !m.nameExists(n) {
		return nil, dnsx.Result{}, fmt.Errorf("%w: %s", dnsx.ErrNotFound, name)
	}
	return m.txt[n], dnsx.Result{}, nil
}

func (m *memResolver) LookupMX(_ context.Context, name string) ([]dnsx.MX, dnsx.Result, error) {
	if err := m.check(name); err != nil {
		return nil, dnsx.Result{}, err
	}
	if !m.nameExists(canon(name)) {
		return nil, dnsx.Result{}, fmt.Errorf("%w: %s", dnsx.ErrNotFound, name)
	}
	return nil, dnsx.Result{}, nil
}

func (m *memResolver) LookupIP(ctx context.Context, name string) ([]netip.Addr, dnsx.Result, error) {
	_, r, err := m.LookupMX(ctx, name)
	return nil, r, err
}

func (m *memResolver) LookupAddr(context.Context, netip.Addr) ([]string, dnsx.Result, error) {
	return nil, dnsx.Result{}, fmt.Errorf("%w: not in memResolver", dnsx.ErrTemporary)
}

func (m *memResolver) LookupTLSA(context.Context, int, string, string) ([]dnsx.TLSA, dnsx.Result, error) {
	return nil, dnsx.Result{}, fmt.Errorf("%w: not in memResolver", dnsx.ErrTemporary)
}

func (m *memResolver) LookupCNAME(_ context.Context, name string) (string, dnsx.Result, error) {
	return name, dnsx.Result{}, nil
}

func (m *memResolver) LookupSRV(context.Context, string) ([]dnsx.SRV, dnsx.Result, error) {
	return nil, dnsx.Result{}, fmt.Errorf("%w: not in memResolver", dnsx.ErrTemporary)
}
