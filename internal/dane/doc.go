// Package dane implements DNS-Based Authentication of Named Entities for
// SMTP delivery: TLSA records (RFC 6698) as RFC 7671 and RFC 7672 apply
// them to MTA-to-MTA SMTP.
//
// [Lookup] finds the TLSA records of an MX host and says how they bind the
// delivery ([Status]); [Verify] checks a server's certificate chain against
// them; [TLSConfig] builds the client's tls.Config that does so during the
// handshake.
//
// What is implemented:
//
//   - RFC 7672 section 2.2: TLSA records count only when the resolver
//     authenticated them (the AD bit, see package dnsx). An insecure answer
//     means DANE does not apply; a secure "no records" too; a failed lookup
//     for a host in a signed zone means delivery to that host must wait.
//     The caller must only call Lookup for MX hosts it found through
//     authentic MX answers (or as the authentic domain itself when there is
//     no MX), as section 2.2.1 requires.
//   - RFC 7672 section 2.2.2: when the MX host is an alias and its CNAME
//     chain is authentic, TLSA records are sought first at the end of the
//     chain, then at the MX host itself.
//   - RFC 7672 section 3.1: PKIX-TA(0) and PKIX-EE(1) records, and records
//     with an unknown usage, selector or matching type or a digest of the
//     wrong length, are unusable and ignored. When every record is
//     unusable, TLS is still required but not authenticated.
//   - RFC 7672 section 3.1.1 and RFC 7671 section 5.1: DANE-EE(3) matches
//     the server's own certificate or public key; its names and validity
//     dates are not checked.
//   - RFC 7672 section 3.1.2 and RFC 7671 section 5.2: DANE-TA(2) matches a
//     certificate of the chain the server presents, which then serves as
//     the trust anchor for an ordinary chain verification, with validity
//     dates, and with a name check (section 3.2.2) against the MX host name
//     and the TLSA base domain; wildcards only as the whole left-most label.
//   - RFC 6698 section 2.1: selectors Cert(0) and SPKI(1); matching types
//     Full(0), SHA2-256(1) and SHA2-512(2).
//   - RFC 7672 section 8.1: the client sends SNI with the TLSA base domain.
//
// Left out: DANE-TA(2) trust anchors that the server does not include in
// its chain (possible only with SPKI(1) Full(0) records); digest algorithm
// agility (RFC 7671 section 9: every usable digest is tried, the strongest
// is not preferred); name checks against the certificate's subject common
// name (only subjectAltName dNSName entries are used); DNSSEC validation in
// Sealpost itself (see package dnsx); and DANE for other protocols than
// SMTP.
package dane
