// Package dnsbl asks DNS-based blocklists whether an IP address or a domain
// is listed (RFC 5782).
//
// [Check] asks IP lists: the address's query name is its IPv4 octets
// reversed, or its IPv6 address as 32 nibbles reversed (RFC 5782 section
// 2.1 and 2.4), followed by the zone; an IPv4-mapped IPv6 address is asked
// as IPv4. [CheckDomain] asks domain lists (URIBL, SURBL, Spamhaus DBL
// style, RFC 5782 section 2.3): the registrable domain of the name (the
// Public Suffix List's eTLD+1, as an A-label) followed by the zone. All
// zones are asked at once, within the context's deadline or, without one,
// [DefaultTimeout]. [Checker] does the same and remembers the outcome of
// every query name briefly, so that the many messages of one sender, or
// the many links to one domain, cost one query per zone.
//
// Which answers count: only A records inside 127.0.0.0/8 (RFC 5782 section
// 2.1). A zone's Codes, when given, list the answers that count (as
// Spamhaus DBL's 127.0.1.x); otherwise any 127.0.0.x counts except
// 127.0.0.1, which URIBL and SURBL answer when they refuse a query and
// RFC 5782 section 5 keeps out of every list. Answers in 127.255.255.0/24
// are the lists' way of refusing a query (Spamhaus: a public resolver, an
// exceeded quota, a malformed query): they never count and are reported
// as [ErrRefused]. An A record outside 127.0.0.0/8 is never a listing: it
// comes from a resolver that answers every name (NXDOMAIN rewriting) or a
// hostile zone, and is reported as [ErrHostile]. When a name is listed its
// TXT record, if any, gives the reason (RFC 5782 section 2.1), cleaned to
// printable ASCII and cut to [MaxReason] bytes.
//
// Failures: NXDOMAIN and NODATA mean "not listed". Any other failure of a
// zone (a timeout, SERVFAIL, a refusal, a hostile answer) is returned as a
// [*ZoneError] naming the zone, joined with the others, beside the
// listings the other zones gave: a caller scores what was found and logs
// the rest. Timeouts and other DNS failures wrap dnsx.ErrTemporary.
//
// All DNS goes through a dnsx.Resolver, never the system resolver.
// A zone is asked for A records alone (dnsx.LookupA), and for TXT records
// when it lists the address.
//
// Left out: RFC 5782 section 2.2's "test entries" self-check of a zone,
// bitmask-coded zones (SURBL multi's bits; list the codes that count
// instead), whitelists (DNSWL) as positive scores, and looking up a
// domain's name servers or address in IP lists.
package dnsbl
