package arc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dkim"
)

// The names of the three ARC header fields (RFC 8617 section 4.1).
const (
	AuthResultsField = "ARC-Authentication-Results"
	MessageSigField  = "ARC-Message-Signature"
	SealField        = "ARC-Seal"
)

// MaxInstances is the most ARC sets a chain may have (RFC 8617 section
// 4.2.1).
const MaxInstances = 50

// ErrSyntax is wrapped by every error about a malformed ARC header field.
var ErrSyntax = errors.New("arc: syntax error")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

// Seal is a parsed ARC-Seal header field (RFC 8617 section 4.1.3).
type Seal struct {
	Instance  int            // i=
	Algorithm dkim.Algorithm // a=, lower case
	Sig       []byte         // b=, decoded
	CV        Status         // cv=
	Domain    string         // d=, lower case
	Selector  string         // s=
	Timestamp time.Time      // t=, zero when absent
	Tags      dkim.TagList
}

// MessageSignature is a parsed ARC-Message-Signature header field (RFC
// 8617 section 4.1.2): a DKIM signature without v=, whose i= is the
// instance.
type MessageSignature struct {
	Instance    int            // i=
	Algorithm   dkim.Algorithm // a=, lower case
	Sig         []byte         // b=, decoded
	BodyHash    []byte         // bh=, decoded
	HeaderCanon dkim.Canon     // c=, header part
	BodyCanon   dkim.Canon     // c=, body part
	Domain      string         // d=, lower case
	Selector    string         // s=
	Headers     []string       // h=, as written
	Length      int64          // l=, -1 when absent
	Timestamp   time.Time      // t=, zero when absent
	Tags        dkim.TagList
}

// ParseSeal parses the value of an ARC-Seal field. Required: i, a, b, cv,
// d, s; t= is optional; an h= tag is an error (section 4.1.3).
func ParseSeal(value string) (*Seal, error) {
	tags, err := parseTags(value)
	if err != nil {
		return nil, err
	}
	if err := require(tags, "i", "a", "b", "cv", "d", "s"); err != nil {
		return nil, err
	}
	if _, ok := tags.Lookup("h"); ok {
		return nil, syntaxErr("ARC-Seal has an h= tag")
	}
	s := &Seal{Tags: tags}
	if s.Instance, err = parseInstance(tags.Get("i")); err != nil {
		return nil, err
	}
	s.Algorithm = dkim.Algorithm(strings.ToLower(tags.Get("a")))
	if s.Sig, err = decodeBase64(tags.Get("b")); err != nil {
		return nil, syntaxErr("invalid b= value")
	}
	switch cv := Status(tags.Get("cv")); cv {
	case StatusNone, StatusPass, StatusFail:
		s.CV = cv
	default:
		return nil, syntaxErr("invalid cv=%s", cv)
	}
	if s.Domain, s.Selector, err = domainSelector(tags); err != nil {
		return nil, err
	}
	if s.Timestamp, err = parseTime(tags); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseMessageSignature parses the value of an ARC-Message-Signature field.
// Required: i, a, b, bh, d, h, s; c= defaults to simple/simple. h= must
// not name ARC-Seal (section 4.1.2: ARC fields are never signed by an AMS;
// a seal in h= would make the chain depend on a later hop).
func ParseMessageSignature(value string) (*MessageSignature, error) {
	tags, err := parseTags(value)
	if err != nil {
		return nil, err
	}
	if err := require(tags, "i", "a", "b", "bh", "d", "h", "s"); err != nil {
		return nil, err
	}
	m := &MessageSignature{Tags: tags, Length: -1}
	if m.Instance, err = parseInstance(tags.Get("i")); err != nil {
		return nil, err
	}
	m.Algorithm = dkim.Algorithm(strings.ToLower(tags.Get("a")))
	if m.Sig, err = decodeBase64(tags.Get("b")); err != nil {
		return nil, syntaxErr("invalid b= value")
	}
	if m.BodyHash, err = decodeBase64(tags.Get("bh")); err != nil {
		return nil, syntaxErr("invalid bh= value")
	}
	if c, ok := tags.Lookup("c"); ok {
		if c == "" {
			return nil, syntaxErr("empty c=")
		}
		if m.HeaderCanon, m.BodyCanon, err = dkim.ParseCanon(c); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
	} else {
		// RFC 8617 imports DKIM's default, simple/simple, but the ARC
		// test suite and dkimpy read a missing c= as relaxed/relaxed, the
		// only canonicalization ARC signers use; Sealpost agrees with them.
		m.HeaderCanon, m.BodyCanon = dkim.Relaxed, dkim.Relaxed
	}
	if m.Domain, m.Selector, err = domainSelector(tags); err != nil {
		return nil, err
	}
	if m.Headers, err = parseHeaderList(tags.Get("h")); err != nil {
		return nil, err
	}
	if l, ok := tags.Lookup("l"); ok {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 || !allDigits(l) {
			return nil, syntaxErr("invalid l=%s", l)
		}
		m.Length = n
	}
	if m.Timestamp, err = parseTime(tags); err != nil {
		return nil, err
	}
	return m, nil
}

// parseTags parses a tag list as RFC 6376 section 3.2 writes it: unlike
// dkim.ParseTagList, an empty tag-spec (";;") is an error; only one
// trailing semicolon is allowed.
func parseTags(value string) (dkim.TagList, error) {
	specs := strings.Split(value, ";")
	for i, spec := range specs {
		if strings.Trim(spec, " \t\r\n") == "" && i != len(specs)-1 {
			return nil, syntaxErr("empty tag-spec")
		}
	}
	tags, err := dkim.ParseTagList(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	return tags, nil
}

func require(tags dkim.TagList, names ...string) error {
	for _, n := range names {
		if _, ok := tags.Lookup(n); !ok {
			return syntaxErr("missing tag %s=", n)
		}
	}
	return nil
}

// parseInstance parses an i= value: 1 to MaxInstances, digits only.
func parseInstance(s string) (int, error) {
	if s == "" || len(s) > 2 || !allDigits(s) {
		return 0, syntaxErr("invalid instance i=%s", s)
	}
	n, _ := strconv.Atoi(s)
	if n < 1 || n > MaxInstances {
		return 0, syntaxErr("instance i=%s out of range", s)
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func domainSelector(tags dkim.TagList) (domain, selector string, err error) {
	domain = strings.ToLower(tags.Get("d"))
	if !dkim.ValidDomain(domain) {
		return "", "", syntaxErr("invalid domain d=%s", tags.Get("d"))
	}
	selector = tags.Get("s")
	if !validSelector(selector) {
		return "", "", syntaxErr("invalid selector s=%s", selector)
	}
	return domain, selector, nil
}

// validSelector checks s= as a sequence of dot-separated labels of
// letters, digits, hyphens and underscores.
func validSelector(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c|0x20 >= 'a' && c|0x20 <= 'z') && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// parseHeaderList parses h=: colon-separated field names, each a run of
// printable characters other than colon (RFC 5322 field-name). Empty
// elements are skipped; ARC-Seal may not be named.
func parseHeaderList(s string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(s, ":") {
		n = strings.Trim(n, " \t\r\n")
		if n == "" {
			continue
		}
		for i := 0; i < len(n); i++ {
			if n[i] <= ' ' || n[i] >= 0x7f {
				return nil, syntaxErr("invalid field name %q in h=", n)
			}
		}
		if strings.EqualFold(n, SealField) {
			return nil, syntaxErr("h= names ARC-Seal")
		}
		names = append(names, n)
	}
	return names, nil
}

func parseTime(tags dkim.TagList) (time.Time, error) {
	v, ok := tags.Lookup("t")
	if !ok {
		return time.Time{}, nil
	}
	if len(v) > 12 || !allDigits(v) {
		return time.Time{}, syntaxErr("invalid t=%s", v)
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.Unix(n, 0), nil
}

// decodeBase64 decodes a b= or bh= value, folding whitespace removed. An
// empty value is an error.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil && len(b) == 0 {
		err = errors.New("empty")
	}
	return b, err
}
