// Package phish holds Sealpost's phishing heuristics. Each check takes
// plain values (a From, a domain, the links and words of a message) and
// returns findings: a stable name, a suggested score and a reason for
// the recipient. The pipeline (internal/filter) weighs them; this package
// neither parses messages nor keeps history.
//
// Implemented:
//   - DisplayName: a display name that is one of our users' or of the
//     recipient's frequent correspondents with another address; an address
//     in the name that is not the sender's (`"ann@example.org"
//     <x@evil.test>`); one of our domains in the name; a brand's name sent
//     from elsewhere.
//   - LookalikeDomain: domains imitating our domains, our users' and
//     correspondents' domains and a list of often-impersonated brands
//     (Known.Brands): the same skeleton (Unicode Technical Standard #39
//     §4) as a protected domain — IDN homographs such as "pаypal.com" with
//     a Cyrillic "а", and ASCII tricks such as "paypa1", "rnicrosoft";
//     Damerau–Levenshtein distance 1 on the registrable label ("exmaple");
//     words added ("example-secure.com", "secure-example.com",
//     "example.org.login.test"); labels mixing scripts (UTS #39 §5.2,
//     Highly Restrictive); a Cyrillic or Greek label that reads as Latin.
//     Domains compare by registrable domain (eTLD+1) from the public suffix
//     list (golang.org/x/net/publicsuffix); A-labels are decoded with
//     golang.org/x/net/idna (UTS #46 mapping, RFC 5891 Punycode).
//   - Links: visible text showing one domain while the link goes to
//     another registrable domain; numeric hosts (including the integer
//     forms of IPv4); URL shorteners (Known.Shorteners); a user name before
//     the host; lookalike hosts; forms. FreshDomain scores a domain first
//     seen recently (the pipeline keeps when).
//   - Wording: credential harvesting with urgency, in English, German,
//     French and Spanish, scored by the co-occurrence of three kinds of
//     phrase within a few lines, never by a single word.
//   - DMARCReject: DMARC failure (RFC 7489) of a domain publishing
//     p=reject (or p=quarantine, weighed less).
//
// # Confusables data
//
// The skeleton uses a subset of Unicode's confusables.txt embedded as
// confusables.txt in this package, rather than a library: the Go
// libraries for it are unmaintained and not on the module proxy, and
// domain comparison needs only the entries whose prototype is ASCII from
// the scripts homograph domains are made of (Cyrillic, Greek, Armenian,
// Latin extensions); the UTS #46 mapping applied first already turns
// upper-case, full-width and mathematical letters into plain ones. The
// data is © Unicode, Inc., under the Unicode License v3, whose notice the
// file carries. Every entry is exactly as in confusables.txt of Unicode
// 15.1.0 (2023-08-11), checked against ICU's copy of that file
// (icu4c/source/data/unidata/confusables.txt, as carried by
// github.com/openharmony/third_party_icu at commit 02ccb6801b88); a test
// holds each line to the subset's rule. The skeleton is lower-cased after
// mapping, since domains and names compare without case ("0" maps to
// "O"). Unicode maps the Cyrillic palochka "ӏ" to "i", not "l", so
// "аррӏе.com" reads "appie": it is flagged as a Cyrillic label that reads
// as Latin, not as a homograph of apple.com.
//
// Left out: the whole confusables.txt (symbols, and prototypes outside
// ASCII, so two IDNs in the same non-Latin script are compared only by
// their exact form); UTS #39 §5.1 restriction levels beyond
// Highly Restrictive; domain registration dates (RDAP) — FreshDomain
// works on the server's own history; fetching pages behind links.
package phish
