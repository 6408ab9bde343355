// Package smtp holds the SMTP wire protocol shared by Sealpost's server
// and client: command, path and reply parsing, reply writing, the DATA and
// BDAT readers, the dot-stuffing writer, EHLO extension parsing and trace
// header fields. It makes no policy decisions beyond the syntax and the
// content rules of the message text; limits are passed in by the caller.
//
// Implemented:
//   - RFC 5321: command syntax (section 4.1), paths and mailboxes (section
//     4.1.2), address literals (section 4.1.3), replies (section 4.2), the
//     end of data and dot-stuffing (sections 4.1.1.4 and 4.5.2), trace
//     fields (section 4.4) and size limits (section 4.5.3.1).
//   - RFC 6531 (SMTPUTF8): UTF-8 in paths and parameter values when the
//     caller says SMTPUTF8 is in effect, and the UTF8SMTP "with" values.
//   - RFC 3030 (CHUNKING): BDAT command parsing and chunk reading.
//   - RFC 1870 (SIZE): the SIZE extension parameter and 552 replies.
//   - RFC 2034 and RFC 3463: enhanced status codes in replies.
//   - RFC 3461 section 4: xtext encoding of DSN parameters.
//   - RFC 3848: ESMTPS, ESMTPA and ESMTPSA in Received fields.
//   - RFC 2920 (PIPELINING): nothing here reads ahead of what it needs,
//     so pipelined commands stay in the caller's bufio.Reader.
//   - RFC 4954: AUTH command syntax (the SASL exchange lives elsewhere).
//
// # Message text policy
//
// Only <CRLF>.<CRLF> ends DATA. A bare CR, or a bare LF next to a dot at
// the start of a line, makes the message invalid: the reader discards the
// rest up to the true end and reports an error the server sends as a 550,
// so the session stays in step and no message is ever split (the SMTP
// smuggling class of CVE-2023-51766). Other bare LFs become CRLF. BDAT
// messages are held to the same rules across chunks. Command lines must
// end in CRLF.
//
// Left out: BINARYMIME (RFC 3030 section 3), the DSN parameter semantics
// of RFC 3461 beyond xtext, utf-8-addr-xtext and unitext of RFC 6533,
// general address literals, source routes (parsed and dropped, as RFC 5321
// appendix C requires), IDNA conversion between U-labels and A-labels, and
// the obsolete SEND, SOML, SAML and TURN commands.
package smtp
