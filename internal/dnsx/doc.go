// Package dnsx is Sealpost's only way to resolve names. No other package
// calls net.Lookup* or the system resolver: every check that needs DNS takes
// a [Resolver] from its caller, so tests state their DNS world explicitly
// (see package dnstest) and production queries go to exactly one resolver
// the operator configured.
//
// Two implementations are provided:
//
//   - [Client] sends queries (RFC 1035) to one configured recursive resolver
//     over UDP, retrying over TCP when the reply is truncated (RFC 1035
//     section 4.2.2, RFC 7766), with EDNS(0) (RFC 6891) and the DO bit set
//     (RFC 3225, RFC 4035 section 3.2.1) and a small cache that honours record
//     TTLs and, for negative answers, the SOA-derived TTL of RFC 2308
//     section 5. A cache hit returns the TXT strings and addresses the
//     answer was converted to when it arrived, shared by every caller (see
//     [Resolver.LookupTXT]), so the checks of each message allocate
//     nothing for DNS.
//   - [Stub] answers Sealpost's own names from an in-memory [Zone] and
//     forwards the rest to an optional upstream Resolver; `sealpost dev`
//     uses it so that nothing is ever resolved off the machine. It
//     remembers its answers, in a bounded memo emptied on every change.
//
// # Authenticated data
//
// Sealpost does not validate DNSSEC itself. It relies on the AD
// (Authenticated Data) bit that a validating resolver sets on answers it
// verified (RFC 4035 section 3.2.3, RFC 6840 section 5.8). The AD bit is
// only as trustworthy as the path to the resolver that set it (RFC 4035
// section 4.9.3), so it is honoured only on replies from the single server
// a Client was configured with, which the operator must run on the same
// host or reach over a trusted link. [Result.Authentic] reports it. DANE for
// SMTP (RFC 6698, RFC 7672) must only use TLSA records, and the MX records
// leading to them, whose answers were authentic; a downgrade to unsigned
// answers must fall back to opportunistic TLS, never to trusting forged
// TLSA records. Authentic is also reported on negative answers: an
// authenticated NXDOMAIN or NODATA for a TLSA name is a secure denial of
// existence (RFC 7672 section 2.2).
//
// # Negative answers and failures
//
// SPF (RFC 7208 section 5), DMARC (RFC 7489 section 6.6.3) and MX selection
// (RFC 5321 section 5.1) decide differently on "no such name", "name
// exists but has no such record" and "could not find out" (RFC 2308
// section 2). The lookups report them as:
//
//   - NXDOMAIN: an error wrapping [ErrNotFound];
//   - NODATA (the name exists, without records of the asked type): an
//     empty slice and a nil error;
//   - everything else (SERVFAIL, REFUSED, timeouts, network errors, replies
//     that fail the checks below, a cancelled context): an error wrapping
//     [ErrTemporary]. A cancelled or expired context is wrapped too, so
//     errors.Is(err, context.Canceled) also holds.
//
// An invalid name (too long, empty label) is reported with an error that
// wraps neither: nothing was asked.
//
// # Hostile answers
//
// Replies are checked before use: the reply must carry the query's ID and
// echo its question (name compared case-insensitively, RFC 4343); stray UDP
// datagrams that do not match are ignored, a bounded number of times. Replies
// with more than [MaxAnswers] answer records or larger than 65535 octets are
// rejected. Records owned by names other than the asked name and the CNAME
// chain leading from it are ignored. CNAME chains longer than
// [MaxCNAMEChain] and CNAME loops are rejected.
//
// Not implemented: DNSSEC validation in Sealpost itself, TSIG, DNS over TLS
// or HTTPS, more than one configured server, caching of server failures
// (RFC 2308 section 7), retrying without EDNS(0) for servers that do not
// support it, and wildcard records in [Zone].
package dnsx
