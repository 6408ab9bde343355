package dmarc

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Policy is a Domain Owner's requested handling of failing mail (RFC 7489
// section 6.3, tag "p").
type Policy string

// The policies, in the RFC's words.
const (
	PolicyNone       Policy = "none"
	PolicyQuarantine Policy = "quarantine"
	PolicyReject     Policy = "reject"
)

// strictness orders policies: none < quarantine < reject.
func (p Policy) strictness() int {
	switch p {
	case PolicyQuarantine:
		return 1
	case PolicyReject:
		return 2
	}
	return 0
}

// lower returns the next less strict policy (RFC 7489 section 6.6.4).
func (p Policy) lower() Policy {
	switch p {
	case PolicyReject:
		return PolicyQuarantine
	}
	return PolicyNone
}

func parsePolicy(s string) (Policy, bool) {
	switch strings.ToLower(s) {
	case "none":
		return PolicyNone, true
	case "quarantine":
		return PolicyQuarantine, true
	case "reject":
		return PolicyReject, true
	}
	return "", false
}

// Alignment is an identifier alignment mode (RFC 7489 section 3.1).
type Alignment string

// The alignment modes.
const (
	Relaxed Alignment = "r"
	Strict  Alignment = "s"
)

// String returns the mode in the RFC's words.
func (a Alignment) String() string {
	if a == Strict {
		return "strict"
	}
	return "relaxed"
}

// URI is one reporting URI of a rua or ruf tag (RFC 7489 section 6.4).
type URI struct {
	// Address is the URI, e.g. "mailto:dmarc@example.com".
	Address string
	// MaxSize is the largest report the Domain Owner accepts at this URI,
	// in bytes; 0 means no limit given.
	MaxSize uint64
}

// String returns the URI as written in a record.
func (u URI) String() string {
	if u.MaxSize == 0 {
		return u.Address
	}
	return u.Address + "!" + strconv.FormatUint(u.MaxSize, 10)
}

// MailboxDomain returns the domain of a mailto URI's address, lower case,
// or "" for other schemes.
func (u URI) MailboxDomain() string {
	pu, err := url.Parse(u.Address)
	if err != nil || !strings.EqualFold(pu.Scheme, "mailto") {
		return ""
	}
	addr := pu.Opaque
	if i := strings.IndexByte(addr, '?'); i >= 0 {
		addr = addr[:i]
	}
	if dec, err := url.PathUnescape(addr); err == nil {
		addr = dec
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 1 || at == len(addr)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
}

// Record is a parsed DMARC policy record.
type Record struct {
	// Policy is the "p" tag. A record whose p is missing or invalid but
	// that names a valid rua URI is read as p=none (RFC 7489 section
	// 6.6.3); PolicyInvalid then says so.
	Policy Policy
	// PolicyInvalid reports that p was missing or invalid.
	PolicyInvalid bool
	// SubdomainPolicy is the "sp" tag; empty when absent (p applies).
	SubdomainPolicy Policy
	// NonexistentPolicy is the DMARCbis "np" tag, for From domains that
	// do not exist; empty when absent (sp, then p, applies).
	NonexistentPolicy Policy
	// Percent is the "pct" tag, 0 to 100, default 100.
	Percent int
	// Testing is the DMARCbis "t=y" flag: the policy is applied as with
	// pct=0.
	Testing bool
	// DKIM and SPF are the "adkim" and "aspf" alignment modes, default
	// relaxed.
	DKIM, SPF Alignment
	// Aggregate and Failure are the valid URIs of "rua" and "ruf".
	Aggregate, Failure []URI
	// FailureOptions is the "fo" tag, default ["0"].
	FailureOptions []string
	// ReportFormat is the "rf" tag, default ["afrf"].
	ReportFormat []string
	// ReportInterval is the "ri" tag in seconds, default 86400.
	ReportInterval uint32
	// Warnings lists what was ignored or replaced by a default, in the
	// order met, so operators can fix their record.
	Warnings []string
}

// Errors from Parse.
var (
	// ErrNotDMARC reports a TXT record that does not start with
	// "v=DMARC1"; policy discovery discards it (RFC 7489 section 6.6.3).
	ErrNotDMARC = errors.New("dmarc: not a DMARC record")
	// ErrNoPolicy reports a DMARC record whose p (or sp) tag is
	// missing or invalid and that has no valid rua URI: no DMARC policy
	// applies (RFC 7489 section 6.6.3), reported as permerror.
	ErrNoPolicy = errors.New("dmarc: record has no valid policy")
)

// maxURISize is the largest size suffix accepted: 2^64-1 bytes.
const maxURISize = ^uint64(0)

// Parse reads a DMARC record (RFC 7489 section 6.4). Tag names and keyword
// values are case-insensitive; "v=DMARC1" must come first. Unknown tags are
// ignored, and invalid values of tags other than p and sp are replaced by
// their defaults, or ignored, with a warning (section 6.3). A missing or
// invalid p or sp makes the record fail with ErrNoPolicy unless rua holds a valid
// URI, in which case the record reads as p=none (section 6.6.3).
func Parse(txt string) (*Record, error) {
	tags, err := splitTags(txt)
	if err != nil {
		return nil, err
	}
	r := &Record{
		Percent:        100,
		DKIM:           Relaxed,
		SPF:            Relaxed,
		FailureOptions: []string{"0"},
		ReportFormat:   []string{"afrf"},
		ReportInterval: 86400,
	}
	seen := map[string]bool{}
	policyOK, subOK := false, true
	problem := "no p tag"
	for _, t := range tags[1:] {
		name := strings.ToLower(t.name)
		if seen[name] {
			r.warnf("duplicate tag %q ignored", t.name)
			continue
		}
		seen[name] = true
		switch name {
		case "p":
			if r.Policy, policyOK = parsePolicy(t.value); !policyOK {
				problem = fmt.Sprintf("invalid p=%q", t.value)
			}
		case "sp":
			if r.SubdomainPolicy, subOK = parsePolicy(t.value); !subOK {
				problem = fmt.Sprintf("invalid sp=%q", t.value)
			}
		case "np":
			// DMARCbis gives np no error handling of its own: an
			// invalid np is ignored, so sp (then p) applies.
			var ok bool
			if r.NonexistentPolicy, ok = parsePolicy(t.value); !ok {
				r.warnf("invalid np=%q ignored", t.value)
			}
		default:
			r.parseOptional(name, t)
		}
	}
	if !policyOK || !subOK {
		if len(r.Aggregate) == 0 {
			return nil, fmt.Errorf("%w: %s and no valid rua", ErrNoPolicy, problem)
		}
		r.warnf("%s: read as p=none because rua is valid", problem)
		r.Policy, r.SubdomainPolicy, r.NonexistentPolicy = PolicyNone, "", ""
		r.PolicyInvalid = true
	}
	return r, nil
}

type tag struct{ name, value string }

// splitTags splits a tag-list (RFC 7489 section 6.4) and checks that the
// first tag is v=DMARC1.
func splitTags(txt string) ([]tag, error) {
	var tags []tag
	for part := range strings.SplitSeq(txt, ";") {
		part = strings.Trim(part, " \t\r\n")
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok && len(tags) == 0 {
			return nil, ErrNotDMARC
		}
		tags = append(tags, tag{strings.Trim(name, " \t\r\n"), strings.Trim(value, " \t\r\n")})
	}
	// "v" must be the first tag. Its name is case-insensitive like every
	// quoted ABNF string, but "DMARC1" is a case-sensitive %x sequence.
	if len(tags) == 0 || !strings.EqualFold(tags[0].name, "v") || tags[0].value != "DMARC1" {
		return nil, ErrNotDMARC
	}
	return tags, nil
}

// isDMARCRecord reports whether splitTags would accept txt, without
// building the tags: its first non-empty part is the tag v=DMARC1.
// Discovery runs it on every TXT record at a _dmarc name, for every
// message, before the parsed record is taken from the cache.
func isDMARCRecord(txt string) bool {
	// Nearly every record starts "v=DMARC1;" as published: that first
	// part is the tag v=DMARC1 with nothing to trim, told without
	// splitting.
	if rest, ok := strings.CutPrefix(txt, "v=DMARC1"); ok && (rest == "" || rest[0] == ';') {
		return true
	}
	for part := range strings.SplitSeq(txt, ";") {
		part = strings.Trim(part, " \t\r\n")
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		return ok && strings.EqualFold(strings.Trim(name, " \t\r\n"), "v") && strings.Trim(value, " \t\r\n") == "DMARC1"
	}
	return false
}

func (r *Record) warnf(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// parseOptional reads a tag that has a default when invalid.
func (r *Record) parseOptional(name string, t tag) {
	switch name {
	case "pct":
		n, err := strconv.Atoi(t.value)
		if err != nil || n < 0 || n > 100 || strings.HasPrefix(t.value, "+") {
			r.warnf("invalid pct=%q, using 100", t.value)
			return
		}
		r.Percent = n
	case "t":
		switch strings.ToLower(t.value) {
		case "y":
			r.Testing = true
		case "n":
		default:
			r.warnf("invalid t=%q ignored", t.value)
		}
	case "adkim", "aspf":
		a, ok := map[string]Alignment{"r": Relaxed, "s": Strict}[strings.ToLower(t.value)]
		if !ok {
			r.warnf("invalid %s=%q, using relaxed", name, t.value)
			return
		}
		if name == "adkim" {
			r.DKIM = a
		} else {
			r.SPF = a
		}
	case "rua":
		r.Aggregate = r.parseURIs(name, t.value)
	case "ruf":
		r.Failure = r.parseURIs(name, t.value)
	case "fo":
		r.FailureOptions = r.parseKeywords(name, t.value, r.FailureOptions, func(s string) bool {
			return s == "0" || s == "1" || s == "d" || s == "s"
		})
	case "rf":
		r.ReportFormat = r.parseKeywords(name, t.value, r.ReportFormat, func(s string) bool {
			return s == "afrf"
		})
	case "ri":
		n, err := strconv.ParseUint(t.value, 10, 32)
		if err != nil {
			r.warnf("invalid ri=%q, using 86400", t.value)
			return
		}
		r.ReportInterval = uint32(n)
	default:
		// Unknown tags are ignored (RFC 7489 section 6.3), including
		// DMARCbis "psd", whose tree walk is not implemented.
	}
}

// parseKeywords reads a colon-separated list; one bad item makes the whole
// tag take its default, as a syntax error in the tag would.
func (r *Record) parseKeywords(name, value string, def []string, valid func(string) bool) []string {
	var out []string
	for item := range strings.SplitSeq(value, ":") {
		item = strings.ToLower(strings.Trim(item, " \t"))
		if !valid(item) {
			r.warnf("invalid %s=%q, using %s", name, value, strings.Join(def, ":"))
			return def
		}
		out = append(out, item)
	}
	return out
}

// parseURIs reads a comma-separated dmarc-uri list; invalid URIs are
// dropped with a warning.
func (r *Record) parseURIs(name, value string) []URI {
	var out []URI
	for item := range strings.SplitSeq(value, ",") {
		item = strings.Trim(item, " \t")
		u, err := parseURI(item)
		if err != nil {
			r.warnf("%s URI %q ignored: %v", name, item, err)
			continue
		}
		out = append(out, u)
	}
	return out
}

// parseURI reads URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]. A literal
// "!" or "," in the URI itself must be percent-encoded (RFC 7489 section
// 6.4), so the last "!" starts the size.
func parseURI(s string) (URI, error) {
	var u URI
	if i := strings.LastIndexByte(s, '!'); i >= 0 {
		size, err := parseSize(s[i+1:])
		if err != nil {
			return u, err
		}
		s, u.MaxSize = s[:i], size
	}
	pu, err := url.Parse(s)
	if err != nil {
		return u, errors.New("not a URI")
	}
	if pu.Scheme == "" {
		return u, errors.New("no scheme")
	}
	u.Address = s
	if strings.EqualFold(pu.Scheme, "mailto") && u.MailboxDomain() == "" {
		return u, errors.New("mailto without a domain")
	}
	return u, nil
}

func parseSize(s string) (uint64, error) {
	shift := 0
	if s != "" {
		switch strings.ToLower(s[len(s)-1:]) {
		case "k":
			shift = 10
		case "m":
			shift = 20
		case "g":
			shift = 30
		case "t":
			shift = 40
		}
		if shift > 0 {
			s = s[:len(s)-1]
		}
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New("invalid size")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxURISize>>shift {
		return 0, errors.New("size out of range")
	}
	return n << shift, nil
}

// String formats the record as it could be published, tags in the order of
// RFC 7489 section 6.3, defaults left out.
func (r *Record) String() string {
	var b strings.Builder
	b.WriteString("v=DMARC1; p=" + string(r.Policy))
	add := func(name, value string) { b.WriteString("; " + name + "=" + value) }
	if r.SubdomainPolicy != "" {
		add("sp", string(r.SubdomainPolicy))
	}
	if r.NonexistentPolicy != "" {
		add("np", string(r.NonexistentPolicy))
	}
	if r.Percent != 100 {
		add("pct", strconv.Itoa(r.Percent))
	}
	if r.Testing {
		add("t", "y")
	}
	if r.DKIM == Strict {
		add("adkim", "s")
	}
	if r.SPF == Strict {
		add("aspf", "s")
	}
	for _, l := range []struct {
		name string
		uris []URI
	}{{"rua", r.Aggregate}, {"ruf", r.Failure}} {
		if len(l.uris) > 0 {
			s := make([]string, len(l.uris))
			for i, u := range l.uris {
				s[i] = u.String()
			}
			add(l.name, strings.Join(s, ","))
		}
	}
	if fo := strings.Join(r.FailureOptions, ":"); fo != "0" && fo != "" {
		add("fo", fo)
	}
	if rf := strings.Join(r.ReportFormat, ":"); rf != "afrf" && rf != "" {
		add("rf", rf)
	}
	if r.ReportInterval != 86400 {
		add("ri", strconv.FormatUint(uint64(r.ReportInterval), 10))
	}
	return b.String()
}
