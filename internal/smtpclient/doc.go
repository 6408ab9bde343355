// Package smtpclient is Sealpost's SMTP client for delivery from one mail
// transfer agent to another (RFC 5321). It speaks the protocol and reports
// what the server said; which server to use, and whether TLS is required or
// how the server's certificate is checked, is the caller's policy (package
// queue).
//
// What is implemented:
//
//   - RFC 5321 section 3.1 and 4.1.1.1: the greeting, EHLO with our own name
//     (never "localhost"), and HELO when the server refuses EHLO as
//     unrecognised or not implemented (500, 502) or as a parameter error (501,
//     504).
//   - RFC 5321 section 4.5.3.2: every step has its own timeout (Timeouts),
//     by default the values the RFC recommends, and every step also ends when
//     its context does. Replies are bounded by smtp.ReadReply's limits.
//   - RFC 3207 (STARTTLS) with a caller-supplied tls.Config, followed by a
//     new EHLO (section 4.2). Octets the server sends after its 220 and
//     before the handshake are refused, not read as replies after it (the
//     client side of the CVE-2011-0411 class).
//   - RFC 1870 (SIZE): the declared size is sent, and a message larger than
//     the server's announced limit is refused locally.
//   - RFC 6152 (8BITMIME): BODY=8BITMIME and BODY=7BIT are sent when the
//     server offers 8BITMIME; an 8-bit message for a server that does not is
//     refused locally rather than downgraded.
//   - RFC 6531 (SMTPUTF8): the SMTPUTF8 parameter, refused locally when the
//     server does not offer it.
//   - RFC 3461 (DSN): RET and ENVID (as xtext) on MAIL, NOTIFY and ORCPT on
//     RCPT, only when the server offers DSN (section 4: otherwise they are
//     left out and the message goes on without them).
//   - RFC 8689 (REQUIRETLS): the REQUIRETLS parameter on MAIL; a server that
//     does not offer it gets no such message (refused locally with 5.7.30,
//     section 4.2.1 step 5), and neither does one reached without TLS.
//   - RFC 2920 (PIPELINING): MAIL and all RCPT commands go in one write when
//     the server offers it, and the replies are read in order.
//   - DATA (RFC 5321 section 4.1.1.4) with dot-stuffing by smtp.DataWriter.
//
// Errors carry the server's reply (code, enhanced status code, text) and
// whether retrying later may succeed; see Error.
//
// Left out: BDAT (RFC 3030) and with it BODY=BINARYMIME, which such
// messages are refused for locally; AUTH (RFC 4954), which MTA-to-MTA
// delivery does not use; downgrading 8-bit or UTF-8 messages; DELIVERBY,
// MT-PRIORITY and other extensions; and connection caching across
// messages beyond what Reset allows.
package smtpclient
