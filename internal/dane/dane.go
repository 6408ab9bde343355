package dane

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/dnsx"
)

// TLSA record fields (RFC 6698 section 2.1, RFC 7218 names).
const (
	UsagePKIXTA = 0 // unusable for SMTP (RFC 7672 section 3.1.3)
	UsagePKIXEE = 1 // unusable for SMTP (RFC 7672 section 3.1.3)
	UsageDANETA = 2
	UsageDANEEE = 3

	SelectorCert = 0
	SelectorSPKI = 1

	MatchFull   = 0
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// ErrNoMatch reports that a certificate chain matched no usable TLSA
// record, or that a DANE-TA match did not verify.
var ErrNoMatch = errors.New("dane: certificate does not match the TLSA records")

// Status says how TLSA records bind delivery to one MX host.
type Status int

const (
	// StatusNone: DANE does not apply (no records, securely; or an insecure
	// answer). Opportunistic TLS, or whatever else policy says.
	StatusNone Status = iota
	// StatusSecure: usable TLSA records were found. TLS is required and the
	// server's certificate must pass Verify (see TLSConfig).
	StatusSecure
	// StatusUnusable: authentic TLSA records exist but none is usable. TLS
	// is required, without certificate authentication (RFC 7672 section
	// 2.2 and 3.1).
	StatusUnusable
	// StatusDefer: the records could not be looked up although the host
	// is in a signed zone, so they may exist (RFC 7672 section 2.2).
	// Delivery to this host must wait; it must not fall back to
	// unauthenticated TLS or plain text.
	StatusDefer
)

func (s Status) String() string {
	switch s {
	case StatusNone:
		return "none"
	case StatusSecure:
		return "secure"
	case StatusUnusable:
		return "unusable"
	case StatusDefer:
		return "defer"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Records are the usable TLSA records of one MX host.
type Records struct {
	// MXHost is the MX host name, lower case, without trailing dot.
	MXHost string
	// BaseDomain is the TLSA base domain (RFC 7671 section 2.1 and RFC
	// 7672 section 2.2.2): MXHost, or the end of its CNAME chain.
	BaseDomain string
	// TLSA holds the usable records only.
	TLSA []dnsx.TLSA
}

// Names returns the reference identifiers that a DANE-TA certificate must
// carry one of (RFC 7672 section 3.2.2): the TLSA base domain and the MX
// host name.
func (r Records) Names() []string {
	names := []string{r.BaseDomain}
	if r.MXHost != r.BaseDomain {
		names = append(names, r.MXHost)
	}
	return names
}

// Lookup finds the TLSA records of mxHost for port (25 for SMTP) and says
// how they bind the delivery. err is non-nil exactly when the status is
// StatusDefer. Records are returned with StatusSecure (the usable ones) and
// StatusUnusable (none).
func Lookup(ctx context.Context, r dnsx.Resolver, mxHost string, port int) (Records, Status, error) {
	host := normalize(mxHost)
	// The chain from the MX host to its addresses must be authentic for
	// DANE to apply (RFC 7672 section 2.2.2).
	target, res, err := r.LookupCNAME(ctx, host)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return Records{}, StatusNone, nil // no such host: nothing to connect to
	case err != nil:
		return Records{}, StatusDefer, fmt.Errorf("dane: resolving %s: %w", host, err)
	case !res.Authentic:
		return Records{}, StatusNone, nil
	}
	bases := []string{host}
	if t := normalize(target); t != host {
		bases = []string{t, host} // the expanded name first
	}
	for _, base := range bases {
		tlsa, res, err := r.LookupTLSA(ctx, port, "tcp", base)
		switch {
		case errors.Is(err, dnsx.ErrNotFound) && res.Authentic:
			continue // securely absent: try the next base domain
		case errors.Is(err, dnsx.ErrNotFound):
			return Records{}, StatusNone, nil
		case err != nil:
			return Records{}, StatusDefer, fmt.Errorf("dane: TLSA records of %s: %w", base, err)
		case !res.Authentic:
			return Records{}, StatusNone, nil
		case len(tlsa) == 0:
			continue // secure NODATA
		}
		recs := Records{MXHost: host, BaseDomain: base}
		for _, t := range tlsa {
			if Usable(t) {
				recs.TLSA = append(recs.TLSA, t)
			}
		}
		if len(recs.TLSA) == 0 {
			return recs, StatusUnusable, nil
		}
		return recs, StatusSecure, nil
	}
	return Records{}, StatusNone, nil
}

func normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// Usable reports whether an SMTP client can use t (RFC 7672 section 3.1):
// usage DANE-TA or DANE-EE, a known selector, and a known matching type
// with data of the right length.
func Usable(t dnsx.TLSA) bool {
	if t.Usage != UsageDANETA && t.Usage != UsageDANEEE {
		return false
	}
	if t.Selector != SelectorCert && t.Selector != SelectorSPKI {
		return false
	}
	switch t.MatchingType {
	case MatchFull:
		return len(t.Data) > 0
	case MatchSHA256:
		return len(t.Data) == sha256.Size
	case MatchSHA512:
		return len(t.Data) == sha512.Size
	}
	return false
}

// Association returns the certificate association data of cert for a
// selector and matching type (RFC 6698 section 2.1), as published in a TLSA
// record.
func Association(cert *x509.Certificate, selector, matchingType uint8) ([]byte, error) {
	var data []byte
	switch selector {
	case SelectorCert:
		data = cert.Raw
	case SelectorSPKI:
		data = cert.RawSubjectPublicKeyInfo
	default:
		return nil, fmt.Errorf("dane: unknown selector %d", selector)
	}
	switch matchingType {
	case MatchFull:
		return slices.Clone(data), nil
	case MatchSHA256:
		sum := sha256.Sum256(data)
		return sum[:], nil
	case MatchSHA512:
		sum := sha512.Sum512(data)
		return sum[:], nil
	}
	return nil, fmt.Errorf("dane: unknown matching type %d", matchingType)
}

// TLSConfig returns the client configuration for a connection to an MX
// host with StatusSecure records: the Go PKIX check is replaced by Verify
// against recs, and SNI carries the TLSA base domain (RFC 7672 section
// 8.1). The caller may adjust the result (client certificates, versions)
// but must keep VerifyConnection.
func TLSConfig(recs Records) *tls.Config {
	records := slices.Clone(recs.TLSA)
	names := recs.Names()
	return &tls.Config{
		ServerName: recs.BaseDomain,
		// The TLSA records, not the Web PKI, decide which certificate is
		// right; VerifyConnection runs on every handshake, resumed or not.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return Verify(records, cs.PeerCertificates, names)
		},
	}
}
