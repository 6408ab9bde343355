package dkim

import (
	"encoding/base64"
	"slices"
	"strings"
	"time"
)

// The plain definitions that the faster parsers are tested and fuzzed
// against: each follows the grammar of RFC 6376 section 3 a step at a time,
// with no concern for speed.

func refParseTagList(s string) (TagList, bool) {
	var list TagList
	for _, spec := range strings.Split(s, ";") {
		if strings.TrimLeft(spec, " \t\r\n") == "" {
			continue
		}
		name, value, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, false
		}
		name, value = trimFWS(name), trimFWS(value)
		if !validTagName(name) {
			return nil, false
		}
		for i := 0; i < len(value); i++ {
			if c := value[i]; (c < 0x21 && !isFWS(c)) || c == 0x7f {
				return nil, false
			}
		}
		if slices.ContainsFunc(list, func(t Tag) bool { return t.Name == name }) {
			return nil, false
		}
		list = append(list, Tag{Name: name, Value: value})
	}
	return list, true
}

func refHeaderNames(s string) ([]string, bool) {
	var names []string
	for _, n := range strings.Split(s, ":") {
		n = trimFWS(n)
		if n == "" || strings.ContainsFunc(n, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return nil, false
		}
		names = append(names, n)
	}
	return names, true
}

func refBase64(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s))
	return b, err == nil
}

// refParseSignature is ParseSignature by the plain definitions.
func refParseSignature(value string) (*Signature, bool) {
	tags, ok := refParseTagList(value)
	if !ok {
		return nil, false
	}
	get := func(n string) string {
		v, _ := tags.Lookup(n)
		return v
	}
	for _, req := range []string{"v", "a", "b", "bh", "d", "h", "s"} {
		if _, ok := tags.Lookup(req); !ok {
			return nil, false
		}
	}
	s := &Signature{Tags: tags, Length: -1, Algorithm: Algorithm(strings.ToLower(get("a")))}
	var err error
	if s.Sig, ok = refBase64(get("b")); !ok || len(s.Sig) == 0 || get("v") != "1" {
		return nil, false
	}
	if s.BodyHash, ok = refBase64(get("bh")); !ok || len(s.BodyHash) == 0 {
		return nil, false
	}
	if s.HeaderCanon, s.BodyCanon, err = ParseCanon(get("c")); err != nil {
		return nil, false
	}
	s.Domain = strings.ToLower(get("d"))
	if !ValidDomain(s.Domain) {
		return nil, false
	}
	if s.Headers, ok = refHeaderNames(get("h")); !ok ||
		!slices.ContainsFunc(s.Headers, func(n string) bool { return strings.EqualFold(n, "From") }) {
		return nil, false
	}
	if s.Selector = get("s"); !ValidSelector(s.Selector) {
		return nil, false
	}
	s.Identity = "@" + s.Domain
	if i, ok := tags.Lookup("i"); ok {
		at := strings.LastIndexByte(i, '@')
		if at < 0 || !IsSubdomain(strings.ToLower(i[at+1:]), s.Domain) {
			return nil, false
		}
		s.Identity = i
	}
	if l, ok := tags.Lookup("l"); ok {
		if s.Length, err = parseDigits(l, 76); err != nil {
			return nil, false
		}
	}
	if q, ok := tags.Lookup("q"); ok {
		if !slices.ContainsFunc(strings.Split(q, ":"), func(m string) bool { return strings.EqualFold(trimFWS(m), "dns/txt") }) {
			return nil, false
		}
	}
	for _, tx := range []struct {
		name string
		dst  *time.Time
	}{{"t", &s.Timestamp}, {"x", &s.Expiration}} {
		if v, ok := tags.Lookup(tx.name); ok {
			n, err := parseDigits(v, maxTimeDigits)
			if err != nil {
				return nil, false
			}
			*tx.dst = time.Unix(n, 0)
		}
	}
	if !s.Timestamp.IsZero() && !s.Expiration.IsZero() && s.Expiration.Before(s.Timestamp) {
		return nil, false
	}
	return s, true
}

// refSelectFields is the selection of the fields a signature covers (RFC
// 6376 section 5.4.2) as the header hash makes it: each name takes the
// last field of that name not yet taken. Names are compared as
// SelectFields does, and of the same length: the names of h= are ASCII,
// and a field name with letters outside ASCII that Unicode folds to
// ASCII ones (U+017F, U+212A) is not one of them.
func refSelectFields(h Header, names []string) [][]byte {
	used := make([]bool, len(h))
	out := make([][]byte, len(names))
	for i, name := range names {
		for j := len(h) - 1; j >= 0; j-- {
			if !used[j] && len(h[j].Name) == len(name) && strings.EqualFold(h[j].Name, name) {
				used[j] = true
				out[i] = h[j].Raw
				break
			}
		}
	}
	return out
}

// refHeaderList is Signer.headerList written plainly: each name to sign
// (From first, then the others once each), as many times as the header
// has fields of that name, compared lower-cased, plus one.
func refHeaderList(s *Signer, h Header) []string {
	names := s.Headers
	if names == nil {
		names = defaultHeaders
	}
	var list []string
	var done []string
	for _, name := range append([]string{"From"}, names...) {
		if slices.Contains(done, strings.ToLower(name)) {
			continue
		}
		done = append(done, strings.ToLower(name))
		n := 0
		for _, f := range h {
			// Lower-cased, as Signer.headerList compares (lowerEqual).
			//lint:ignore SA6005 see above
			if strings.ToLower(f.Name) == strings.ToLower(name) {
				n++
			}
		}
		for range n + 1 {
			list = append(list, name)
		}
	}
	return list
}
