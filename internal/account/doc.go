// Package account manages what Sealpost hosts: domains, accounts, aliases
// (catch-alls included) and passwords, on top of a store.Store.
//
// Addresses are parsed and normalised once, here, so every other package
// compares plain strings:
//   - the local part is a dot-atom or a quoted string (RFC 5321 section
//     4.1.2), may be UTF-8 (RFC 6531 section 3.3), is NFC-normalised (RFC
//     6532 section 3.1) and lower-cased (see normalizeAddress for why), and
//     is at most 64 octets (RFC 5321 section 4.5.3.1.1);
//   - the domain is converted to its A-label with the IDNA 2008 lookup
//     profile (RFC 5890, RFC 5891 section 5, UTS #46 mapping), lower case,
//     with labels and length checked (RFC 1035 section 2.3.4);
//   - the whole address is at most 254 octets (RFC 5321 section 4.5.3.1.3).
//
// Passwords are hashed with argon2id (RFC 9106) and stored in the PHC
// string format; Verify uses the parameters stored with each hash, so the
// parameters can be raised without invalidating existing passwords.
//
// Each domain signs with two DKIM keys, Ed25519 (RFC 8463) and RSA-2048
// (RFC 6376, RFC 8301). A rotation (RotateDKIM) adds a pending pair under
// new selectors; it starts signing when the administrator activates it
// (ActivateDKIM) or, with AdvanceDKIM, which the server runs hourly, once
// DNS has shown both records, each holding exactly the key, for a hold
// time. The replaced pair stays published for an overlap, then goes.
//
// With an srs.Rewriter (Service.SRS), Resolve sends mail for a Sender
// Rewriting Scheme address of a hosted domain (SRS0=..., SRS1=..., before
// any account, alias or catch-all) to the address it was made from, and
// refuses, with an *SRSError, one that is forged, expired or malformed:
// only addresses Sealpost made lead outside.
//
// Left out: address literals ("user@[192.0.2.1]") are never hosted and so
// rejected; local parts are not case-sensitive, and no sub-addressing
// ("user+tag") is applied here; UTF-8 local parts are accepted, but
// invisible and control characters are not. The list of common passwords
// that CheckPassword should refuse is not there yet. Application-specific
// passwords, TOTP, sessions and lock-outs come later.
package account
