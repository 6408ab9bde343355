// Package dnsfake has an in-memory dnsx.Resolver for tests that need no
// DNS server (package dnstest runs a real one on loopback).
package dnsfake

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"sealpost.dev/sealpost/internal/dnsx"
)

// TXT is an in-memory dnsx.Resolver that answers TXT queries only, for
// table-driven suites of thousands of cases where a server on loopback
// would be slow: TXT records by name, and names that fail temporarily.
// A name without records is NXDOMAIN. The other lookups panic. It is safe
// for concurrent use.
type TXT struct {
	mu      sync.Mutex
	txt     map[string][]string
	tempErr map[string]bool
	queries int
}

// NewTXT returns an empty TXT resolver.
func NewTXT() *TXT {
	return &TXT{txt: map[string][]string{}, tempErr: map[string]bool{}}
}

func txtKey(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Add adds a TXT record at name.
func (f *TXT) Add(name, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txt[txtKey(name)] = append(f.txt[txtKey(name)], text)
}

// Fail makes lookups of name fail with a temporary error (SERVFAIL).
func (f *TXT) Fail(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tempErr[txtKey(name)] = true
}

// Recover undoes Fail.
func (f *TXT) Recover(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tempErr, txtKey(name))
}

// Queries returns how many TXT lookups were made.
func (f *TXT) Queries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

// LookupTXT implements dnsx.Resolver.
func (f *TXT) LookupTXT(_ context.Context, name string) ([]string, dnsx.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	key := txtKey(name)
	if f.tempErr[key] {
		return nil, dnsx.Result{}, fmt.Errorf("%w: SERVFAIL", dnsx.ErrTemporary)
	}
	txts, ok := f.txt[key]
	if !ok {
		return nil, dnsx.Result{}, fmt.Errorf("%w: %s", dnsx.ErrNotFound, key)
	}
	return txts, dnsx.Result{}, nil
}

// LookupMX implements dnsx.Resolver; it is not answered.
func (f *TXT) LookupMX(context.Context, string) ([]dnsx.MX, dnsx.Result, error) {
	panic("dnsfake.TXT: MX not answered")
}

// LookupIP implements dnsx.Resolver; it is not answered.
func (f *TXT) LookupIP(context.Context, string) ([]netip.Addr, dnsx.Result, error) {
	panic("dnsfake.TXT: A/AAAA not answered")
}

// LookupAddr implements dnsx.Resolver; it is not answered.
func (f *TXT) LookupAddr(context.Context, netip.Addr) ([]string, dnsx.Result, error) {
	panic("dnsfake.TXT: PTR not answered")
}

// LookupTLSA implements dnsx.Resolver; it is not answered.
func (f *TXT) LookupTLSA(context.Context, int, string, string) ([]dnsx.TLSA, dnsx.Result, error) {
	panic("dnsfake.TXT: TLSA not answered")
}

// LookupCNAME implements dnsx.Resolver; it is not answered.
func (f *TXT) LookupCNAME(context.Context, string) (string, dnsx.Result, error) {
	panic("dnsfake.TXT: CNAME not answered")
}

// LookupSRV implements dnsx.Resolver; it is not answered.
func (f *TXT) LookupSRV(context.Context, string) ([]dnsx.SRV, dnsx.Result, error) {
	panic("dnsfake.TXT: SRV not answered")
}
