// Package greylist implements greylisting: the first attempt to deliver
// mail from an unknown sender is answered 451 4.7.1 "try again later", and
// the same attempt retried after a minimum delay is accepted. Mail servers
// queue and retry (RFC 5321 section 4.5.4.1); much bulk mail software does
// not.
//
// An attempt is known by its triplet: the client's network (the IPv4 /24 or
// IPv6 /64 of its address, since large senders retry from another address
// of the same pool), the envelope sender and the recipient. A retry passes
// when it comes at least Delay after the first attempt and within Window of
// it; later, the triplet starts again. Once a triplet has passed, the whole
// network is remembered as a sender that retries and is not greylisted
// again for Whitelist, renewed as its mail keeps coming.
//
// Envelope senders are compared after removing what changes from one
// attempt to the next in some senders' addresses: a BATV tag
// ("prvs=TAG=user@example.org" becomes "user@example.org") and runs of digits
// in the local part (VERP and bounce addresses), as postgrey does.
//
// Exemptions: authenticated submissions are never greylisted. A sender that
// proved itself (SPF pass and a DKIM signature aligned with the From domain,
// as the mail pipeline finds after DATA) may be spared with
// Options.SpareAligned: the caller sets Request.Aligned when it knows, or
// calls [Greylist.Vouch] after delivery, so that later mail from that sender
// domain at that network is not greylisted for any recipient. At RCPT time
// DKIM is not yet known, so a new sender's first message is greylisted
// even with SpareAligned.
//
// State is kept in a [Store] (store.KV in Sealpost, in the same database on
// SQLite and PostgreSQL), so it survives a restart and is shared by the
// nodes of one database; keys are hashes of the triplets, so the store holds
// no address in the clear. Expired entries are removed by store.KV's
// pruning.
//
// Left out: whitelists of known non-retrying senders (big providers that
// retry from other networks are helped by the network grouping only),
// greylisting at DATA time, and a count of passes before a network is
// trusted.
package greylist
