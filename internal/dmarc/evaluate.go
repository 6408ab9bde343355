package dmarc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"sealpost.dev/sealpost/internal/authres"
	"sealpost.dev/sealpost/internal/dnsx"
)

// Result is a DMARC result in the words of RFC 8601 section 2.7.1.
type Result string

// The results.
const (
	ResultPass      Result = "pass"
	ResultFail      Result = "fail"
	ResultNone      Result = "none"
	ResultTempError Result = "temperror"
	ResultPermError Result = "permerror"
)

// severity orders results for choosing among several From domains: the
// result that calls for the most care wins.
func (r Result) severity() int {
	switch r {
	case ResultFail:
		return 4
	case ResultTempError:
		return 3
	case ResultPermError:
		return 2
	case ResultNone:
		return 1
	}
	return 0
}

// SPF is the SPF outcome a DMARC evaluation uses.
type SPF struct {
	// Result is the SPF result in RFC 7208 words ("pass", "fail",
	// "softfail", ...); only "pass" can align.
	Result string
	// Domain is the domain SPF checked: the MAIL FROM domain, or the HELO
	// identity when MAIL FROM was empty (RFC 7489 section 4.1). A full
	// address ("user@domain") is accepted; its domain is used.
	Domain string
}

// DKIM is the outcome of one DKIM signature.
type DKIM struct {
	// Result is the verification result in RFC 8601 words; only "pass"
	// can align.
	Result string
	// Domain is the signature's d= tag.
	Domain string
	// Selector is the s= tag, kept for reports.
	Selector string
}

// Input is what a DMARC evaluation needs from the message and its
// transaction.
type Input struct {
	// FromDomains are the domains of the RFC5322.From addresses. Usually
	// one; see Evaluator.Evaluate for several and none.
	FromDomains []string
	SPF         SPF
	DKIM        []DKIM
}

// Verdict is the outcome of a DMARC evaluation.
type Verdict struct {
	// Result is the DMARC result.
	Result Result
	// FromDomain is the evaluated RFC5322.From domain, normalized.
	FromDomain string
	// PolicyDomain is the domain whose record was used: FromDomain or
	// its Organizational Domain. Empty without a record.
	PolicyDomain string
	// TXT and Record are the record used, when one was found.
	TXT    string
	Record *Record
	// SPFAligned and DKIMAligned say which identifiers passed and were
	// aligned; DKIMDomain is the d= of the first aligned passing
	// signature.
	SPFAligned, DKIMAligned bool
	DKIMDomain              string
	// Requested is the policy the record asks for this From domain: p,
	// sp or np (RFC 7489 section 6.6.3, DMARCbis). Empty without a usable
	// record.
	Requested Policy
	// RequestedBy names the tag Requested came from: "p", "sp" or "np".
	RequestedBy string
	// Disposition is the policy to apply: none when the result is not
	// fail, else Requested, or the next lower policy when the message was
	// not sampled by pct (RFC 7489 section 6.6.4). A temperror keeps
	// Disposition none; the caller may defer the message instead.
	Disposition Policy
	// Sampled reports that a policy applied in full: true for pass and
	// for a fail that pct selected, false for a fail that pct (or t=y)
	// lowered and for results without a usable record.
	Sampled bool
	// Reason explains the result in one line.
	Reason string
}

// Evaluator evaluates DMARC. The zero value is not usable: Resolver must
// be set.
type Evaluator struct {
	Resolver dnsx.Resolver
	// Sample returns a number in [0, 100) for pct sampling; a message is
	// sampled when it is below pct. Nil uses math/rand/v2.
	Sample func() int
}

func (e *Evaluator) sample() int {
	if e.Sample != nil {
		return e.Sample()
	}
	return rand.IntN(100)
}

// Evaluate runs DMARC (RFC 7489 section 6.6) for a message.
//
// A message whose From field holds several domains is evaluated once per
// distinct domain, and the verdict with the strictest disposition is
// returned (ties: fail, temperror, permerror, none, pass, in that order),
// which is the choice RFC 7489 section 6.6.1 allows and DMARCbis
// recommends: a sender cannot escape a domain's policy by adding another
// address. A message without a From domain gets permerror with
// disposition none: RFC 5322 requires a From field, and rejecting such
// messages is the SMTP layer's job, not a DMARC policy's.
func (e *Evaluator) Evaluate(ctx context.Context, in Input) Verdict {
	var best Verdict
	// The domains evaluated already: one almost always, a handful at
	// most, so a list on the stack rather than a map.
	var seenArr [4]string
	seen := seenArr[:0]
	for i, raw := range in.FromDomains {
		d, err := NormalizeDomain(raw)
		if err != nil {
			v := Verdict{Result: ResultPermError, FromDomain: raw, Disposition: PolicyNone, Reason: err.Error()}
			if i == 0 || stricter(v, best) {
				best = v
			}
			continue
		}
		if slices.Contains(seen, d) {
			continue
		}
		seen = append(seen, d)
		v := e.evaluateDomain(ctx, d, in)
		if i == 0 || stricter(v, best) {
			best = v
		}
	}
	if len(in.FromDomains) == 0 {
		return Verdict{Result: ResultPermError, Disposition: PolicyNone, Reason: "message has no RFC5322.From domain"}
	}
	return best
}

func stricter(a, b Verdict) bool {
	if a.Disposition.strictness() != b.Disposition.strictness() {
		return a.Disposition.strictness() > b.Disposition.strictness()
	}
	return a.Result.severity() > b.Result.severity()
}

func (e *Evaluator) evaluateDomain(ctx context.Context, from string, in Input) Verdict {
	v := Verdict{FromDomain: from, Disposition: PolicyNone}
	found, err := Lookup(ctx, e.Resolver, from)
	v.PolicyDomain, v.TXT, v.Record = found.Domain, found.TXT, found.Record
	switch {
	case errors.Is(err, ErrTemporary):
		v.Result, v.Reason = ResultTempError, err.Error()
		return v
	case errors.Is(err, ErrNoRecord):
		v.Result, v.Reason = ResultNone, err.Error()
		return v
	case err != nil:
		v.Result = ResultPermError
		v.Reason = fmt.Sprintf("record at _dmarc.%s unusable: %v", found.Domain, err)
		return v
	}
	rec := found.Record
	v.Requested, v.RequestedBy = e.requested(ctx, from, found)
	v.SPFAligned = isPass(in.SPF.Result) && Aligned(rec.SPF, from, spfDomain(in.SPF.Domain))
	for _, d := range in.DKIM {
		dd, err := NormalizeDomain(d.Domain)
		if err == nil && isPass(d.Result) && Aligned(rec.DKIM, from, dd) {
			v.DKIMAligned, v.DKIMDomain = true, dd
			break
		}
	}
	if v.SPFAligned || v.DKIMAligned {
		v.Result, v.Sampled = ResultPass, true
		v.Reason = passReason(v, rec)
		return v
	}
	v.Result = ResultFail
	v.Disposition, v.Sampled = v.Requested, true
	if rec.Testing || rec.Percent < 100 && e.sample() >= rec.Percent {
		v.Disposition, v.Sampled = v.Requested.lower(), false
	}
	v.Reason = failReason(in, rec, v)
	return v
}

// requested picks p, sp or np (RFC 7489 section 6.6.3 step 6 and the
// DMARCbis np tag).
func (e *Evaluator) requested(ctx context.Context, from string, found Found) (Policy, string) {
	rec := found.Record
	if found.Domain == from {
		return rec.Policy, "p"
	}
	if rec.NonexistentPolicy != "" && !domainExists(ctx, e.Resolver, from) {
		return rec.NonexistentPolicy, "np"
	}
	if rec.SubdomainPolicy != "" {
		return rec.SubdomainPolicy, "sp"
	}
	return rec.Policy, "p"
}

// spfDomain returns the domain of an SPF identity given as a domain or an
// address.
func spfDomain(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	d, err := NormalizeDomain(s)
	if err != nil {
		return ""
	}
	return d
}

func passReason(v Verdict, rec *Record) string {
	spf := "SPF passed and is aligned (relaxed)"
	if rec.SPF == Strict {
		spf = "SPF passed and is aligned (strict)"
	}
	switch {
	case v.DKIMAligned && v.SPFAligned:
		return "DKIM d=" + v.DKIMDomain + " passed and is aligned (" + rec.DKIM.String() + "); " + spf
	case v.DKIMAligned:
		return "DKIM d=" + v.DKIMDomain + " passed and is aligned (" + rec.DKIM.String() + ")"
	case v.SPFAligned:
		return spf
	}
	return ""
}

func failReason(in Input, rec *Record, v Verdict) string {
	var parts []string
	switch {
	case !isPass(in.SPF.Result):
		parts = append(parts, "SPF "+orNone(in.SPF.Result))
	default:
		parts = append(parts, "SPF domain "+spfDomain(in.SPF.Domain)+" not aligned ("+rec.SPF.String()+")")
	}
	passing := 0
	for _, d := range in.DKIM {
		if isPass(d.Result) {
			passing++
			parts = append(parts, "DKIM d="+d.Domain+" not aligned ("+rec.DKIM.String()+")")
		}
	}
	if passing == 0 {
		parts = append(parts, "no passing DKIM signature")
	}
	if !v.Sampled {
		testMode := ""
		if rec.Testing {
			testMode = ", t=y"
		}
		parts = append(parts, "not sampled (pct="+strconv.Itoa(rec.Percent)+testMode+"): "+
			string(v.Requested)+" lowered to "+string(v.Disposition))
	}
	return strings.Join(parts, "; ")
}

// isPass reports whether an SPF or DKIM result is "pass", in any case.
func isPass(result string) bool { return strings.EqualFold(result, "pass") }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// AuthResult returns the verdict as an Authentication-Results dmarc
// result (RFC 7489 section 11.2): header.from, a comment with the
// requested policy and the disposition in opendmarc's words ("p=reject
// dis=quarantine"), and policy.dmarc set to the disposition. A caller that
// overrides the disposition (a local policy for a mailing list, a trusted
// ARC chain) changes policy.dmarc and says why in Reason.
func (v Verdict) AuthResult() authres.Result {
	comment, policy := v.AuthResultParts()
	return authres.DMARC(string(v.Result), comment, v.FromDomain, policy)
}

// AuthResultParts returns what AuthResult writes besides the result and
// the From domain: the comment ("p=reject dis=none") and policy.dmarc, ""
// when there is none. It serves a caller that writes the field itself
// (authres.Writer).
func (v Verdict) AuthResultParts() (comment, policy string) {
	if v.Requested == "" {
		return "", ""
	}
	return policyComment(v.Requested, v.Disposition), string(v.Disposition)
}

// policies are the three policies, in the order of policyComments.
var policies = [...]Policy{PolicyNone, PolicyQuarantine, PolicyReject}

// policyComments holds every AuthResult comment, made once: one is needed
// for each message.
var policyComments = func() (c [len(policies)][len(policies)]string) {
	for i, requested := range policies {
		for j, disposition := range policies {
			c[i][j] = "p=" + string(requested) + " dis=" + string(disposition)
		}
	}
	return c
}()

// policyComment returns "p=<requested> dis=<disposition>".
func policyComment(requested, disposition Policy) string {
	i, j := slices.Index(policies[:], requested), slices.Index(policies[:], disposition)
	if i < 0 || j < 0 {
		return "p=" + string(requested) + " dis=" + string(disposition)
	}
	return policyComments[i][j]
}
