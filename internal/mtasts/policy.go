package mtasts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalidPolicy reports a policy file that does not parse (RFC 8461
// section 3.2); TLS reporting calls this "sts-policy-invalid".
var ErrInvalidPolicy = errors.New("mtasts: invalid policy")

// MaxPolicySize is the largest policy file accepted, the limit RFC 8461
// section 3.3 recommends.
const MaxPolicySize = 64 << 10

// MaxMaxAge is the largest max_age honoured (RFC 8461 section 3.2); larger
// values are capped to it.
const MaxMaxAge = 31557600 * time.Second

// Mode is a policy's mode (RFC 8461 section 5).
type Mode string

// The modes of RFC 8461 section 5.
const (
	// ModeEnforce: deliver only to MX hosts that match the policy and
	// present a valid certificate over TLS.
	ModeEnforce Mode = "enforce"
	// ModeTesting: check as for enforce and report failures, but deliver
	// anyway.
	ModeTesting Mode = "testing"
	// ModeNone: treat the domain as having no policy.
	ModeNone Mode = "none"
)

// Policy is a parsed MTA-STS policy.
type Policy struct {
	Mode Mode
	// MX holds the allowed MX host patterns, lower case, each an exact host
	// name or "*." followed by one.
	MX []string
	// MaxAge is how long the policy may be cached, at most MaxMaxAge.
	MaxAge time.Duration
}

// ParsePolicy parses a policy file (RFC 8461 section 3.2). Errors wrap
// ErrInvalidPolicy.
func ParsePolicy(b []byte) (Policy, error) {
	if len(b) > MaxPolicySize {
		return Policy{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalidPolicy, MaxPolicySize)
	}
	if !utf8.Valid(b) {
		return Policy{}, fmt.Errorf("%w: not UTF-8", ErrInvalidPolicy)
	}
	var (
		p    Policy
		seen = map[string]bool{}
	)
	for n, line := range bytes.Split(b, []byte("\n")) {
		// Lines end in LF or CRLF (sts-policy-term); trailing white space
		// after a field is allowed. Empty lines are tolerated, although the
		// grammar only allows one at the end.
		l := strings.TrimRight(strings.TrimSuffix(string(line), "\r"), " \t")
		if l == "" {
			continue
		}
		if err := p.parseField(l, seen); err != nil {
			return Policy{}, fmt.Errorf("%w: line %d: %w", ErrInvalidPolicy, n+1, err)
		}
	}
	for _, f := range []string{"version", "mode", "max_age"} {
		if !seen[f] {
			return Policy{}, fmt.Errorf("%w: no %s field", ErrInvalidPolicy, f)
		}
	}
	if p.Mode != ModeNone && len(p.MX) == 0 {
		return Policy{}, fmt.Errorf("%w: no mx field", ErrInvalidPolicy)
	}
	return p, nil
}

// parseField parses one "name: value" line into p.
func (p *Policy) parseField(line string, seen map[string]bool) error {
	name, value, ok := strings.Cut(line, ":")
	if !ok || !validExtName(name) {
		return fmt.Errorf("malformed field %q", line)
	}
	value = strings.TrimLeft(value, " \t") // field-delim = ":" *WSP
	if name != "mx" && seen[name] && isKnownField(name) {
		return fmt.Errorf("%s given twice", name)
	}
	seen[name] = true
	switch name {
	case "version":
		if value != "STSv1" {
			return fmt.Errorf("unknown version %q", value)
		}
	case "mode":
		switch m := Mode(value); m {
		case ModeEnforce, ModeTesting, ModeNone:
			p.Mode = m
		default:
			return fmt.Errorf("unknown mode %q", value)
		}
	case "max_age":
		d, err := parseMaxAge(value)
		if err != nil {
			return err
		}
		p.MaxAge = d
	case "mx":
		if !validMXPattern(value) {
			return fmt.Errorf("invalid mx pattern %q", value)
		}
		p.MX = append(p.MX, strings.ToLower(value))
	default:
		if !validPolicyExtValue(value) {
			return fmt.Errorf("malformed value of %q", name)
		}
	}
	return nil
}

func isKnownField(name string) bool {
	switch name {
	case "version", "mode", "max_age", "mx":
		return true
	}
	return false
}

// parseMaxAge parses sts-policy-max-age-value, 1*10(DIGIT), capping it.
func parseMaxAge(s string) (time.Duration, error) {
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("invalid max_age %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 64) // 10 digits always fit
	if err != nil {
		return 0, fmt.Errorf("invalid max_age %q: %w", s, err)
	}
	// Cap before converting: 10 digits of seconds overflow a Duration.
	return time.Duration(min(n, uint64(MaxMaxAge/time.Second))) * time.Second, nil
}

// validMXPattern checks ["*."] Domain, Domain being RFC 5321's: labels of
// letters, digits and inner hyphens.
func validMXPattern(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if !validLabel(label) {
			return false
		}
	}
	return true
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if !isAlnum(l[i]) && l[i] != '-' {
			return false
		}
	}
	return true
}

// validPolicyExtValue checks sts-policy-ext-value: VCHAR, UTF-8 and inner
// spaces, no control characters. Leading and trailing white space were
// already removed.
func validPolicyExtValue(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\t' {
			return false
		}
	}
	return true
}

// Match reports whether the policy allows the MX host mxHost (RFC 8461
// section 4.1). A pattern "*.example.com" matches "mx.example.com" but
// neither "example.com" nor "a.mx.example.com". The comparison ignores
// case and a trailing dot on mxHost. The mode is not considered.
func (p Policy) Match(mxHost string) bool {
	host := strings.ToLower(strings.TrimSuffix(mxHost, "."))
	if host == "" {
		return false
	}
	for _, pat := range p.MX {
		if suffix, ok := strings.CutPrefix(pat, "*"); ok {
			label, found := strings.CutSuffix(host, suffix)
			if found && label != "" && !strings.Contains(label, ".") {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// normalizeDomain lower-cases domain, drops a trailing dot and checks that
// it is a host name made of A-labels, so that it is safe to put in a URL.
func normalizeDomain(domain string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if !validMXPattern(d) || strings.HasPrefix(d, "*.") || !strings.Contains(d, ".") {
		return "", fmt.Errorf("mtasts: invalid domain %q", domain)
	}
	return d, nil
}

// String returns p as a policy file (RFC 8461 section 3.2), as a policy
// host serves it; ParsePolicy reads it back.
func (p Policy) String() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + string(p.Mode) + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\r\n")
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", int64(p.MaxAge/time.Second))
	return b.String()
}

// PolicyID returns an id for the _mta-sts TXT record (RFC 8461 section
// 3.1) that changes when the policy text does, so that senders fetch a
// changed policy again.
func PolicyID(policy string) string {
	sum := sha256.Sum256([]byte(policy))
	return hex.EncodeToString(sum[:8])
}
