package dmarc

import (
	"context"
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/dnsx"
)

// Errors from VerifyDestination.
var (
	// ErrDestinationRefused reports an external report destination that
	// has not agreed to receive the policy domain's reports.
	ErrDestinationRefused = errors.New("dmarc: external report destination not authorized")
	// ErrUnsupportedURI reports a URI Sealpost does not send reports to:
	// only mailto is supported (DMARCbis drops http).
	ErrUnsupportedURI = errors.New("dmarc: report URI scheme not supported")
)

// VerifyDestination checks that reports about policyDomain may be sent to
// u (RFC 7489 section 7.1). When the URI's domain has the same
// Organizational Domain as policyDomain, it may. Otherwise the destination
// must publish a TXT record starting with v=DMARC1 at
// <policyDomain>._report._dmarc.<destination>. The result is nil when
// sending is allowed, an error wrapping ErrDestinationRefused when not,
// ErrTemporary on DNS failure (try again later), or ErrUnsupportedURI.
//
// A destination record's own rua tag, which section 7.1 lets it use to
// redirect reports, is not followed: reports go to the URI as published by
// the policy domain.
func VerifyDestination(ctx context.Context, r dnsx.Resolver, policyDomain string, u URI) error {
	dest := u.MailboxDomain()
	if dest == "" {
		return fmt.Errorf("%w: %s", ErrUnsupportedURI, u.Address)
	}
	dest, err := NormalizeDomain(dest)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrDestinationRefused, err)
	}
	policyDomain, err = NormalizeDomain(policyDomain)
	if err != nil {
		return err
	}
	if OrganizationalDomain(dest) == OrganizationalDomain(policyDomain) {
		return nil
	}
	name := policyDomain + "._report._dmarc." + dest
	txts, _, err := r.LookupTXT(ctx, name)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return fmt.Errorf("%w: no record at %s", ErrDestinationRefused, name)
	case err != nil:
		return fmt.Errorf("%w: %v", ErrTemporary, err)
	}
	for _, t := range txts {
		if isDMARCRecord(t) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v=DMARC1 record at %s", ErrDestinationRefused, name)
}
