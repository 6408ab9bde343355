package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// Limits of RFC 7208 section 4.6.4.
const (
	// MaxDNSTerms is the most terms that cause DNS queries (include, a,
	// mx, ptr, exists and redirect) one check evaluates.
	MaxDNSTerms = 10
	// MaxVoidLookups is the most queries answered with NXDOMAIN or no
	// records one check accepts.
	MaxVoidLookups = 2
	// MaxNames is the most MX names, and PTR names, looked at per term.
	MaxNames = 10
	// DefaultTimeout bounds a check whose context has no deadline
	// (RFC 7208 section 4.6.4 suggests at least 20 seconds).
	DefaultTimeout = 20 * time.Second
)

// ErrPermanent is wrapped by the error of a permerror result, and
// dnsx.ErrTemporary by that of a temperror.
var ErrPermanent = errors.New("spf: permanent error")

// checkError ends an evaluation with temperror or permerror.
type checkError struct {
	status Status
	err    error
}

func (e *checkError) Error() string { return e.err.Error() }
func (e *checkError) Unwrap() error { return e.err }

func permErrorf(format string, args ...any) error {
	return &checkError{Permerror, fmt.Errorf("%w: "+format, append([]any{ErrPermanent}, args...)...)}
}

func tempError(what string, err error) error {
	if !errors.Is(err, dnsx.ErrTemporary) {
		err = fmt.Errorf("%w: %w", dnsx.ErrTemporary, err)
	}
	return &checkError{Temperror, fmt.Errorf("%s: %w", what, err)}
}

// checker holds the state of one check_host() evaluation, shared across
// include and redirect.
type checker struct {
	r    dnsx.Resolver
	args Args
	// now is read at the first %{t}, and kept for the rest of the
	// check: most records have none, and a clock read per check was a
	// share of the cost of checking one through a warm cache.
	now time.Time

	sender, local, senderDomain string // s, l, o
	domain                      string // d: the domain being evaluated

	terms int // DNS-querying terms evaluated
	voids int

	validated      []string // validated PTR names, for ptr and %{p}
	validatedDone  bool
	validatedVoids int // void lookups met finding them
}

// clock returns the time of the check, for %{t}.
func (c *checker) clock() time.Time {
	if c.now.IsZero() {
		c.now = time.Now()
	}
	return c.now
}

// outcome is what evaluating one record gives.
type outcome struct {
	status      Status
	mechanism   string
	explanation string
}

// checkHost is check_host() of RFC 7208 section 4 for domain; the
// lookup counts of c carry across include and redirect.
func (c *checker) checkHost(ctx context.Context, domain string) (outcome, error) {
	if !validDomain(domain) {
		return outcome{status: None}, nil
	}
	txt, err := c.lookupRecord(ctx, domain)
	if err != nil || txt == "" {
		return outcome{status: None}, err
	}
	rec, err := parsedRecords.Parse(txt)
	if err != nil {
		return outcome{}, permErrorf("record of %s: %v", domain, err)
	}
	saved := c.domain
	c.domain = domain
	defer func() { c.domain = saved }()
	return c.evaluate(ctx, rec)
}

// lookupRecord returns the one SPF record of domain, "" if it has none
// (RFC 7208 section 4.4 and 4.5).
func (c *checker) lookupRecord(ctx context.Context, domain string) (string, error) {
	txts, _, err := c.r.LookupTXT(ctx, domain)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return "", nil
	case err != nil:
		return "", tempError("TXT lookup of "+domain, err)
	}
	var found []string
	for _, t := range txts {
		if isSPFRecord(t) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", permErrorf("%s has %d SPF records", domain, len(found))
}

func (c *checker) evaluate(ctx context.Context, rec *record) (outcome, error) {
	for _, d := range rec.directives {
		matched, err := c.match(ctx, d)
		if err != nil {
			return outcome{}, err
		}
		if matched {
			out := outcome{status: d.qualifier, mechanism: d.text}
			if out.status == Fail {
				out.explanation = c.explain(ctx, rec)
			}
			return out, nil
		}
	}
	if rec.redirect == "" {
		return outcome{status: Neutral, mechanism: "default"}, nil
	}
	if err := c.countTerm(); err != nil {
		return outcome{}, err
	}
	target, err := c.expandDomain(ctx, rec.redirect)
	if err != nil {
		return outcome{}, permErrorf("redirect=%s: %v", rec.redirect, err)
	}
	// The explanation of the redirect target's record applies, not ours
	// (RFC 7208 section 6.2).
	out, err := c.checkHost(ctx, target)
	if err == nil && out.status == None {
		return outcome{}, permErrorf("redirect=%s: no SPF record at %s", rec.redirect, target)
	}
	return out, err
}

func (c *checker) countTerm() error {
	c.terms++
	if c.terms > MaxDNSTerms {
		return permErrorf("more than %d DNS-querying terms", MaxDNSTerms)
	}
	return nil
}

// void records a lookup that found nothing.
func (c *checker) void() error {
	c.voids++
	if c.voids > MaxVoidLookups {
		return permErrorf("more than %d void lookups", MaxVoidLookups)
	}
	return nil
}

// match evaluates one mechanism (RFC 7208 section 5).
func (c *checker) match(ctx context.Context, d directive) (bool, error) {
	if d.queriesDNS() {
		if err := c.countTerm(); err != nil {
			return false, err
		}
	}
	switch d.mech {
	case mechAll:
		return true, nil
	case mechIP4, mechIP6:
		return d.prefix.Contains(c.args.IP), nil
	}
	target := c.domain
	if d.domain != "" {
		var err error
		if target, err = c.expandDomain(ctx, d.domain); err != nil {
			return false, permErrorf("%s: %v", d.text, err)
		}
	}
	switch d.mech {
	case mechInclude:
		return c.include(ctx, target)
	case mechA:
		return c.matchHost(ctx, target, d)
	case mechMX:
		return c.matchMX(ctx, target, d)
	case mechPTR:
		return c.matchPTR(ctx, target)
	case mechExists:
		return c.exists(ctx, target)
	}
	return false, fmt.Errorf("spf: mechanism %q not evaluated", d.mech)
}

func (c *checker) include(ctx context.Context, target string) (bool, error) {
	out, err := c.checkHost(ctx, target)
	if err != nil {
		return false, err
	}
	switch out.status {
	case Pass:
		return true, nil
	case None:
		return false, permErrorf("include:%s: no SPF record", target)
	}
	return false, nil
}

// addresses returns the addresses of name in the client's family,
// counting a void lookup when there are none.
func (c *checker) addresses(ctx context.Context, name string) ([]netip.Addr, error) {
	if !validDomain(name) {
		return nil, c.void() // an invalid name cannot exist
	}
	addrs, err := c.lookupFamily(ctx, name, c.args.IP.Is4())
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, c.void()
	}
	return addrs, nil
}

// lookupFamily returns the IPv4 or the IPv6 addresses of name. dnsx asks
// for both together; when one half failed, the addresses of the asked
// family are used if the other half brought some, as it then did not
// fail. Without any, the failure is a temperror.
func (c *checker) lookupFamily(ctx context.Context, name string, v4 bool) ([]netip.Addr, error) {
	addrs, _, err := c.r.LookupIP(ctx, name)
	same := addrs
	if !allOfFamily(addrs, v4) {
		same = nil
		for _, a := range addrs {
			if a.Unmap().Is4() == v4 {
				same = append(same, a.Unmap())
			}
		}
	}
	if err != nil && !errors.Is(err, dnsx.ErrNotFound) && len(same) == 0 {
		return nil, tempError("address lookup of "+name, err)
	}
	return same, nil
}

// allOfFamily reports whether every address is IPv4 (v4) or IPv6 and none
// is IPv4-mapped: the resolver's slice can then be used as it is (it is
// only read).
func allOfFamily(addrs []netip.Addr, v4 bool) bool {
	for _, a := range addrs {
		if a.Is4() != v4 || a.Is4In6() {
			return false
		}
	}
	return true
}

func (c *checker) inNetwork(addrs []netip.Addr, d directive) bool {
	bits := d.cidr4
	if c.args.IP.Is6() {
		bits = d.cidr6
	}
	for _, a := range addrs {
		if p, err := a.Prefix(bits); err == nil && p.Contains(c.args.IP) {
			return true
		}
	}
	return false
}

func (c *checker) matchHost(ctx context.Context, name string, d directive) (bool, error) {
	addrs, err := c.addresses(ctx, name)
	if err != nil {
		return false, err
	}
	return c.inNetwork(addrs, d), nil
}

func (c *checker) matchMX(ctx context.Context, name string, d directive) (bool, error) {
	if !validDomain(name) {
		return false, c.void()
	}
	mxs, _, err := c.r.LookupMX(ctx, name)
	if err != nil && !errors.Is(err, dnsx.ErrNotFound) {
		return false, tempError("MX lookup of "+name, err)
	}
	if len(mxs) == 0 {
		return false, c.void()
	}
	if len(mxs) > MaxNames {
		return false, permErrorf("%s has more than %d MX records", name, MaxNames)
	}
	// Every name is looked up, even after a match, as section 5.4
	// describes, so the result does not depend on the order of the MX
	// records (pyspf does the same): a lookup error or a void lookup
	// after the matching host still counts.
	matched := false
	for _, mx := range mxs {
		if mx.Host == "." {
			continue // null MX (RFC 7505): no host
		}
		addrs, err := c.addresses(ctx, mx.Host)
		if err != nil {
			return false, err
		}
		matched = matched || c.inNetwork(addrs, d)
	}
	return matched, nil
}

func (c *checker) exists(ctx context.Context, name string) (bool, error) {
	if !validDomain(name) {
		return false, c.void()
	}
	// exists always asks for A records, whatever the client's family
	// (RFC 7208 section 5.7).
	addrs, err := c.lookupFamily(ctx, name, true)
	if err != nil {
		return false, err
	}
	if len(addrs) > 0 {
		return true, nil
	}
	return false, c.void()
}

func (c *checker) matchPTR(ctx context.Context, target string) (bool, error) {
	// Each ptr term counts the void lookups its queries had, even when
	// the answers are known from an earlier term (section 4.6.4 counts
	// terms).
	cached := c.validatedDone
	names, err := c.validatedNames(ctx)
	if err != nil {
		return false, err
	}
	if cached {
		for range c.validatedVoids {
			if err := c.void(); err != nil {
				return false, err
			}
		}
	}
	for _, n := range names {
		if isSubdomain(n, target) {
			return true, nil
		}
	}
	return false, nil
}

// validatedNames returns the client's PTR names whose addresses include
// the client (RFC 7208 section 5.5): at most MaxNames are looked at; a
// failing PTR lookup gives no names and a failing address lookup skips
// that name, as the RFC says.
func (c *checker) validatedNames(ctx context.Context) ([]string, error) {
	if c.validatedDone {
		return c.validated, nil
	}
	c.validatedDone = true
	names, _, err := c.r.LookupAddr(ctx, c.args.IP)
	if err != nil && !errors.Is(err, dnsx.ErrNotFound) {
		if ctx.Err() != nil {
			return nil, tempError("PTR lookup", err)
		}
		return nil, nil
	}
	if len(names) == 0 {
		c.validatedVoids++
		return nil, c.void()
	}
	for _, n := range names[:min(len(names), MaxNames)] {
		n = strings.TrimSuffix(n, ".")
		before := c.voids
		addrs, err := c.addresses(ctx, n)
		c.validatedVoids += c.voids - before
		var ce *checkError
		if errors.As(err, &ce) && ce.status == Permerror {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, tempError("PTR validation", ctx.Err())
		}
		for _, a := range addrs {
			if a == c.args.IP {
				c.validated = append(c.validated, n)
				break
			}
		}
	}
	return c.validated, nil
}

// validatedName is the %{p} macro: a validated name of the client,
// preferring the current domain and then its subdomains, "unknown" if
// there is none (RFC 7208 section 7.3).
func (c *checker) validatedName(ctx context.Context) (string, error) {
	names, err := c.validatedNames(ctx)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if strings.EqualFold(n, c.domain) {
			return n, nil
		}
	}
	for _, n := range names {
		if isSubdomain(n, c.domain) {
			return n, nil
		}
	}
	if len(names) > 0 {
		return names[0], nil
	}
	return "unknown", nil
}

// explain computes the explanation of a fail (RFC 7208 section 6.2). Any
// problem gives no explanation, never an error.
func (c *checker) explain(ctx context.Context, rec *record) string {
	if rec.exp == "" {
		return ""
	}
	name, err := c.expandDomain(ctx, rec.exp)
	if err != nil || !validDomain(name) {
		return ""
	}
	txts, _, err := c.r.LookupTXT(ctx, name)
	if err != nil || len(txts) != 1 {
		return ""
	}
	text, err := expandMacros(txts[0], true, c.macroValue(ctx))
	if err != nil {
		return ""
	}
	return text
}

// isSubdomain reports whether name is domain or below it.
func isSubdomain(name, domain string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}

// validDomain reports whether name can be checked (RFC 7208 section 4.3):
// a multi-label name of at most 253 characters, without empty labels or
// labels over 63 characters, and no domain literal. Labels may hold any
// other printable character, as DNS allows (RFC 2181 section 11).
func validDomain(name string) bool {
	// One pass over the bytes, labels counted as they go: a check looks
	// at its domains several times, and splitting them cost more than the
	// looking (FuzzValidDomain compares with the split definition).
	name = strings.TrimSuffix(name, ".")
	if len(name) > 253 {
		return false
	}
	label, dots := 0, 0 // length of the current label; dots so far
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label, dots = 0, dots+1
		case !domainByte[c]:
			return false
		default:
			if label++; label > 63 {
				return false
			}
		}
	}
	return dots > 0 && label > 0
}

// domainByte tells the bytes validDomain lets into a label: printable
// ASCII but '[' and ']' (and '.', which it reads apart). It is never
// written after init.
var domainByte = func() (t [256]bool) {
	for c := ' '; c < 0x7f; c++ {
		t[c] = c != '[' && c != ']'
	}
	return t
}()

// dottedIP is the %{i} macro: dotted quads, or dotted nibbles for IPv6
// (RFC 7208 section 7.3).
func dottedIP(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	const hex = "0123456789ABCDEF" // upper case, as the RFC 7208 test suite and pyspf expect
	b := ip.As16()
	out := make([]byte, 0, 63)
	for i, x := range b {
		if i > 0 {
			out = append(out, '.')
		}
		out = append(out, hex[x>>4], '.', hex[x&0xf])
	}
	return string(out)
}
