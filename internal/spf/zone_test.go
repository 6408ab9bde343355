package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"sealpost.dev/sealpost/internal/dnsx"
)

// zone is an in-memory dnsx.Resolver for the table-driven suites. It
// behaves like the resolver of pyspf's test driver (testspf.py), so both
// implementations see the same DNS: names absent from the zone are
// NXDOMAIN; a name present without the asked type is NODATA; a bare
// TIMEOUT entry fails every query of the name not answered by a record
// listed before it; a TYPE: TIMEOUT entry fails queries of that type.
type zone struct {
	names   map[string][]zoneRR
	queries atomic.Int64
}

type zoneRR struct {
	typ   string // A, AAAA, MX, PTR, TXT, CNAME, or TIMEOUT alone
	value string // for MX: "pref host"
}

func newZone() *zone { return &zone{names: map[string][]zoneRR{}} }

func (z *zone) add(name, typ, value string) {
	name = canonical(name)
	z.names[name] = append(z.names[name], zoneRR{typ, value})
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// lookup returns the values of the asked type, following CNAMEs.
func (z *zone) lookup(ctx context.Context, name, typ string) ([]string, error) {
	z.queries.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", dnsx.ErrTemporary, err)
	}
	name = canonical(name)
	for range dnsx.MaxCNAMEChain {
		rrs, ok := z.names[name]
		if !ok {
			if strings.HasPrefix(name, "error.") {
				return nil, fmt.Errorf("%w: %s", dnsx.ErrTemporary, name)
			}
			return nil, fmt.Errorf("%w: %s", dnsx.ErrNotFound, name)
		}
		var out []string
		cname := ""
		for _, rr := range rrs {
			switch {
			case rr.typ == "TIMEOUT" && len(out) == 0:
				return nil, fmt.Errorf("%w: timeout on %s", dnsx.ErrTemporary, name)
			case rr.typ == "TIMEOUT":
				return out, nil
			case rr.typ == typ && rr.value == "TIMEOUT":
				return nil, fmt.Errorf("%w: timeout on %s %s", dnsx.ErrTemporary, name, typ)
			case rr.typ == typ:
				out = append(out, rr.value)
			case rr.typ == "CNAME":
				cname = rr.value
			}
		}
		if len(out) > 0 || cname == "" {
			return out, nil
		}
		name = canonical(cname)
	}
	return nil, fmt.Errorf("%w: CNAME chain too long", dnsx.ErrTemporary)
}

func (z *zone) LookupTXT(ctx context.Context, name string) ([]string, dnsx.Result, error) {
	out, err := z.lookup(ctx, name, "TXT")
	return out, dnsx.Result{}, err
}

func (z *zone) LookupMX(ctx context.Context, name string) ([]dnsx.MX, dnsx.Result, error) {
	vals, err := z.lookup(ctx, name, "MX")
	var out []dnsx.MX
	for _, v := range vals {
		var mx dnsx.MX
		pref, host, _ := strings.Cut(v, " ")
		if _, err := fmt.Sscan(pref, &mx.Pref); err != nil {
			return nil, dnsx.Result{}, fmt.Errorf("zone: bad MX %q", v)
		}
		if host == "" {
			continue // dnsx drops MX records without a name
		}
		mx.Host = host
		mx.Host = canonical(mx.Host) + "."
		out = append(out, mx)
	}
	return out, dnsx.Result{}, err
}

// LookupIP follows the dnsx contract: a temporary failure of either half
// is an error, with the addresses of the other half.
func (z *zone) LookupIP(ctx context.Context, name string) ([]netip.Addr, dnsx.Result, error) {
	var addrs []netip.Addr
	var errs []error
	notFound := false
	for _, typ := range []string{"A", "AAAA"} {
		vals, err := z.lookup(ctx, name, typ)
		switch {
		case err == nil:
		case errors.Is(err, dnsx.ErrNotFound):
			notFound = true
		default:
			errs = append(errs, err)
		}
		for _, v := range vals {
			a, perr := netip.ParseAddr(v)
			if perr != nil {
				return nil, dnsx.Result{}, fmt.Errorf("zone: bad address %q", v)
			}
			addrs = append(addrs, a)
		}
	}
	if len(errs) > 0 {
		return addrs, dnsx.Result{}, errs[0]
	}
	if len(addrs) == 0 && notFound {
		return nil, dnsx.Result{}, fmt.Errorf("%w: %s", dnsx.ErrNotFound, name)
	}
	return addrs, dnsx.Result{}, nil
}

func (z *zone) LookupAddr(ctx context.Context, addr netip.Addr) ([]string, dnsx.Result, error) {
	vals, err := z.lookup(ctx, reverseName(addr), "PTR")
	for i := range vals {
		vals[i] = canonical(vals[i]) + "."
	}
	return vals, dnsx.Result{}, err
}

func (z *zone) LookupTLSA(ctx context.Context, port int, proto, host string) ([]dnsx.TLSA, dnsx.Result, error) {
	return nil, dnsx.Result{}, fmt.Errorf("zone: TLSA not used by SPF")
}

func (z *zone) LookupCNAME(ctx context.Context, name string) (string, dnsx.Result, error) {
	return "", dnsx.Result{}, fmt.Errorf("zone: CNAME not used by SPF")
}

func (z *zone) LookupSRV(ctx context.Context, name string) ([]dnsx.SRV, dnsx.Result, error) {
	return nil, dnsx.Result{}, fmt.Errorf("zone: SRV not used by SPF")
}

// reverseName is the PTR owner name of addr, without trailing dot.
func reverseName(addr netip.Addr) string {
	if addr.Is4() {
		b := addr.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", b[3], b[2], b[1], b[0])
	}
	nibbles := strings.Split(strings.ToLower(dottedIP(addr)), ".")
	for i, j := 0, len(nibbles)-1; i < j; i, j = i+1, j-1 {
		nibbles[i], nibbles[j] = nibbles[j], nibbles[i]
	}
	return strings.Join(nibbles, ".") + ".ip6.arpa"
}
