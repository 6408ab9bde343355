package mtasts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"sealpost.dev/sealpost/internal/dnsx"
)

// ErrNoRecord reports that a domain has no usable MTA-STS TXT record: none,
// more than one, or one that does not parse (RFC 8461 section 3.1). A DNS
// failure is not reported with it but with an error wrapping
// dnsx.ErrTemporary.
var ErrNoRecord = errors.New("mtasts: no valid MTA-STS TXT record")

// Record is a parsed _mta-sts TXT record (RFC 8461 section 3.1).
type Record struct {
	// ID identifies the current policy: 1 to 32 letters and digits. A new
	// ID tells senders to fetch the policy again.
	ID string
}

const (
	recordVersion = "v=STSv1"
	maxIDLen      = 32
	maxExtName    = 32
)

// LookupRecord looks up and parses the TXT record at _mta-sts.<domain>.
func LookupRecord(ctx context.Context, r dnsx.Resolver, domain string) (Record, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return Record{}, err
	}
	txts, _, err := r.LookupTXT(ctx, "_mta-sts."+d)
	if errors.Is(err, dnsx.ErrNotFound) {
		return Record{}, fmt.Errorf("%w: %w", ErrNoRecord, err)
	}
	if err != nil {
		return Record{}, fmt.Errorf("mtasts: looking up _mta-sts.%s: %w", d, err)
	}
	var candidates []string
	for _, t := range txts {
		if isSTSRecord(t) {
			candidates = append(candidates, t)
		}
	}
	switch len(candidates) {
	case 0:
		return Record{}, fmt.Errorf("%w at _mta-sts.%s", ErrNoRecord, d)
	case 1:
		return ParseRecord(candidates[0])
	default:
		return Record{}, fmt.Errorf("%w: %d records at _mta-sts.%s", ErrNoRecord, len(candidates), d)
	}
}

// isSTSRecord reports whether s begins with "v=STSv1;" (whitespace allowed
// before the ";" as the grammar does): the test of RFC 8461 section 3.1 for
// records to consider.
func isSTSRecord(s string) bool {
	rest, ok := strings.CutPrefix(s, recordVersion)
	return ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), ";")
}

// ParseRecord parses the text of an MTA-STS TXT record, such as
// "v=STSv1; id=20160831085700Z;". Errors wrap ErrNoRecord.
func ParseRecord(s string) (Record, error) {
	rest, ok := strings.CutPrefix(s, recordVersion)
	if !ok {
		return Record{}, fmt.Errorf("%w: does not start with %q", ErrNoRecord, recordVersion)
	}
	fields := strings.Split(rest, ";")
	if strings.Trim(fields[0], " \t") != "" {
		return Record{}, fmt.Errorf("%w: text after version", ErrNoRecord)
	}
	fields = fields[1:]
	// A trailing ";" is allowed (field-delim at the end of the grammar).
	if len(fields) > 1 && strings.Trim(fields[len(fields)-1], " \t") == "" {
		fields = fields[:len(fields)-1]
	}
	var rec Record
	for _, f := range fields {
		f = strings.Trim(f, " \t")
		name, value, ok := strings.Cut(f, "=")
		if !ok || !validExtName(name) {
			return Record{}, fmt.Errorf("%w: malformed field %q", ErrNoRecord, f)
		}
		if name != "id" {
			if !validRecordExtValue(value) {
				return Record{}, fmt.Errorf("%w: malformed value of %q", ErrNoRecord, name)
			}
			continue // unknown fields are ignored
		}
		if rec.ID != "" {
			return Record{}, fmt.Errorf("%w: more than one id", ErrNoRecord)
		}
		if !validID(value) {
			return Record{}, fmt.Errorf("%w: invalid id %q", ErrNoRecord, value)
		}
		rec.ID = value
	}
	if rec.ID == "" {
		return Record{}, fmt.Errorf("%w: no id", ErrNoRecord)
	}
	return rec, nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validID checks sts-id: 1*32(ALPHA / DIGIT).
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// validExtName checks sts-ext-name and sts-policy-ext-name, which share a
// grammar: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
func validExtName(s string) bool {
	if s == "" || len(s) > maxExtName || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validRecordExtValue checks sts-ext-value: 1*(%x21-3A / %x3C / %x3E-7E),
// printable ASCII except "=" and ";".
func validRecordExtValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '=' || c == ';' {
			return false
		}
	}
	return true
}
