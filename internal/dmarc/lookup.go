package dmarc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/textcache"
)

// NormalizeDomain returns domain in lower-case A-label form without a
// trailing dot, or an error if it is not a valid domain name.
func NormalizeDomain(domain string) (string, error) {
	if normalized(domain) {
		// Every evaluation normalizes the From, SPF and DKIM domains,
		// which are in this form already almost always.
		return domain, nil
	}
	return normalizeDomain(domain)
}

// normalized reports whether domain is in the form NormalizeDomain returns
// already: lower-case labels of 1 to 63 letters, digits, hyphens and
// underscores (validLabel), 253 bytes at most, no dot at the end. One
// pass over the bytes.
func normalized(domain string) bool {
	if len(domain) > 253 {
		return false
	}
	label := 0 // the length of the current label
	for i := 0; i < len(domain); i++ {
		switch c := domain[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_':
			if label++; label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// normalizeDomain is NormalizeDomain for a domain not in its form yet.
func normalizeDomain(domain string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if d == "" {
		return "", errors.New("dmarc: empty domain")
	}
	a := d
	if !isASCII(d) {
		var err error
		if a, err = idna.Lookup.ToASCII(d); err != nil {
			return "", fmt.Errorf("dmarc: invalid domain %q: %w", domain, err)
		}
	}
	if len(a) > 253 {
		return "", fmt.Errorf("dmarc: domain %q too long", domain)
	}
	for label := range strings.SplitSeq(a, ".") {
		if label == "" || len(label) > 63 || !validLabel(label) {
			return "", fmt.Errorf("dmarc: invalid domain %q", domain)
		}
	}
	return strings.ToLower(a), nil
}

// validLabel accepts letters, digits, hyphens and underscores: host names
// (RFC 1123) and the underscore names some mail domains carry.
func validLabel(label string) bool {
	for i := 0; i < len(label); i++ {
		c := label[i] | 0x20
		if !(c >= 'a' && c <= 'z' || label[i] >= '0' && label[i] <= '9' || label[i] == '-' || label[i] == '_') {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// OrganizationalDomain returns the Organizational Domain of a normalized
// domain (RFC 7489 section 3.2): the public suffix plus one label, from the
// Public Suffix List (ICANN and private sections, with its default rule
// "*" for unlisted top-level domains). A domain that is itself a public
// suffix ("co.uk", "example" when unlisted) is its own Organizational
// Domain: no shorter name can own it, and no longer one is an ancestor.
func OrganizationalDomain(domain string) string {
	return infoOf(domain).org
}

func organizationalDomain(domain string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}

// domainInfo is what discovery and alignment need of a domain. It depends
// on the domain alone, so it is kept by domainInfos: the public suffix
// lookup costs allocations (it first tries the name as an IP address), and
// so does building the name to query, for every message.
type domainInfo struct {
	org        string // the Organizational Domain
	policyName string // _dmarc.<domain>
}

var domainInfos = textcache.New(4096, func(domain string) (domainInfo, error) {
	return domainInfo{org: organizationalDomain(domain), policyName: "_dmarc." + domain}, nil
})

// infoOf returns the domainInfo of domain, from domainInfos for a name
// short enough to be a domain (the cache is bounded by count, not size).
func infoOf(domain string) domainInfo {
	if len(domain) > 253 {
		return domainInfo{org: organizationalDomain(domain), policyName: "_dmarc." + domain}
	}
	info, _ := domainInfos.Parse(domain)
	return info
}

// Aligned reports whether two normalized domains align in mode a (RFC 7489
// section 3.1): equal for strict, sharing their Organizational Domain for
// relaxed.
func Aligned(a Alignment, from, other string) bool {
	// The same bytes first: the usual aligned domain is written alike,
	// often the very string, and == tells so at once.
	if from == other || strings.EqualFold(from, other) {
		return true
	}
	return a != Strict && OrganizationalDomain(from) == OrganizationalDomain(other)
}

// Found is the outcome of policy discovery.
type Found struct {
	// Domain is where the record was found: the From domain or its
	// Organizational Domain.
	Domain string
	// TXT is the record as published; Record its parsed form, nil when
	// Err is set.
	TXT    string
	Record *Record
}

// Errors from Lookup, beside ErrNoPolicy.
var (
	// ErrNoRecord reports that no DMARC record applies: none published,
	// or several at the same name (RFC 7489 section 6.6.3).
	ErrNoRecord = errors.New("dmarc: no DMARC record")
	// ErrTemporary reports a DNS failure; the result is temperror.
	ErrTemporary = errors.New("dmarc: DNS temporary failure")
)

// Lookup discovers the DMARC policy for a normalized From domain (RFC 7489
// section 6.6.3): the TXT records at _dmarc.<domain> that start with
// v=DMARC1, then, if there are none, those at the Organizational Domain.
// Several records at one name mean no policy (ErrNoRecord, with no
// fallback). A record found but unusable gives ErrNoPolicy with Found
// filled in.
func Lookup(ctx context.Context, r dnsx.Resolver, domain string) (Found, error) {
	info := infoOf(domain)
	f, err := lookupAt(ctx, r, domain, info.policyName)
	if !errors.Is(err, errNoneHere) {
		return f, err
	}
	if org := info.org; org != domain {
		f, err = lookupAt(ctx, r, org, infoOf(org).policyName)
		if !errors.Is(err, errNoneHere) {
			return f, err
		}
	}
	return Found{}, fmt.Errorf("%w at _dmarc.%s or its organizational domain", ErrNoRecord, domain)
}

// errNoneHere says that a name has no DMARC record, so discovery goes on.
var errNoneHere = errors.New("no record here")

// lookupAt looks for the record of domain at name, _dmarc.<domain>.
func lookupAt(ctx context.Context, r dnsx.Resolver, domain, name string) (Found, error) {
	txts, _, err := r.LookupTXT(ctx, name)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return Found{}, errNoneHere
	case err != nil:
		return Found{}, fmt.Errorf("%w: %v", ErrTemporary, err)
	}
	var found string
	n := 0
	for _, t := range txts {
		if isDMARCRecord(t) {
			found = t
			n++
		}
	}
	switch n {
	case 0:
		return Found{}, errNoneHere
	case 1:
	default:
		return Found{}, fmt.Errorf("%w: %d DMARC records at %s", ErrNoRecord, n, name)
	}
	f := Found{Domain: domain, TXT: found}
	rec, err := parsedRecords.Parse(found)
	if err != nil {
		return f, err
	}
	f.Record = rec
	return f, nil
}

// parsedRecords keeps parsed records by their text (package textcache);
// the Records of Verdicts are shared and never changed.
var parsedRecords = textcache.New(4096, Parse)

// domainExists reports whether domain exists for the np tag (DMARCbis): a
// domain is non-existent only when both its address and MX queries answer
// NXDOMAIN. Any doubt (a temporary failure) counts as existing, so that np
// never applies by accident.
func domainExists(ctx context.Context, r dnsx.Resolver, domain string) bool {
	if _, _, err := r.LookupMX(ctx, domain); !errors.Is(err, dnsx.ErrNotFound) {
		return true
	}
	_, _, err := r.LookupIP(ctx, domain)
	return !errors.Is(err, dnsx.ErrNotFound)
}
