package arc

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
)

// fakeDNS is an in-memory dnsx.Resolver for the table-driven suites: TXT
// records by name, and names that fail temporarily.
type fakeDNS struct {
	txt     map[string][]string
	tempErr map[string]bool
	queries int
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{txt: map[string][]string{}, tempErr: map[string]bool{}}
}

func (f *fakeDNS) add(name, txt string) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	f.txt[name] = append(f.txt[name], txt)
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, dnsx.Result, error) {
	f.queries++
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if f.tempErr[name] {
		return nil, dnsx.Result{}, fmt.Errorf("%w: SERVFAIL", dnsx.ErrTemporary)
	}
	txts, ok := f.txt[name]
	if !ok {
		return nil, dnsx.Result{}, fmt.Errorf("%w: %s", dnsx.ErrNotFound, name)
	}
	return txts, dnsx.Result{}, nil
}

func (f *fakeDNS) LookupMX(context.Context, string) ([]dnsx.MX, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupIP(context.Context, string) ([]netip.Addr, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupAddr(context.Context, netip.Addr) ([]string, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupTLSA(context.Context, int, string, string) ([]dnsx.TLSA, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupCNAME(context.Context, string) (string, dnsx.Result, error) {
	panic("not used")
}
func (f *fakeDNS) LookupSRV(context.Context, string) ([]dnsx.SRV, dnsx.Result, error) {
	panic("not used")
}

// crlf turns the LF line ends of a YAML literal into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// conformanceDir returns the ARC suite's directory, skipping the test when
// it is missing outside CI.
func conformanceDir(t testing.TB) string {
	t.Helper()
	dir := "../../../shared/conformance/arc"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance data missing: %v", err)
		}
		t.Skipf("conformance data missing: %v", err)
	}
	return dir
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
