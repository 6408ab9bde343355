package mailauth

import (
	"sealpost.dev/sealpost/internal/delivery"
	dkimpkg "sealpost.dev/sealpost/internal/dkim"
)

// Summary returns the results in the plain values later hooks read
// (delivery.Envelope.Auth): the spam filter weighs them without knowing
// the packages that found them.
func (res Results) Summary() *delivery.Auth {
	a := new(delivery.Auth)
	res.summaryInto(a, nil)
	return a
}

// summaryInto sets *a to the summary, its DKIM domains appended to dkim.
func (res *Results) summaryInto(a *delivery.Auth, dkim []string) {
	*a = delivery.Auth{
		SPF:         string(res.SPF.Result),
		SPFDomain:   res.SPF.Domain,
		DMARC:       string(res.DMARC.Result),
		FromDomain:  res.DMARC.FromDomain,
		Policy:      string(res.DMARC.Requested),
		Disposition: string(res.DMARC.Disposition),
		TrustedARC:  res.TrustedARC,
		Exempted:    res.Exempted,
	}
	for _, d := range res.DKIM {
		// A signature with body past l= does not vouch for the message.
		if d.Status == dkimpkg.StatusPass && d.UnsignedBodyBytes == 0 {
			dkim = append(dkim, d.Domain)
		}
	}
	if len(dkim) > 0 {
		a.DKIM = dkim // nil when none passed, as Summary has it
	}
	switch {
	case res.DMARC.DKIMAligned:
		a.Aligned = res.DMARC.DKIMDomain
	case res.DMARC.SPFAligned:
		a.Aligned = res.SPF.Domain
	}
}
