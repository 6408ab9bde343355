// Package imap is Sealpost's IMAP wire format: it reads client commands
// into typed values and writes responses. It holds no server logic and
// touches no store; internal/imapserver drives it.
//
// Sealpost has its own IMAP server on its own parser rather than
// github.com/emersion/go-imap/v2's imapserver: that server has no
// CONDSTORE or QRESYNC (no MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE,
// HIGHESTMODSEQ or VANISHED anywhere), dispatches commands through a
// closed switch with no way to add ID, COMPRESS, QUOTA, SORT, THREAD or
// NOTIFY, flushes every response line, and keeps its parser in an internal
// package that cannot be imported.
//
// Grammar implemented:
//   - RFC 9051 (IMAP4rev2) and RFC 3501 (IMAP4rev1) commands, strings,
//     literals, sequence sets, flags, date and date-time.
//   - RFC 7888 LITERAL+ and LITERAL-: non-synchronizing literals, capped at
//     4096 bytes unless Limits.MaxNonSync says otherwise.
//   - RFC 4959 SASL-IR, RFC 5161 ENABLE, RFC 2971 ID, RFC 4978 COMPRESS,
//     RFC 9208 QUOTA (GETQUOTA, GETQUOTAROOT).
//   - RFC 7162 CONDSTORE and QRESYNC: SELECT/EXAMINE parameters, FETCH
//     CHANGEDSINCE and VANISHED, STORE UNCHANGEDSINCE, SEARCH MODSEQ,
//     STATUS HIGHESTMODSEQ, and the HIGHESTMODSEQ, MODIFIED, NOMODSEQ and
//     CLOSED codes and VANISHED responses.
//   - RFC 4315 UIDPLUS (UID EXPUNGE, APPENDUID, COPYUID), RFC 6851 MOVE,
//     RFC 3502 MULTIAPPEND, RFC 3516 BINARY (literal8, BINARY[],
//     BINARY.SIZE), RFC 7889 APPENDLIMIT and RFC 8438 STATUS=SIZE items.
//   - RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE
//     (LIST options and CREATE USE).
//   - RFC 4731 ESEARCH, RFC 5267 CONTEXT=SEARCH/SORT (RETURN UPDATE,
//     CONTEXT, CANCELUPDATE), RFC 9394 PARTIAL, RFC 5182 SEARCHRES ("$"),
//     RFC 5032 WITHIN (OLDER, YOUNGER), RFC 8514 SAVEDATE, RFC 8474 OBJECTID
//     (EMAILID, THREADID), RFC 8970 PREVIEW.
//   - RFC 5256 SORT and THREAD, RFC 5957 SORT=DISPLAY, RFC 5465 NOTIFY.
//   - RFC 3501 §5.1.3 modified UTF-7 mailbox names; RFC 6855 UTF8=ACCEPT
//     quoted strings (Writer.UTF8).
//
// Left out: CATENATE (RFC 4469), URLAUTH (RFC 4467), ACL (RFC 4314),
// METADATA (RFC 5464), SETQUOTA, FUZZY and RELEVANCY search, and CONVERT.
// Commands of these extensions are answered BAD as unknown syntax.
//
// Reading. A Reader reads one command at a time under Limits: 64 KiB per
// line, 256 KiB per command, 64 KiB per literal, nesting depth 32
// (parentheses and SEARCH NOT/OR). A synchronizing literal {n} is accepted
// through a LiteralFunc, which sends the "+" continuation request; a
// non-synchronizing literal {n+} over the LITERAL- cap is refused and the
// connection must be closed, since its bytes are already on the way. An
// APPEND message body is never buffered: AppendArgs.Next returns it as an
// io.Reader over the connection. A syntax error yields a *SyntaxError for
// a BAD response, after the rest of the command has been skipped so that
// the next read starts on a command boundary.
//
// Writing. A Writer buffers 32 KiB and flushes when full or when the
// server calls Flush at the end of a command; it chooses between atom,
// quoted string and literal, and formats response codes.
package imap
