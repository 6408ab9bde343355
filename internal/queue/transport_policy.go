package queue

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/dane"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/mtasts"
)

// tlsPolicy is how TLS is used with one MX host.
type tlsPolicy struct {
	kind TLSPolicyType
	// required: no plain text, and a failed handshake moves on to the
	// next address.
	required bool
	// verified: the certificate is authenticated (DANE or MTA-STS), as
	// REQUIRETLS needs.
	verified bool
	// stsTesting: MTA-STS testing mode; the certificate is checked after
	// the handshake and failures only reported.
	stsTesting bool
	config     *tls.Config
	// strings and mx are the policy-string and mx-host of TLS reports
	// (RFC 8460 section 4.4).
	strings, mx []string
}

// result starts the TLS report result of a session with host under p.
func (p tlsPolicy) result(domain, host string) TLSResult {
	return TLSResult{Domain: domain, MXHost: host, Policy: p.kind, PolicyStrings: p.strings, PolicyMX: p.mx}
}

// stsReportPolicy returns the policy-string and mx-host of an MTA-STS
// policy: the lines of the policy as the policy host serves it, and its
// mx patterns.
func stsReportPolicy(p *mtasts.Policy) (lines, mx []string) {
	for l := range strings.SplitSeq(p.String(), "\r\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines, slices.Clone(p.MX)
}

// tlsaStrings returns TLSA records in presentation form (RFC 6698
// section 2.2), as the policy-string of a tlsa policy.
func tlsaStrings(recs []dnsx.TLSA) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%d %d %d %X", r.Usage, r.Selector, r.MatchingType, r.Data))
	}
	return out
}

// route returns the MX hosts to try, in order, and whether the MX answer
// was authentic (RFC 5321 section 5.1, RFC 7505). A non-nil failure
// answers every recipient.
func (d *delivery) route(ctx context.Context) ([]string, bool, *failure) {
	if strings.HasPrefix(d.domain, "[") {
		return nil, false, &failure{status: PermFail, enhanced: "5.1.2",
			diag: fmt.Sprintf("%s: delivery to address literals is not supported", d.domain)}
	}
	mxs, res, err := d.t.Resolver.LookupMX(ctx, d.domain)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return nil, false, &failure{status: PermFail, enhanced: "5.1.2",
			diag: fmt.Sprintf("%s: domain does not exist (NXDOMAIN)", d.domain)}
	case err != nil:
		return nil, false, &failure{status: TempFail, enhanced: "4.4.3",
			diag: fmt.Sprintf("%s: MX lookup failed: %v", d.domain, err)}
	}
	var hosts []string
	for _, mx := range mxs {
		if mx.Host == "." {
			continue
		}
		hosts = append(hosts, strings.ToLower(mx.Host))
	}
	switch {
	case len(mxs) > 0 && len(hosts) == 0:
		// RFC 7505 section 3: the domain accepts no mail.
		return nil, false, &failure{status: PermFail, enhanced: "5.1.10",
			diag: fmt.Sprintf("%s: domain accepts no mail (null MX)", d.domain)}
	case len(hosts) == 0:
		// No MX: the domain itself is the implicit MX (RFC 5321 section
		// 5.1). Whether it has addresses is learnt when connecting.
		return d.implicitMX(ctx, res.Authentic)
	}
	shuffleEqual(mxs)
	hosts = hosts[:0]
	for _, mx := range mxs {
		if mx.Host != "." && !slices.Contains(hosts, strings.ToLower(mx.Host)) {
			hosts = append(hosts, strings.ToLower(mx.Host))
		}
	}
	maxHosts := d.t.MaxHosts
	if maxHosts <= 0 {
		maxHosts = defaultMaxHosts
	}
	if len(hosts) > maxHosts {
		hosts = hosts[:maxHosts]
	}
	return hosts, res.Authentic, nil
}

// implicitMX checks that a domain without MX records has an address, so
// that a domain with neither fails for good rather than being retried for
// days.
func (d *delivery) implicitMX(ctx context.Context, authentic bool) ([]string, bool, *failure) {
	ips, _, err := d.t.Resolver.LookupIP(ctx, d.domain)
	switch {
	case len(ips) > 0:
		return []string{d.domain + "."}, authentic, nil
	case err == nil || errors.Is(err, dnsx.ErrNotFound):
		return nil, false, &failure{status: PermFail, enhanced: "5.1.2",
			diag: fmt.Sprintf("%s: domain has neither MX nor address records", d.domain)}
	}
	return nil, false, &failure{status: TempFail, enhanced: "4.4.3",
		diag: fmt.Sprintf("%s: address lookup failed: %v", d.domain, err)}
}

// shuffleEqual puts MX records of equal preference in random order (RFC
// 5321 section 5.1), keeping the order of preferences. mxs is sorted.
func shuffleEqual(mxs []dnsx.MX) {
	slices.SortStableFunc(mxs, func(a, b dnsx.MX) int { return int(a.Pref) - int(b.Pref) })
	for i := 0; i < len(mxs); {
		j := i + 1
		for j < len(mxs) && mxs[j].Pref == mxs[i].Pref {
			j++
		}
		group := mxs[i:j]
		rand.Shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		i = j
	}
}

// stsPolicy returns the recipient domain's MTA-STS policy, nil when none
// applies. A failure means the policy is unknown and delivery must wait.
func (d *delivery) stsPolicy(ctx context.Context) (*mtasts.Policy, *failure) {
	if d.t.MTASTS == nil {
		return nil, nil
	}
	p, err := d.t.MTASTS.Get(ctx, d.domain)
	switch {
	case errors.Is(err, mtasts.ErrNoPolicy):
		if !errors.Is(err, mtasts.ErrNoRecord) {
			reason := "sts-policy-fetch-error"
			if errors.Is(err, mtasts.ErrInvalidPolicy) {
				reason = "sts-policy-invalid"
			}
			d.t.report(TLSResult{Domain: d.domain, Policy: TLSPolicySTS, FailureReason: reason, Detail: err.Error()})
			// Other mail goes on as without MTA-STS (RFC 8461 section
			// 5), but the policy may exist: REQUIRETLS waits for it.
			d.stsUnknown = err
		}
		return nil, nil
	case err != nil:
		return nil, &failure{status: TempFail, enhanced: "4.4.3",
			diag: fmt.Sprintf("%s: MTA-STS policy unknown: %v", d.domain, err)}
	case p.Mode == mtasts.ModeNone:
		return nil, nil
	}
	return &p, nil
}

// hostPolicy decides how TLS is used with host: DANE if its TLSA records
// are authentic, else MTA-STS, else opportunistic TLS. A failure means
// the host must not be used now.
func (d *delivery) hostPolicy(ctx context.Context, host string, authentic bool, sts *mtasts.Policy) (tlsPolicy, *failure) {
	if authentic {
		// RFC 7672 section 2.2.1: only hosts from an authentic MX answer.
		recs, status, err := dane.Lookup(ctx, d.t.Resolver, host, 25)
		switch status {
		case dane.StatusSecure:
			return tlsPolicy{kind: TLSPolicyDANE, required: true, verified: true, config: dane.TLSConfig(recs),
				strings: tlsaStrings(recs.TLSA), mx: []string{host}}, nil
		case dane.StatusUnusable:
			// Section 3.1: TLS still required, without authentication.
			return tlsPolicy{kind: TLSPolicyDANE, required: true, mx: []string{host},
				config: &tls.Config{ServerName: host, InsecureSkipVerify: true}}, nil
		case dane.StatusDefer:
			d.t.report(TLSResult{Domain: d.domain, MXHost: host, Policy: TLSPolicyDANE, PolicyMX: []string{host},
				FailureReason: "dnssec-invalid", Detail: err.Error()})
			return tlsPolicy{}, &failure{status: TempFail, enhanced: "4.7.5",
				diag: fmt.Sprintf("%s: DANE: TLSA records could not be looked up: %v", host, err)}
		}
	}
	if sts != nil {
		enforce := sts.Mode == mtasts.ModeEnforce || d.req.Item.RequireTLS
		lines, mx := stsReportPolicy(sts)
		if !sts.Match(host) {
			d.t.report(TLSResult{Domain: d.domain, MXHost: host, Policy: TLSPolicySTS, PolicyStrings: lines, PolicyMX: mx,
				FailureReason: "validation-failure", Detail: "MX host not listed in the MTA-STS policy"})
			if enforce {
				return tlsPolicy{}, &failure{status: TempFail, enhanced: "4.7.5",
					diag: fmt.Sprintf("%s: MX host not allowed by the MTA-STS policy of %s", host, d.domain)}
			}
		} else if enforce {
			return tlsPolicy{kind: TLSPolicySTS, required: true, verified: true, strings: lines, mx: mx,
				config: &tls.Config{ServerName: host, RootCAs: d.t.RootCAs, MinVersion: tls.VersionTLS12}}, nil
		} else {
			return tlsPolicy{kind: TLSPolicySTS, stsTesting: true, strings: lines, mx: mx,
				config: &tls.Config{ServerName: host, InsecureSkipVerify: true}}, nil
		}
	}
	return tlsPolicy{kind: TLSPolicyNone, config: &tls.Config{ServerName: host, InsecureSkipVerify: true}}, nil
}

// verifyPKIX checks the server's chain for host, as MTA-STS testing mode
// does after a handshake that did not check it (RFC 8461 section 4.2).
func verifyPKIX(st tls.ConnectionState, host string, roots *x509.CertPool) error {
	if len(st.PeerCertificates) == 0 {
		return errors.New("no server certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err
}

// tlsFailureReason maps a handshake error to a result type of RFC 8460
// section 4.3.
func tlsFailureReason(err error) string {
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.Is(err, dane.ErrNoMatch):
		return "validation-failure"
	case errors.As(err, &host):
		return "certificate-host-mismatch"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "certificate-expired"
	case errors.As(err, &unknown):
		return "certificate-not-trusted"
	}
	return "validation-failure"
}
