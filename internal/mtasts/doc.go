// Package mtasts implements the sending side of SMTP MTA Strict Transport
// Security (RFC 8461): it discovers a recipient domain's policy, fetches and
// parses it, caches it, and says which MX hosts the policy allows.
//
// What is implemented, by section of RFC 8461:
//
//   - 3.1: the _mta-sts TXT record ([LookupRecord], [ParseRecord]). Records
//     not starting with "v=STSv1" followed by ";" are discarded; if not
//     exactly one remains, or it does not parse, the domain has no policy.
//     Unknown fields are checked for syntax and ignored.
//   - 3.2: the policy file ([ParsePolicy]), with LF or CRLF line endings,
//     at most [MaxPolicySize] bytes. Field names and values are case
//     sensitive as the grammar says; "version", "mode" and "max_age" must
//     appear exactly once, "mx" at least once unless the mode is "none";
//     max_age above 31557600 is capped to it. Unknown fields are ignored.
//   - 3.3: fetching the policy over HTTPS ([Fetcher]): PKIX validation of
//     the certificate for mta-sts.<domain>, no redirects, status 200 only,
//     media type text/plain, a timeout and a size limit. Names are resolved
//     through a [dnsx.Resolver], never the system resolver, and no proxy
//     is used.
//   - 4.1: MX host matching ([Policy.Match]), where a "*." pattern matches
//     exactly one more label.
//   - 5 and 5.1: the policy application control flow and caching
//     ([Client.Get]): a cached policy is used while its max_age lasts and
//     its TXT id is unchanged; a changed id triggers a refetch; when the
//     TXT record or the fetch fails, a cached policy that has not expired
//     still applies. [MemoryCache] keeps policies in memory;
//     [StoreCache] keeps them in the store, so that they survive a
//     restart as the section expects.
//
// Left out: internationalized names in U-label form (patterns and MX hosts
// are compared as A-labels, case-insensitively), proactive refreshing of
// cached policies before they expire (5.1, a MAY), rate limiting of fetch
// attempts for domains whose policy server keeps failing, and the TLS
// reporting of RFC 8460, which the caller does from the errors returned.
// Whether an MX host's certificate is valid (4.2) is the SMTP client's job.
package mtasts
