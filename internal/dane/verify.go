package dane

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// maxReasons bounds how many per-record failures an error lists.
const maxReasons = 4

// Verify checks the certificate chain a server presented, leaf first,
// against TLSA records, ignoring unusable ones. It succeeds if any usable
// record matches:
//
//   - DANE-EE(3): the leaf certificate or its public key matches; names and
//     validity dates are not checked (RFC 7672 section 3.1.1);
//   - DANE-TA(2): a certificate of the chain matches, and the leaf verifies
//     up to it as trust anchor, valid now and issued for one of names
//     (RFC 7672 sections 3.1.2 and 3.2.2, RFC 7671 section 5.2).
//
// Errors wrap ErrNoMatch.
func Verify(records []dnsx.TLSA, chain []*x509.Certificate, names []string) error {
	return verifyAt(records, chain, names, time.Now())
}

func verifyAt(records []dnsx.TLSA, chain []*x509.Certificate, names []string, now time.Time) error {
	if len(chain) == 0 {
		return fmt.Errorf("%w: no certificate presented", ErrNoMatch)
	}
	var (
		usable  int
		reasons []error
	)
	for _, rec := range records {
		if !Usable(rec) {
			continue
		}
		usable++
		switch rec.Usage {
		case UsageDANEEE:
			if matches(chain[0], rec) {
				return nil
			}
		case UsageDANETA:
			for i, cert := range chain {
				if !matches(cert, rec) {
					continue
				}
				err := verifyFromAnchor(chain, i, names, now)
				if err == nil {
					return nil
				}
				if len(reasons) < maxReasons {
					reasons = append(reasons, fmt.Errorf("DANE-TA %d %d: %w", rec.Selector, rec.MatchingType, err))
				}
			}
		}
	}
	if usable == 0 {
		return fmt.Errorf("%w: no usable TLSA record", ErrNoMatch)
	}
	if len(reasons) > 0 {
		return fmt.Errorf("%w: %w", ErrNoMatch, errors.Join(reasons...))
	}
	return ErrNoMatch
}

// matches reports whether cert's association data for rec's selector and
// matching type equals rec's.
func matches(cert *x509.Certificate, rec dnsx.TLSA) bool {
	data, err := Association(cert, rec.Selector, rec.MatchingType)
	return err == nil && bytes.Equal(data, rec.Data)
}

// verifyFromAnchor verifies chain[0] up to chain[i] as the only trust
// anchor, with the other certificates of the chain as intermediates, and
// checks that the leaf names one of names.
func verifyFromAnchor(chain []*x509.Certificate, i int, names []string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(chain[i])
	inter := x509.NewCertPool()
	for j, c := range chain[1:] {
		if j+1 != i {
			inter.AddCert(c)
		}
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		// RFC 7672 puts no requirement on extended key usage.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		err := chain[0].VerifyHostname(normalize(name))
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return errors.New("no name to check the certificate against")
	}
	return errors.Join(errs...)
}
