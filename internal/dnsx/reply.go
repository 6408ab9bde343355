package dnsx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Limits beyond those exported in resolver.go.
const (
	// maxOtherRecords bounds the authority and additional sections together.
	maxOtherRecords = 512
	// maxPositiveTTL and maxNegativeTTL bound how long answers are cached,
	// whatever the zone says (RFC 2308 section 5 suggests a few hours at
	// most for negative answers; mail wants new records seen soon).
	maxPositiveTTL = 3600
	maxNegativeTTL = 300
)

var (
	// errMismatch marks a datagram that is not the reply to our query: a
	// late reply to an earlier query or a spoofing attempt. The UDP reader
	// ignores it and keeps waiting.
	errMismatch = errors.New("reply does not match the query")
	// errMalformed marks a reply to our query that cannot be used.
	errMalformed = errors.New("malformed reply")
)

// answer is what one query produced, after the checks.
type answer struct {
	// rrs are the records of the asked type owned by the end of the CNAME
	// chain; other names' records are dropped.
	rrs []dns.RR
	// target is the end of the CNAME chain: the asked name if there was no
	// CNAME.
	target string
	// nxdomain reports RCODE 3 (for the end of the chain, RFC 6604).
	nxdomain  bool
	authentic bool
	// ttl is how long, in seconds, the answer may be cached; 0 means not.
	ttl uint32

	// The fields below are set by prepare, once, so that every cache hit
	// shares them instead of building them again. The slices are clipped:
	// a caller appending to one gets a copy instead of writing into the
	// cached array.
	txt   []string     // TXT: what LookupTXT returns
	addrs []netip.Addr // A or AAAA: the addresses
	// asked is the name as first asked, fully qualified, and notFound the
	// NXDOMAIN error naming it.
	asked    string
	notFound error
}

// prepare fills in what lookups of qtype return, for name as asked.
func (a *answer) prepare(name string, qtype uint16) {
	switch qtype {
	case dns.TypeTXT:
		a.txt = slices.Clip(txtFrom(a.rrs))
	case dns.TypeA, dns.TypeAAAA:
		a.addrs = slices.Clip(addrsFrom(a.rrs))
	}
	a.asked = name
	if a.nxdomain {
		a.notFound = notFound(name)
	}
}

// result returns the answer, its Result and its error for a lookup of name
// (fully qualified or not). The answer is nil with an error.
func (a *answer) result(name string) (*answer, Result, error) {
	res := Result{Authentic: a.authentic}
	if !a.nxdomain {
		return a, res, nil
	}
	if a.notFound != nil && sameFQDN(a.asked, name) {
		return nil, res, a.notFound
	}
	// The name differs from the first asker's in case: the error names
	// it as this caller wrote it.
	return nil, res, notFound(dns.Fqdn(name))
}

// records, texts and addresses return what a lookup gives of a, nothing
// when a is nil (the lookup failed).
func (a *answer) records() []dns.RR {
	if a == nil {
		return nil
	}
	return a.rrs
}

func (a *answer) texts() []string {
	if a == nil {
		return nil
	}
	return a.txt
}

func (a *answer) addresses() []netip.Addr {
	if a == nil {
		return nil
	}
	return a.addrs
}

// sameFQDN reports whether fqdn is name made fully qualified, without
// building that name.
func sameFQDN(fqdn, name string) bool {
	if dns.IsFqdn(name) {
		return fqdn == name
	}
	return len(fqdn) == len(name)+1 && fqdn[len(name)] == '.' && fqdn[:len(name)] == name
}

// processReply checks a raw reply against the query it answers and extracts
// the answer. truncated reports the TC bit: the caller asks again over TCP.
// An error wrapping errMismatch means raw is not a reply to query at all.
func processReply(query *dns.Msg, raw []byte) (a answer, truncated bool, err error) {
	if len(query.Question) != 1 {
		return answer{}, false, errors.New("query must have one question")
	}
	q := query.Question[0]
	if len(raw) < 12 || len(raw) > dns.MaxMsgSize {
		return answer{}, false, fmt.Errorf("%w: %d octets", errMismatch, len(raw))
	}
	// Look at the header before unpacking, so that stray and oversized
	// replies cost nothing.
	if binary.BigEndian.Uint16(raw[0:2]) != query.Id || raw[2]&0x80 == 0 {
		return answer{}, false, fmt.Errorf("%w: wrong ID or not a response", errMismatch)
	}
	ancount := binary.BigEndian.Uint16(raw[6:8])
	other := int(binary.BigEndian.Uint16(raw[8:10])) + int(binary.BigEndian.Uint16(raw[10:12]))
	if ancount > MaxAnswers || other > maxOtherRecords {
		return answer{}, false, fmt.Errorf("%w: %d answer and %d other records", errMalformed, ancount, other)
	}
	msg := new(dns.Msg)
	if err := msg.Unpack(raw); err != nil {
		if msg.Truncated {
			// A truncated reply may stop mid-record; its content is not
			// needed, only the fact that TCP is.
			return answer{}, true, nil
		}
		return answer{}, false, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if len(msg.Question) != 1 || !questionMatches(q, msg.Question[0]) {
		return answer{}, false, fmt.Errorf("%w: question differs", errMismatch)
	}
	if msg.Truncated {
		return answer{}, true, nil
	}
	if msg.Opcode != dns.OpcodeQuery {
		return answer{}, false, fmt.Errorf("%w: opcode %d", errMalformed, msg.Opcode)
	}
	// A record without data cannot answer anything; dropping it keeps
	// empty names out of MX hosts and CNAME targets.
	msg.Answer = slices.DeleteFunc(msg.Answer, func(rr dns.RR) bool { return rr.Header().Rdlength == 0 })
	a, err = extract(q, msg)
	return a, false, err
}

func questionMatches(sent, got dns.Question) bool {
	// RFC 4343: names compare case-insensitively.
	return sent.Qtype == got.Qtype && sent.Qclass == got.Qclass && strings.EqualFold(sent.Name, got.Name)
}

// rcodeError describes a reply whose RCODE is neither NOERROR nor NXDOMAIN.
type rcodeError int

func (e rcodeError) Error() string {
	if s, ok := dns.RcodeToString[int(e)]; ok {
		return "server answered " + s
	}
	return fmt.Sprintf("server answered RCODE %d", int(e))
}

// extract follows the CNAME chain from the question and keeps the records
// of the asked type at its end.
func extract(q dns.Question, msg *dns.Msg) (answer, error) {
	a := answer{target: q.Name, authentic: msg.AuthenticatedData}
	switch msg.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		a.nxdomain = true
	default:
		return answer{}, rcodeError(msg.Rcode)
	}
	ttl := uint32(math.MaxUint32)
	seen := map[string]bool{dns.CanonicalName(q.Name): true}
	for hops := 0; ; hops++ {
		rrs, cname, err := collect(msg.Answer, a.target, q.Qtype)
		if err != nil {
			return answer{}, err
		}
		if len(rrs) > 0 || q.Qtype == dns.TypeCNAME {
			a.rrs = rrs
			for _, rr := range rrs {
				ttl = min(ttl, rr.Header().Ttl)
			}
			break
		}
		if cname == nil {
			break
		}
		if hops == MaxCNAMEChain {
			return answer{}, fmt.Errorf("%w: CNAME chain longer than %d", errMalformed, MaxCNAMEChain)
		}
		next := dns.CanonicalName(cname.Target)
		if seen[next] {
			return answer{}, fmt.Errorf("%w: CNAME loop at %s", errMalformed, cname.Target)
		}
		seen[next] = true
		ttl = min(ttl, cname.Hdr.Ttl)
		a.target = cname.Target
	}
	if a.nxdomain {
		// RFC 6604: the code is about the end of the chain; data cannot
		// coexist with it.
		a.rrs = nil
	}
	if a.nxdomain || len(a.rrs) == 0 {
		ttl = min(ttl, negativeTTL(msg, a.target), maxNegativeTTL)
	} else {
		ttl = min(ttl, maxPositiveTTL)
	}
	a.ttl = ttl
	return a, nil
}

// collect returns the records of type qtype owned by name, and the CNAME
// owned by name if there is one.
func collect(section []dns.RR, name string, qtype uint16) ([]dns.RR, *dns.CNAME, error) {
	var (
		rrs   []dns.RR
		cname *dns.CNAME
	)
	for _, rr := range section {
		h := rr.Header()
		if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, name) {
			continue
		}
		if h.Rrtype == qtype {
			rrs = append(rrs, rr)
			continue
		}
		c, ok := rr.(*dns.CNAME)
		if !ok {
			continue
		}
		if c.Target == "" {
			return nil, nil, fmt.Errorf("%w: empty CNAME target at %s", errMalformed, name)
		}
		if cname != nil && !strings.EqualFold(cname.Target, c.Target) {
			// RFC 2181 section 10.1: a name has at most one CNAME.
			return nil, nil, fmt.Errorf("%w: several CNAMEs for %s", errMalformed, name)
		}
		cname = c
	}
	return rrs, cname, nil
}

// negativeTTL is the TTL of a negative answer (RFC 2308 section 5): the
// smaller of the SOA record's TTL and its MINIMUM field, from an SOA in the
// authority section whose owner encloses name. Without one, nothing may be
// cached.
func negativeTTL(msg *dns.Msg, name string) uint32 {
	for _, rr := range msg.Ns {
		soa, ok := rr.(*dns.SOA)
		if ok && soa.Hdr.Class == dns.ClassINET && dns.IsSubDomain(soa.Hdr.Name, name) {
			return min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	return 0
}
