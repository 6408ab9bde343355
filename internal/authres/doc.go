// Package authres writes and reads Authentication-Results header fields
// (RFC 8601) and finds the ones that claim Sealpost's authserv-id.
//
// # Implemented
//
//   - [Header] builds one Authentication-Results field for an authserv-id
//     from method results (spf, dkim with header.d, header.s, header.a and
//     header.b, dmarc with header.from and policy properties, arc, iprev,
//     auth, ...), with reasons, comments and properties (RFC 8601 sections
//     2.2 to 2.7), folded between words at 78 columns. Text that may come
//     from outside is sanitized so it cannot end the field or add results.
//   - [Writer] writes the same field a result at a time into the caller's
//     buffer, without a list of results, for the usual text (nothing to
//     clean or cut), and says when the caller must use Header instead;
//     [PropName] checks a property's keywords once for many fields.
//   - [Parse] reads an Authentication-Results value and [ParseARC] an
//     ARC-Authentication-Results value (RFC 8617 section 4.1.1, "i=N;"
//     first): authserv-id, version, and each result's method, version,
//     result, reason and properties, skipping comments and folding
//     wherever CFWS may appear, and reading a quoted local-part before
//     "@domain" in property values.
//   - [Claiming] and [Remove] find and remove the Authentication-Results
//     fields of a header block whose authserv-id is ours, compared
//     case-insensitively with any version suffix ignored (RFC 8601 section
//     5). A value too broken to parse is read leniently for its id, so a
//     forgery cannot hide behind bad syntax.
//
// # Left out
//
//   - Checking that results and properties are the registered ones (RFC
//     8601 section 6): unknown methods and properties are kept as written.
//   - Deciding which other authserv-ids to trust: that is local policy.
//   - Encoding values as RFC 2047 encoded-words: non-ASCII text is kept as
//     UTF-8 (RFC 6532) when printable.
package authres
