package arc

import (
	"slices"
	"strconv"
	"strings"
)

// Trust is what a chain says to a receiver that trusts some forwarders
// (RFC 8617 section 7.2.1).
type Trust struct {
	// Pass: the chain validated.
	Pass bool
	// Sealer is d= of the latest ARC-Seal (highest instance), when the
	// chain passed.
	Sealer string
	// Trusted: the chain passed, Sealer is one of the trusted domains, and
	// the latest AMS covers the whole body.
	Trusted bool
	// UnsignedBodyBytes counts the body bytes past the latest AMS's l=:
	// content added after the seal, which no forwarder vouches for. A
	// chain with such bytes is never trusted.
	UnsignedBodyBytes int64
	// AuthservID is the authserv-id of the latest
	// ARC-Authentication-Results.
	AuthservID string
	// DMARCPass: the latest ARC-Authentication-Results has dmarc results
	// and all of them are pass: the forwarder saw the message pass DMARC
	// before it changed it.
	DMARCPass bool
}

// OverridesDMARC reports whether a local DMARC failure may be overridden:
// a passing chain whose latest sealer is trusted and saw dmarc=pass.
func (t Trust) OverridesDMARC() bool { return t.Trusted && t.DMARCPass }

// Trust evaluates the result against trusted, the sealer domains whose
// results we accept (compared case-insensitively, exactly: a subdomain of a
// trusted domain is not trusted).
func (r *Result) Trust(trusted []string) Trust {
	var t Trust
	latest := r.Latest()
	if r.Status != StatusPass || latest == nil {
		return t
	}
	t.Pass = true
	t.Sealer = latest.Seal.Domain
	t.UnsignedBodyBytes = latest.UnsignedBodyBytes
	t.Trusted = t.UnsignedBodyBytes == 0 && slices.ContainsFunc(trusted, func(d string) bool {
		return strings.EqualFold(strings.TrimSuffix(d, "."), t.Sealer)
	})
	t.AuthservID = latest.AuthResults.AuthservID
	dmarc := latest.AuthResults.Lookup("dmarc")
	t.DMARCPass = len(dmarc) > 0
	for _, d := range dmarc {
		t.DMARCPass = t.DMARCPass && d.Result == "pass"
	}
	return t
}

// Prop is one property of an Authentication-Results resinfo, such as
// smtp.remote-ip=192.0.2.1.
type Prop struct {
	Type, Name, Value string
}

// AuthResultProps returns the properties RFC 8617 section 10.1 registers
// for the arc method: smtp.remote-ip (the address of the client we got
// the message from, when given) and, for a passing chain,
// header.oldest-pass.
func (r *Result) AuthResultProps(remoteIP string) []Prop {
	var props []Prop
	if remoteIP != "" {
		props = append(props, Prop{"smtp", "remote-ip", remoteIP})
	}
	if r.Status == StatusPass {
		props = append(props, Prop{"header", "oldest-pass", strconv.Itoa(r.OldestPass)})
	}
	return props
}

// AuthResult formats the arc resinfo for Authentication-Results (RFC
// 8601): "arc=pass (reason) smtp.remote-ip=192.0.2.1 header.oldest-pass=0".
func (r *Result) AuthResult(remoteIP string) string {
	var b strings.Builder
	b.WriteString("arc=")
	b.WriteString(string(r.Status))
	if r.Reason != "" {
		b.WriteString(" (")
		b.WriteString(commentText(r.Reason))
		b.WriteString(")")
	}
	for _, p := range r.AuthResultProps(remoteIP) {
		b.WriteString(" " + p.Type + "." + p.Name + "=" + p.Value)
	}
	return b.String()
}

// commentText makes s safe inside an RFC 5322 comment.
func commentText(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "(", "\\(", ")", "\\)", "\r", " ", "\n", " ")
	return r.Replace(s)
}
