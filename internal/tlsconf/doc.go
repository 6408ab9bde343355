// Package tlsconf provides the certificates and the TLS policy shared by
// every Sealpost listener (SMTP, submission, IMAP, POP3 and HTTPS).
//
// A [Provider] is built once from [Options] and hands out a base
// [*tls.Config] through [Provider.Config]. Certificates come from one of
// three sources, chosen by Options.Mode:
//
//   - "files": a certificate chain and private key in PEM files, re-read by
//     [Provider.Reload] (on SIGHUP). The swap is atomic: handshakes that start
//     after a successful reload see the new certificate, connections already
//     open are untouched, and a failed reload keeps serving the old one.
//   - "self-signed": an ECDSA P-256 certificate for the configured host
//     names, valid for one year, generated into Options.Dir and reused on the
//     next start while it is still valid and covers the names. Meant for
//     development and first start; clients will not trust it.
//   - "acme": certificates obtained and renewed automatically from an ACME
//     server (RFC 8555, Let's Encrypt by default) through
//     golang.org/x/crypto/acme/autocert. Issuance happens on the first
//     handshake for a name and is limited to the configured host names
//     and those Options.OnDemand accepts (for Sealpost, the MTA-STS and
//     autoconfig hosts of domains added while it runs).
//     Domain control is proven with TLS-ALPN-01 (RFC 8737), answered by any
//     listener using [Provider.Config] ("acme-tls/1" is negotiated only with
//     a client offering nothing else, as the CA does), and
//     with HTTP-01 (RFC 8555 section 8.3) when [Provider.HTTPHandler] is
//     mounted on port 80. Account key and certificates are cached in
//     Options.Dir/acme.
//
// # Policy
//
// The policy follows the current recommendations for TLS (RFC 9325):
//
//   - TLS 1.2 (RFC 5246) is the minimum; TLS 1.3 (RFC 8446) is preferred and
//     may be made the minimum. SSL 3.0, TLS 1.0 and TLS 1.1 are refused
//     (RFC 8996).
//   - With TLS 1.2 only ephemeral ECDHE key exchange with AEAD ciphers is
//     offered: ECDHE-ECDSA and ECDHE-RSA with AES-128-GCM, AES-256-GCM
//     (RFC 5289) and ChaCha20-Poly1305 (RFC 7905). CBC modes, RC4, 3DES and
//     static RSA key exchange are not, so every session has forward secrecy
//     and no CBC padding oracle is reachable. TLS 1.3 suites are all AEAD and
//     not configurable in Go; all three are allowed.
//   - Key exchange groups are X25519 (RFC 7748) and P-256, plus the hybrid
//     post-quantum X25519MLKEM768 that Go offers by default for TLS 1.3.
//   - A client that sends no server name, or one the certificate does not
//     cover, is served the certificate for the primary host name rather than
//     refused: MTAs delivering to an MX often send no SNI, and opportunistic
//     STARTTLS (RFC 3207) with a mismatched name is better than plaintext.
//
// Left out: OCSP stapling (Let's Encrypt has retired OCSP in favour of
// CRLs and short-lived certificates), DNS-01 challenges (they need
// write access to the operator's DNS zone), client certificate
// authentication, TLS session ticket key rotation beyond Go's own, and ACME
// for IP address identifiers.
package tlsconf
