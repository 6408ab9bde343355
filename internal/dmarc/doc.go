// Package dmarc evaluates DMARC (RFC 7489): it finds a domain's policy
// record, checks that the SPF or DKIM identifiers that passed align with
// the RFC5322.From domain, and says which policy to apply.
//
// # Implemented
//
//   - Record syntax (RFC 7489 section 6.3 and 6.4): v=DMARC1 first, p, sp,
//     pct, adkim, aspf, rua and ruf with size suffixes (k, m, g, t), fo,
//     rf, ri. Unknown tags are ignored; invalid optional values fall back
//     to their defaults with a warning; a missing or invalid p or sp makes
//     the record read as p=none when rua holds a valid URI and unusable
//     (permerror) otherwise (section 6.6.3).
//   - From DMARCbis, where settled: np (policy for non-existent
//     subdomains, applied when both the MX and address queries of the From
//     domain answer NXDOMAIN) and t=y (applied like pct=0). A missing p
//     with a valid rua reads as p=none, which both texts agree on.
//   - Policy discovery (section 6.6.3): _dmarc.<From domain>, then
//     _dmarc.<Organizational Domain> when the first has no DMARC record;
//     several records at one name mean no policy. NXDOMAIN and NODATA mean
//     "no record"; any other DNS failure gives temperror.
//   - The Organizational Domain (section 3.2) from the Public Suffix List
//     built into golang.org/x/net/publicsuffix (eTLD+1; a From domain that
//     is itself a public suffix is its own Organizational Domain).
//   - Identifier alignment, relaxed and strict, for SPF and DKIM (section
//     3.1), and the results pass, fail, none, temperror, permerror in the
//     words of RFC 8601 section 2.7.1.
//   - Policy selection p, sp or np, and pct sampling through an injectable
//     random source: a failing message that is not sampled gets the next
//     lower policy, reject becoming quarantine and quarantine none
//     (section 6.6.4).
//   - Several From domains: each is evaluated and the strictest outcome
//     kept (section 6.6.1 leaves the choice; see Evaluator.Evaluate). No
//     From domain: permerror.
//   - External destination verification for report URIs (section 7.1).
//   - The dmarc result of an Authentication-Results field (section 11.2),
//     through package authres: Verdict.AuthResult (or its parts,
//     Verdict.AuthResultParts, for a caller writing the field itself).
//
// # Left out
//
//   - The DMARCbis DNS tree walk and its psd tag, which replace the Public
//     Suffix List; the list is used as RFC 7489 says.
//   - Sending and receiving aggregate and failure reports (package reports
//     does that); this package only parses the URIs and verifies external
//     destinations, without following a destination record's own rua.
//   - Local policy overrides (mailing lists, trusted ARC forwarders): the
//     caller applies them to the Verdict.
//   - Checking an Authentication-Results header's results itself: the
//     caller passes SPF and DKIM results it computed or trusts.
package dmarc
