// Package spf checks the Sender Policy Framework (RFC 7208): whether the
// SMTP client's address may send mail for the domain of MAIL FROM, or for
// its HELO name. [Verify] and [VerifyHELO] implement check_host() of
// section 4 and return a [Received], whose [Received.Header] is the
// Received-SPF header field of section 9.1 and whose [Received.AuthResult]
// is the spf result of Authentication-Results (RFC 8601, RFC 7208
// section 9.2).
//
// Implemented: record selection (only TXT records, section 3.1 and 4.5),
// the whole record syntax (section 4.6 and 12: any syntax error is a
// permerror before anything is evaluated), all mechanisms and the
// redirect= and exp= modifiers (section 5 and 6), macros with
// transformers, delimiters and URL escaping, including %{p} and the c, r
// and t letters of explanations (section 7), the limits of section 4.6.4:
// 10 DNS-querying terms, 2 void lookups, 10 MX names (more is a
// permerror) and 10 PTR names (more are ignored), and a time budget: the
// context's deadline, or [DefaultTimeout]. Every failure is a result:
// DNS failures and a spent budget give temperror, a broken policy
// permerror; nothing hangs past the budget.
//
// All DNS goes through a [dnsx.Resolver]. Its answers decide as RFC 7208
// section 5 says: NXDOMAIN and NODATA are "no records" (and count as void
// lookups), anything else is a temperror, except in the ptr mechanism and
// %{p}, where a failed PTR lookup matches nothing and a failed address
// lookup skips the name (section 5.5).
//
// The package is Sealpost's own rather than blitiri.com.ar/go/spf (named
// in the design): that library resolves through its own net.Resolver-like
// interface, which loses the NXDOMAIN, NODATA and temporary-failure
// distinction of dnsx that void lookups and temperror depend on, and it
// does not return the exp= explanation, which the RFC 7208 test suite
// checks. The package passes the whole suite (see conformance_test.go for
// the cases where the suite allows several results) and agrees with pyspf
// on the suite and on generated records, except where pyspf departs from
// the RFC (listed at generateCases in differential_test.go).
//
// Known limits and choices:
//   - dnsx.Resolver asks for A and AAAA together. When one half fails
//     temporarily, addresses of the client's family in the other half are
//     used; without any, the term is a temperror even if only the half not
//     needed failed.
//   - Void lookups are counted per query (each MX host's address lookup
//     too), as pyspf does; the RFC speaks of terms. The PTR answers of the
//     client are fetched once per check, but every ptr term counts the
//     void lookups they had.
//   - A macro-string that expands to more than 8192 octets is an error
//     (a permerror in a domain-spec, no explanation in exp=) rather than
//     a name shortened from the left: no real record comes near.
//   - %{p} and ptr share one PTR lookup and at most MaxNames address
//     lookups per check; they do not count as extra terms.
//   - The obsolete SPF RR type (99), the default= modifier of old drafts,
//     local policies, best-guess records and trusted forwarders are not
//     implemented. %{i} of IPv6 addresses uses upper-case nibbles, as the
//     test suite and pyspf do.
package spf
