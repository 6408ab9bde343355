// Package mailauth authenticates inbound mail for the delivery pipeline
// (a delivery.Hook): SPF of MAIL FROM and of HELO (RFC 7208, package spf),
// every DKIM signature (RFC 6376, package dkim) and DMARC (RFC 7489,
// package dmarc) of the RFC5322.From domain. The results go into one
// Authentication-Results field (RFC 8601, package authres) with our
// authserv-id, and fields from outside that claim that id are removed
// (RFC 8601 section 5).
//
// The ARC chain (RFC 8617, package arc) is validated too. DMARC's policy is
// applied when Enforce is set: p=reject refuses the message at DATA with
// 550 5.7.1, p=quarantine files it in Junk. A message is spared when its
// From domain, or a domain that passed SPF or DKIM for it, is one of
// Exempt or below one (mailing lists and forwarders that break DMARC), or
// when a valid ARC chain whose latest seal is by one of TrustedSealers
// says it passed DMARC there (RFC 8617 section 7.2.1); every such override
// is logged with the verdict and reported. Each evaluation of a domain
// that asks for aggregate reports is counted for them (package reports).
//
// A DKIM signature with l= whose body goes on past l= passes, and is
// reported so, but does not count towards DMARC: anyone may have added
// the unsigned part, which is where a phishing text would go.
//
// Mail submitted by our own users (an authenticated session) and mail the
// outbound queue delivers locally (no client address) is not checked; only
// the fields claiming our id are removed from it.
//
// Mail forwarded to outside addresses is sealed with ARC (SealForward, a
// delivery.Sealer) with the results of these checks.
//
// A message held in memory (delivery.InMemory: the SMTP server's spool up
// to 1 MiB, delivery.Spool) is checked where it lies, its header fields
// and its body not copied; one on disk is read through a pooled buffer.
// Both give the same results (TestInMemorySameAsRead).
package mailauth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/authres"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/reports"
	"sealpost.dev/sealpost/internal/spf"
)

// DefaultTimeout bounds the DNS work of all checks of one message.
const DefaultTimeout = 20 * time.Second

// Checker checks inbound messages. Resolver and AuthservID are required.
type Checker struct {
	Resolver dnsx.Resolver
	// AuthservID names us in Authentication-Results.
	AuthservID string
	// Hostname is our host name, for SPF's %{r}; "" means AuthservID.
	Hostname string
	// Enforce applies DMARC's reject and quarantine.
	Enforce bool
	// Exempt are domains whose mail DMARC enforcement spares.
	Exempt []string
	// TrustedSealers are the forwarders whose ARC chains may override a
	// DMARC failure.
	TrustedSealers []string
	// Reports, when set, counts DMARC evaluations for aggregate reports.
	Reports *reports.DMARCRecorder
	// Signers gives a hosted domain's active DKIM signers, for sealing
	// forwarded mail with ARC (SealForward); nil seals nothing.
	Signers func(ctx context.Context, domain string) ([]*dkim.Signer, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Timeout bounds the checks of one message; 0 means DefaultTimeout.
	Timeout time.Duration
	// Sample is DMARC's pct sampling (dmarc.Evaluator.Sample); nil is
	// random.
	Sample func() int
	Logger *slog.Logger
}

// Results are what the checks of one message found.
type Results struct {
	SPF, HELO spf.Received
	DKIM      []dkim.Result
	ARC       *arc.Result
	DMARC     dmarc.Verdict
	// Input is what DMARC was given.
	Input dmarc.Input
	// Exempted names the Exempt entry that spared the message, if one did;
	// TrustedARC the trusted sealer whose chain did.
	Exempted, TrustedARC string
}

// Check implements delivery.Hook.
func (c *Checker) Check(ctx context.Context, env *delivery.Envelope, msg delivery.Message) (delivery.Verdict, error) {
	mr := readers.Get().(*msgReader)
	defer mr.release()
	m, body, err := mr.open(msg)
	if err != nil {
		return delivery.Verdict{}, err
	}
	var v delivery.Verdict
	for _, f := range m.claiming(c.AuthservID) {
		v.Drop = append(v.Drop, f.Index)
	}
	if env.Account != 0 || !env.RemoteIP.IsValid() {
		// Our own user's mail, authenticated by the session, or mail the
		// queue hands back for local delivery (reports, forwards).
		return v, nil
	}
	pm := new(perMessage)
	res, err := c.authenticate(ctx, env, msg, &m, body, pm, &mr.room)
	if err != nil {
		return delivery.Verdict{}, err
	}
	ar, err := c.authResultsFieldInto(&res, &mr.out)
	if err != nil {
		return delivery.Verdict{}, fmt.Errorf("mailauth: %w", err)
	}
	v.Headers = append(pm.headers[:0:1], strings.TrimRight(ar, "\r\n"))
	res.summaryInto(&pm.auth, pm.authDKIM[:0:1])
	env.Auth = &pm.auth
	c.decide(&v, &res)
	if log := c.log(); log.Enabled(ctx, slog.LevelInfo) {
		log.Info("mail authentication", "id", env.ID, "spf", res.SPF.Result, "helo", res.HELO.Result,
			"dkim", dkimSummary(res.DKIM), "arc", res.ARC.Status, "dmarc", res.DMARC.Result, "from", res.DMARC.FromDomain,
			"policy", res.DMARC.Disposition, "exempt", res.Exempted, "trusted_arc", res.TrustedARC,
			"action", v.Action, "folder", v.Folder, "reason", v.Reason)
	}
	c.record(ctx, env, &res)
	return v, nil
}

// perMessage holds what the check of one message hands on (Envelope.Auth,
// Verdict.Headers) and the deadline its lookups see, made in one
// allocation instead of one each. What does not outlive the check is in
// the pooled msgReader (checkRoom): allocating all of it here, some
// 2.2 KiB a message, cost a point and more of the check's time above its
// cryptography (BenchmarkCheckOverFloor).
type perMessage struct {
	// The deadline stays here, not in the pool: the lookups of a message
	// with several signatures run in goroutines that may still be ending
	// when the check returns.
	deadline deadlineCtx
	auth     delivery.Auth
	authDKIM [1]string
	headers  [1]string
}

// checkRoom holds what the check of one message makes that outlives a
// function's frame but not the check: the results and the parsed
// signature of a message with one DKIM signature, most of them, and what
// DMARC is given. It is part of the pooled msgReader and cleared with it.
type checkRoom struct {
	noARC     arc.Result
	from      [1]string
	dmarcDKIM [2]dmarc.DKIM
	dkim      dkim.SignatureRoom
}

// authenticate runs SPF, DKIM, ARC and DMARC on a message whose header m
// was read from body, which is left at the start of the body. DNS
// failures are results (temperror), not errors; an error means the
// message could not be read. The deadline is made in pm, what the results
// refer to in room.
func (c *Checker) authenticate(ctx context.Context, env *delivery.Envelope, msg delivery.Message, m *header, body io.Reader, pm *perMessage, room *checkRoom) (Results, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// A deadline whose timer is made only if a lookup has to wait: see
	// deadlineCtx.
	dctx := pm.deadline.init(ctx, time.Now().Add(timeout))
	defer dctx.stop()
	ctx = dctx
	var res Results
	args := spf.Args{IP: env.RemoteIP, MailFrom: env.MailFrom, HELO: env.Helo, Receiver: c.hostname()}
	// The errors repeat the result (temperror, permerror) already in it.
	res.SPF, _ = spf.Verify(ctx, c.Resolver, args)
	if env.MailFrom != "" && env.Helo != "" {
		res.HELO, _ = spf.VerifyHELO(ctx, c.Resolver, args)
	}
	if m.truncated {
		// As a verifier that could not read the header section: no
		// signature and no ARC set was seen.
		res.ARC = &arc.Result{Status: arc.StatusNone, Reason: dkim.ErrHeaderTooLarge.Error()}
	} else {
		var err error
		res.DKIM, err = (&dkim.Verifier{Resolver: c.Resolver}).VerifyHeaderIn(ctx, m.fields, body, &room.dkim)
		if err != nil {
			return res, fmt.Errorf("mailauth: reading the message for DKIM: %w", err)
		}
		if res.ARC, err = c.validateARC(ctx, msg, m.fields, &room.noARC); err != nil {
			return res, err
		}
	}
	var known [2]string
	if len(res.DKIM) > 0 {
		known[0] = res.DKIM[0].Domain
	}
	known[1] = res.SPF.Domain
	in := dmarc.Input{FromDomains: m.appendFromDomains(room.from[:0:1], known[:]), SPF: dmarc.SPF{Result: string(res.SPF.Result), Domain: res.SPF.Domain}}
	in.DKIM = room.dmarcDKIM[:0:len(room.dmarcDKIM)]
	for _, d := range res.DKIM {
		result := string(d.Status)
		if d.UnsignedBodyBytes > 0 && d.Status == dkim.StatusPass {
			result = "policy" // see the package doc: l= with more body after it
		}
		in.DKIM = append(in.DKIM, dmarc.DKIM{Result: result, Domain: d.Domain, Selector: d.Selector})
	}
	// As before they were made here: nil when empty.
	if len(in.FromDomains) == 0 {
		in.FromDomains = nil
	}
	if len(in.DKIM) == 0 {
		in.DKIM = nil
	}
	res.DMARC = (&dmarc.Evaluator{Resolver: c.Resolver, Sample: c.Sample}).Evaluate(ctx, in)
	res.Input = in
	res.Exempted = c.exemption(&res)
	if res.DMARC.Result == dmarc.ResultFail && res.Exempted == "" {
		if t := res.ARC.Trust(c.TrustedSealers); t.OverridesDMARC() {
			res.TrustedARC = t.Sealer
		}
	}
	return res, nil
}

// validateARC validates the message's ARC chain, given its header. Most
// messages have none, and the message is read again only for one that has;
// for one without, none is set and returned.
func (c *Checker) validateARC(ctx context.Context, msg delivery.Message, h dkim.Header, none *arc.Result) (*arc.Result, error) {
	if !hasARCField(h) {
		*none = arc.Result{Status: arc.StatusNone, Reason: "no ARC sets"}
		return none, nil
	}
	body, err := msg.Open()
	if err != nil {
		return nil, err
	}
	defer body.Close()
	res, err := (&arc.Validator{Resolver: c.Resolver}).Validate(ctx, body)
	if err != nil || res == nil {
		return &arc.Result{Status: arc.StatusNone, Reason: fmt.Sprint(err)}, nil
	}
	return res, nil
}

// hasARCField is arc.Present, its names told by length first (isName):
// most messages have no ARC field, and every field is looked at.
func hasARCField(h dkim.Header) bool {
	for _, f := range h {
		if isName(f.Name, arc.AuthResultsField) || isName(f.Name, arc.SealField) || isName(f.Name, arc.MessageSigField) {
			return true
		}
	}
	return false
}

// record counts the DMARC evaluation for the policy domain's aggregate
// reports; a failure is logged, never the message's.
func (c *Checker) record(ctx context.Context, env *delivery.Envelope, res *Results) {
	if c.Reports == nil || res.DMARC.Record == nil || len(res.DMARC.Record.Aggregate) == 0 {
		return
	}
	ev := reports.FromVerdict(res.DMARC, res.Input)
	ev.Time, ev.SourceIP = c.now(), env.RemoteIP
	if len(env.Recipients) > 0 {
		_, ev.EnvelopeTo, _ = strings.Cut(env.Recipients[0].Address, "@")
	}
	if res.SPF.Identity == spf.IdentityHELO {
		ev.SPF.Scope = "helo"
	}
	switch {
	case res.Exempted != "":
		ev.Disposition = string(dmarc.PolicyNone)
		ev.Reasons = append(ev.Reasons, reports.PolicyReason{Type: "local_policy", Comment: "exempt: " + res.Exempted})
	case res.TrustedARC != "":
		ev.Disposition = string(dmarc.PolicyNone)
		ev.Reasons = append(ev.Reasons, reports.PolicyReason{Type: "trusted_forwarder", Comment: "ARC sealed by " + res.TrustedARC})
	case !c.Enforce && res.DMARC.Result == dmarc.ResultFail:
		ev.Disposition = string(dmarc.PolicyNone)
		ev.Reasons = append(ev.Reasons, reports.PolicyReason{Type: "local_policy", Comment: "not enforced"})
	}
	if err := c.Reports.Record(ctx, ev); err != nil {
		c.log().Warn("counting a DMARC evaluation for reports", "id", env.ID, "err", err)
	}
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// decide applies the DMARC disposition to v.
func (c *Checker) decide(v *delivery.Verdict, res *Results) {
	if res.DMARC.Result != dmarc.ResultFail || !c.Enforce || res.Exempted != "" || res.TrustedARC != "" {
		return
	}
	switch res.DMARC.Disposition {
	case dmarc.PolicyReject:
		v.Action, v.Code, v.Enhanced = delivery.Reject, 550, "5.7.1"
		v.Text = "message refused: it fails the DMARC policy of " + res.DMARC.PolicyDomain
		v.Reason = "dmarc: p=reject for " + res.DMARC.FromDomain
	case dmarc.PolicyQuarantine:
		v.Folder = `\Junk`
		v.Reason = "dmarc: p=quarantine for " + res.DMARC.FromDomain
	}
}

// exemption returns the Exempt entry that covers the From domain or a
// domain that passed SPF or DKIM, or "".
func (c *Checker) exemption(res *Results) string {
	if res.DMARC.Result != dmarc.ResultFail {
		return ""
	}
	candidates := []string{res.DMARC.FromDomain}
	if res.SPF.Result == spf.Pass {
		candidates = append(candidates, res.SPF.Domain)
	}
	for _, d := range res.DKIM {
		if d.Status == dkim.StatusPass {
			candidates = append(candidates, d.Domain)
		}
	}
	for _, e := range c.Exempt {
		for _, d := range candidates {
			if d != "" && dkim.IsSubdomain(strings.TrimSuffix(strings.ToLower(d), "."), e) {
				return e
			}
		}
	}
	return ""
}

// authResults are the method results of the Authentication-Results field.
func (c *Checker) authResults(res Results) []authres.Result {
	return c.appendAuthResults(nil, &res)
}

// appendAuthResults appends to rs the method results of the
// Authentication-Results field.
func (c *Checker) appendAuthResults(rs []authres.Result, res *Results) []authres.Result {
	rs = append(rs, spfResult(&res.SPF))
	if res.HELO.Result != "" {
		rs = append(rs, spfResult(&res.HELO))
	}
	return c.appendOtherResults(rs, res)
}

// appendOtherResults appends to rs the results after SPF's: DKIM, ARC
// and DMARC.
func (c *Checker) appendOtherResults(rs []authres.Result, res *Results) []authres.Result {
	if len(res.DKIM) == 0 {
		rs = append(rs, authres.Result{Method: "dkim", Value: "none"})
	}
	for _, d := range res.DKIM {
		reason := d.Reason
		if d.UnsignedBodyBytes > 0 {
			unsigned := strconv.FormatInt(d.UnsignedBodyBytes, 10)
			reason = strings.TrimSpace(reason + " l= leaves " + unsigned + " body bytes unsigned")
		}
		b := ""
		if d.Signature != nil {
			b = d.HeaderB
		}
		rs = append(rs, authres.DKIM(string(d.Status), reason, d.Domain, d.Selector, string(d.Algorithm), b))
	}
	arcRes := authres.ARC(string(res.ARC.Status), res.ARC.Reason, "")
	for _, p := range res.ARC.AuthResultProps("") {
		if p.Name != "remote-ip" {
			arcRes.Props = append(arcRes.Props, authres.Prop{Type: p.Type, Name: p.Name, Value: p.Value})
		}
	}
	rs = append(rs, arcRes)
	dm := res.DMARC.AuthResult()
	if res.Exempted != "" || res.TrustedARC != "" {
		dm.Reason = "exempt by local policy: " + res.Exempted
		if res.TrustedARC != "" {
			dm.Reason = "ARC chain sealed by trusted " + res.TrustedARC
		}
		for i, p := range dm.Props {
			if p.Type == "policy" && p.Name == "dmarc" {
				dm.Props[i].Value = "none"
			}
		}
	}
	return append(rs, dm)
}

// authResultsField returns the Authentication-Results field of res,
// ending in CRLF: written straight from res in the usual case
// (writeAuthResults), or else by authres.Header from the list of results,
// which writes every case in the same bytes.
func (c *Checker) authResultsField(res *Results) (string, error) {
	var buf []byte
	return c.authResultsFieldInto(res, &buf)
}

// authResultsFieldInto is authResultsField writing the field into *buf
// first, which it grows as needed, for the caller to keep.
func (c *Checker) authResultsFieldInto(res *Results, buf *[]byte) (string, error) {
	out, ok := c.writeAuthResults((*buf)[:0], res)
	*buf = out[:0]
	if ok {
		return string(out), nil
	}
	return authres.Header(c.AuthservID, c.appendAuthResults(nil, res))
}

// writeAuthResults appends the Authentication-Results field of res with an
// authres.Writer, the results read where they are: putting them together
// as a list (appendAuthResults) cost about as much as writing them, and
// two allocations. It returns false for what it leaves to authres.Header:
// anything the Writer does not write as Header would (text to clean or
// cut), DKIM's l= note, ARC's header.oldest-pass, DMARC overridden by
// local policy.
func (c *Checker) writeAuthResults(dst []byte, res *Results) ([]byte, bool) {
	if res.Exempted != "" || res.TrustedARC != "" || res.ARC.Status == arc.StatusPass {
		return dst, false
	}
	var w authres.Writer
	dst, ok := w.Begin(dst, c.AuthservID)
	if !ok {
		return dst, false
	}
	if dst, ok = writeSPF(&w, dst, &res.SPF); !ok {
		return dst, false
	}
	if res.HELO.Result != "" {
		if dst, ok = writeSPF(&w, dst, &res.HELO); !ok {
			return dst, false
		}
	}
	if len(res.DKIM) == 0 {
		if dst, ok = w.Result(dst, "dkim", "none"); !ok {
			return dst, false
		}
	}
	for i := range res.DKIM {
		if dst, ok = writeDKIM(&w, dst, &res.DKIM[i]); !ok {
			return dst, false
		}
	}
	if dst, ok = w.Result(dst, "arc", string(res.ARC.Status)); !ok {
		return dst, false
	}
	if dst, ok = w.Reason(dst, "", res.ARC.Reason); !ok {
		return dst, false
	}
	if dst, ok = writeDMARC(&w, dst, &res.DMARC); !ok {
		return dst, false
	}
	return w.End(dst), true
}

// The properties writeAuthResults writes, checked once.
var (
	propMailFrom    = mustPropName("smtp", "mailfrom")
	propHELO        = mustPropName("smtp", "helo")
	propDKIM        = [...]authres.PropName{mustPropName("header", "d"), mustPropName("header", "s"), mustPropName("header", "a"), mustPropName("header", "b")}
	propFrom        = mustPropName("header", "from")
	propPolicyDMARC = mustPropName("policy", "dmarc")
)

func mustPropName(ptype, name string) authres.PropName {
	n, err := authres.NewPropName(ptype, name)
	if err != nil {
		panic(err)
	}
	return n
}

// writeSPF writes r as spfResult makes it.
func writeSPF(w *authres.Writer, dst []byte, r *spf.Received) ([]byte, bool) {
	head, reason := spfReason(r)
	dst, ok1 := w.Result(dst, "spf", string(r.Result))
	dst, ok2 := w.Reason(dst, head, reason)
	ok3 := true
	switch name, value := spfProp(r); name {
	case "mailfrom":
		dst, ok3 = w.PropNamed(dst, propMailFrom, value)
	case "helo":
		dst, ok3 = w.PropNamed(dst, propHELO, value)
	}
	return dst, ok1 && ok2 && ok3
}

// writeDKIM writes d as appendOtherResults makes it (authres.DKIM), but
// for the note on l=, which it leaves to authres.Header.
func writeDKIM(w *authres.Writer, dst []byte, d *dkim.Result) ([]byte, bool) {
	if d.UnsignedBodyBytes > 0 {
		return dst, false
	}
	b := ""
	if d.Signature != nil {
		b = authres.HeaderB(d.HeaderB)
	}
	dst, ok := w.Result(dst, "dkim", string(d.Status))
	if !ok {
		return dst, false
	}
	if dst, ok = w.Reason(dst, "", d.Reason); !ok {
		return dst, false
	}
	// authres.DKIM leaves out the properties without a value.
	for i, value := range [...]string{d.Domain, d.Selector, string(d.Algorithm), b} {
		if value == "" {
			continue
		}
		if dst, ok = w.PropNamed(dst, propDKIM[i], value); !ok {
			return dst, false
		}
	}
	return dst, true
}

// writeDMARC writes v as v.AuthResult makes it.
func writeDMARC(w *authres.Writer, dst []byte, v *dmarc.Verdict) ([]byte, bool) {
	comment, policy := v.AuthResultParts()
	dst, ok := w.Result(dst, "dmarc", string(v.Result))
	if !ok {
		return dst, false
	}
	if dst, ok = w.Comment(dst, comment); !ok {
		return dst, false
	}
	// authres.DMARC leaves out the properties without a value.
	if v.FromDomain != "" {
		if dst, ok = w.PropNamed(dst, propFrom, v.FromDomain); !ok {
			return dst, false
		}
	}
	if policy != "" {
		if dst, ok = w.PropNamed(dst, propPolicyDMARC, policy); !ok {
			return dst, false
		}
	}
	return dst, true
}

// spfResult is the spf result of r for Authentication-Results.
func spfResult(r *spf.Received) authres.Result {
	head, reason := spfReason(r)
	res := authres.Result{Method: "spf", Value: string(r.Result), Reason: head + reason}
	if name, value := spfProp(r); name != "" {
		res.Props = []authres.Prop{{Type: "smtp", Name: name, Value: value}}
	}
	return res
}

// spfProp returns the smtp property of r's spf result, as authres.SPF
// makes it: mailfrom or helo and its value; "" when there is none.
func spfProp(r *spf.Received) (name, value string) {
	switch {
	case r.Identity == spf.IdentityHELO:
		if r.HELO != "" {
			return "helo", r.HELO
		}
	case r.Sender != "":
		return "mailfrom", r.Sender
	}
	return "", ""
}

// spfReason returns the reason of r's spf result in two parts, for the
// caller to put together: what goes before ("matched ") and the rest.
func spfReason(r *spf.Received) (head, reason string) {
	if r.Problem == "" && r.Mechanism != "" {
		return "matched ", r.Mechanism
	}
	return "", r.Problem
}

func (c *Checker) hostname() string {
	if c.Hostname != "" {
		return c.Hostname
	}
	return c.AuthservID
}

func (c *Checker) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func dkimSummary(rs []dkim.Result) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r.Status) + ":" + r.Domain
	}
	return strings.Join(parts, ",")
}

// SealForward implements delivery.Sealer: it adds an ARC set to a message
// forwarded to outside addresses, with the results our checks added, so
// that the receiver can trust them (RFC 8617 section 5.1). The seal is by
// the domain of the first recipient with an RSA key among the active DKIM
// keys: receivers expect RSA in ARC. A message whose chain failed before
// it reached us is sealed with cv=fail, which ends the chain as the RFC
// asks; a domain without a key seals nothing.
func (c *Checker) SealForward(ctx context.Context, env *delivery.Envelope, open func() (io.ReadCloser, error), added []string) (string, error) {
	if c.Signers == nil || env.Account != 0 || !env.RemoteIP.IsValid() {
		return "", nil
	}
	results := c.ourResults(added)
	if results == "" {
		return "", nil
	}
	signer, err := c.arcSigner(ctx, env)
	if err != nil || signer == nil {
		return "", err
	}
	r, err := open()
	if err != nil {
		return "", err
	}
	chain, err := (&arc.Validator{Resolver: c.Resolver}).Validate(ctx, r)
	r.Close()
	if err != nil || chain == nil {
		chain = &arc.Result{Status: arc.StatusNone}
	}
	if r, err = open(); err != nil {
		return "", err
	}
	defer r.Close()
	set, err := (&arc.Sealer{Domain: signer.Domain, Selector: signer.Selector, Key: signer.Key, Now: c.Now}).Seal(r, c.AuthservID, results, chain)
	if errors.Is(err, arc.ErrChainEnded) || errors.Is(err, arc.ErrTooManySets) {
		return "", nil // nothing a seal can add
	}
	if err != nil {
		return "", err
	}
	return set.String(), nil
}

// ourResults returns the method results of our Authentication-Results
// field among added, unfolded; "" if there is none.
func (c *Checker) ourResults(added []string) string {
	for _, f := range added {
		name, value, ok := strings.Cut(f, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), authres.FieldName) || !authres.ClaimsID(value, c.AuthservID) {
			continue
		}
		_, results, ok := strings.Cut(value, ";")
		if ok {
			return strings.TrimSpace(strings.NewReplacer("\r\n", "", "\n", "").Replace(results))
		}
	}
	return ""
}

// arcSigner returns the RSA signer of the first recipient domain that has
// one.
func (c *Checker) arcSigner(ctx context.Context, env *delivery.Envelope) (*dkim.Signer, error) {
	seen := map[string]bool{}
	for _, r := range env.Recipients {
		_, domain, ok := strings.Cut(r.Address, "@")
		domain = strings.ToLower(domain)
		if !ok || seen[domain] {
			continue
		}
		seen[domain] = true
		signers, err := c.Signers(ctx, domain)
		if err != nil {
			continue // not one of ours
		}
		for _, s := range signers {
			if _, isRSA := s.Key.Public().(*rsa.PublicKey); isRSA {
				return s, nil
			}
		}
	}
	return nil, nil
}
