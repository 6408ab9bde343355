// Package dkim signs and verifies DomainKeys Identified Mail signatures.
//
// Implemented:
//   - RFC 6376 (DKIM): signing and verifying, simple and relaxed
//     canonicalization of header and body, tag lists, key records (v, k,
//     h, p, s, t=y testing and t=s strict), signature tags v, a, b, bh, c,
//     d, h, i, l, q, s, t, x (an x= before t= is a permerror, an expired
//     signature fails).
//   - RFC 8463: ed25519-sha256 (the SHA-256 digest is the message Ed25519
//     signs).
//   - RFC 8301: rsa-sha1 signatures get "policy", never "pass", and so do
//     RSA keys under 1024 bits. Sealpost signs only with rsa-sha256 and
//     ed25519-sha256, and refuses RSA signing keys under 1024 bits
//     (Sealpost generates 2048-bit keys).
//   - RFC 8601 result words (pass, fail, neutral, policy, temperror,
//     permerror, none) for each signature, with a reason.
//
// Verifying: Verifier.Verify reads the header section into memory (at most
// MaxHeaderSize, 1 MiB) and streams the body once through every body hash
// it needs (signatures sharing canonicalization, hash and l= share one), so
// a large message is never copied. At most MaxSignatures signatures (10 by
// default) are checked; further ones are reported as "neutral" without a
// DNS lookup. A signature whose h= lacks From is a permerror. Keys are
// looked up through dnsx.Resolver at selector._domainkey.domain, while the
// body is being hashed: NXDOMAIN or no key record is a permerror, a DNS
// failure a temperror. A signature
// with l= is verified over the first l bytes of the canonical body only;
// its Result says so and counts the unsigned bytes that follow
// (UnsignedBodyBytes), so callers can treat that content as untrusted.
//
// Signing: Signer makes one DKIM-Signature field, relaxed/relaxed unless
// asked otherwise, over DefaultHeaders(), each oversigned: a name is listed
// in h= once more than the message has it, so a field of that name added in
// transit breaks the signature. SignAll signs with several keys (Sealpost
// signs each message with an Ed25519 and an RSA-2048 key) in one pass over
// the body, hashing it once per body canonicalization. KeyRecordText gives
// the TXT record to publish.
//
// Fixed cost per message: Verify and SignAll take their bufio.Reader,
// header buffer, header fields and body hashers (canonicalizer buffer and
// hash state) from sync.Pools and give them back before returning; nothing
// they return refers to them (ReadHeaderInto gives a caller the same reuse).
// A message held in memory need not be read at all: HeaderInPlace finds
// its header section in its bytes, the fields slices of them, and leaves
// its body to give VerifyHeaderIn as a bytes.Reader, hashed where it lies.
// The header hash is canonicalized into one buffer, kept with the pooled
// body hasher, and hashed at once; reading the header copies the field
// names and the value of each DKIM-Signature into one string; a signature
// is parsed into one allocation with room for its tags, h= names and
// decoded b= and bh= (with its result, for a message with one signature:
// a SignatureRoom, which a caller may hold in an allocation of its own and
// give to VerifyHeaderIn), and a single key is looked up without a
// goroutine. A 10 KiB message
// costs Verify 4 allocations with Ed25519 (13 with RSA-2048, 9 of them
// inside crypto/rsa) and Sign 7.
//
// For ARC (RFC 8617), which reuses DKIM's pieces, the package exports the
// tag-list parser (ParseTagList), the tag value helpers (ParseCanon,
// ParseHeaderNames, DecodeBase64, ValidDomain, ValidSelector), header and
// body canonicalization (CanonHeader, BodyCanonicalizer), header reading
// and selection for h= (ReadHeader, ReadHeaderInto, HeaderInPlace,
// Header.SelectFields),
// removal of the b= value (StripSignatureValue), the header hash
// (HeaderHash), signing and checking a hash (SignHash, VerifyHash), and key
// lookup and its RFC 8301 checks (LookupKey, Key.CheckAlgorithm).
//
// Body canonicalization hashes a line as it stands whenever it is already
// canonical, which most lines are. Telling so is the one pass over the body
// besides SHA-256: on amd64 with AVX2 it is a small assembly routine
// (scan_amd64.s) that checks 32 byte pairs at once, since no library
// offers it and the standard library's searches would take three passes;
// elsewhere (and with the purego build tag) a line-by-line Go scanner does
// it. Both are tested and fuzzed against the plain definition.
//
// Why not github.com/emersion/go-msgauth, which the design names: its
// verifier takes no resolver of ours (key lookup is its own TXT function,
// with temporary and permanent failures told apart by net.Error), bounds
// neither the signatures checked nor the header size, reports rsa-sha1 and
// short RSA keys as a permanent failure rather than a policy result,
// ignores the key record's t=s, and keeps canonicalization, header
// selection and the header hash unexported, all of which ARC needs. Its l=
// support reports the length but not how much of the body is unsigned.
//
// Left out: the z= tag (copied header fields) is parsed as a tag but not
// used; a t= in the future is not refused (RFC 6376 allows ignoring such
// signatures, Sealpost does not); signing with l= (Sealpost never signs a partial body); query
// methods other than dns/txt; the g= granularity of the obsolete RFC 4871
// key records (ignored, as RFC 6376 says); internationalised (U-label)
// domains in d=, which must be given as A-labels.
package dkim
