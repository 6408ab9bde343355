// Package arc validates and seals Authenticated Received Chains (RFC 8617).
//
// Implemented:
//   - Validation (RFC 8617 section 5.2): the ARC sets are collected (at
//     most MaxInstances, 50; a missing, duplicate or malformed field, or a
//     gap in i=1..N, fails the chain), the cv= rules are applied (i=1 must
//     say none, later sets pass; a seal saying fail ends the chain as
//     fail), the latest ARC-Message-Signature is verified like a DKIM
//     signature over header and body, then every ARC-Seal from N down to
//     1 over the sets up to its own, and, for a passing chain, the older
//     AMS from N-1 down to find the oldest pass. The result is none, pass
//     or fail, with a reason and each set's verdicts.
//   - Field parsing: ARC-Seal (i, a, b, cv, d, s, t; h= is an error),
//     ARC-Message-Signature (DKIM's tags, i= being the instance; h= may
//     not name ARC-Seal; a missing c= is relaxed/relaxed, as the ValiMail
//     test suite and dkimpy read it), ARC-Authentication-Results (i=
//     first, the authserv-id, each result's method and result word). Tag
//     lists follow RFC 6376 section 3.2 strictly: ";;" is an error.
//   - Keys are DKIM key records (selector._domainkey.domain) fetched
//     through dnsx.Resolver, with RFC 8301's rules: rsa-sha256 with keys
//     of 1024 bits or more, and ed25519-sha256 (RFC 8463); rsa-sha1 fails.
//   - Trust (RFC 8617 section 7.2.1): Result.Trust tells whether a passing
//     chain's latest seal is by a trusted forwarder whose
//     ARC-Authentication-Results says dmarc=pass, so that a local DMARC
//     failure can be overridden. A latest AMS with l= that leaves body
//     bytes unsigned is never trusted: nobody vouches for that content.
//   - Result.AuthResult and AuthResultProps give the arc resinfo of our
//     Authentication-Results (RFC 8617 section 10.1): arc=none|pass|fail,
//     smtp.remote-ip, and header.oldest-pass for a passing chain.
//   - Sealing (section 5.1): Sealer makes the next set (AAR, AMS, AS) for a
//     message Sealpost forwards, with cv= from the validation of the
//     chain it arrived with; an arriving chain whose latest seal says
//     cv=fail is not sealed again, and a failed chain is sealed with
//     cv=fail over the new set only (section 5.1.2). Fields are written
//     with their tags in alphabetical order and b= unfolded on a line of
//     its own, the form the ValiMail signing suite's expected fields use;
//     the AMS is relaxed/relaxed. Receivers expect rsa-sha256 (dkimpy's
//     ARC refuses ed25519-sha256), so Sealpost should seal with its
//     RSA-2048 key; Ed25519 sealing works but only for validators that
//     accept RFC 8463 keys in ARC.
//
// RFC 8617 gives the AMS DKIM's syntax and semantics, l= included: an
// AMS with l= is verified over the first l bytes of the canonical body and
// the bytes after are counted in SetResult.UnsignedBodyBytes. Sealpost
// never writes l=.
//
// Where Sealpost departs from the ValiMail suite: a chain in which a seal
// says cv=fail is "fail" (RFC 8617 section 5.2 steps 2 and 3), where the
// suite expects an empty answer (dkimpy: "the chain is terminated").
//
// Tests run the ValiMail ARC test suite (../shared/conformance/arc), read
// with go.yaml.in/yaml/v3, a test-only dependency here: the suite is YAML
// with a few names given twice in one mapping, which the yaml.Node API lets
// the tests keep.
//
// Left out: x= in ARC-Message-Signature is not checked (ARC signatures are
// evaluated once, on arrival); z= is ignored; a temporary DNS failure makes
// the chain fail with Result.Temporary set, there being no temperror in
// RFC 8617's results; trusted sealers are matched by exact domain.
package arc
