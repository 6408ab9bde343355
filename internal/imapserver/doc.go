// Package imapserver runs Sealpost's IMAP listeners: port 143, where
// STARTTLS must come before any login, and port 993 with implicit TLS
// (RFC 8314). It reads and writes the protocol through package imap and
// keeps mail in the store.
//
// Implemented:
//   - RFC 9051 (IMAP4rev2) and RFC 3501 (IMAP4rev1): CAPABILITY, NOOP,
//     LOGOUT, STARTTLS, LOGIN, AUTHENTICATE, ENABLE, SELECT, EXAMINE,
//     CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB,
//     NAMESPACE, STATUS, APPEND, IDLE, CHECK, CLOSE, UNSELECT, EXPUNGE,
//     SEARCH, FETCH, STORE, COPY, MOVE and the UID forms;
//   - RFC 4959 SASL-IR with PLAIN, RFC 2971 ID, RFC 5161 ENABLE
//     (IMAP4rev2), RFC 2177 IDLE, RFC 3691 UNSELECT, RFC 4315 UIDPLUS
//     (APPENDUID, COPYUID, UID EXPUNGE), RFC 6851 MOVE, RFC 7889
//     APPENDLIMIT, RFC 8438 STATUS=SIZE, RFC 6154 SPECIAL-USE (LIST
//     attributes, CREATE USE), RFC 3348 CHILDREN, RFC 5258 LIST-EXTENDED
//     selection and return options SUBSCRIBED and SPECIAL-USE, RFC 4731
//     ESEARCH results (MIN, MAX, ALL, COUNT), RFC 7888 LITERAL-;
//   - RFC 7162 CONDSTORE and QRESYNC: ENABLE CONDSTORE and QRESYNC (which
//     implies CONDSTORE), SELECT/EXAMINE (CONDSTORE) and (QRESYNC (...)),
//     the MODSEQ fetch item, FETCH CHANGEDSINCE, UID FETCH VANISHED, STORE
//     UNCHANGEDSINCE with [MODIFIED], SEARCH MODSEQ with the MODSEQ of the
//     result, STATUS HIGHESTMODSEQ, [HIGHESTMODSEQ] in the tagged OK of
//     STORE, EXPUNGE and MOVE once CONDSTORE is on, [CLOSED], and VANISHED
//     instead of EXPUNGE once QRESYNC is on. Every mailbox has MODSEQs,
//     so NOMODSEQ is never sent. Each message has one MODSEQ, which SEARCH
//     MODSEQ uses whatever entry name is given; seq-match-data is checked
//     but not needed, as expunge tombstones are never forgotten.
//
// What the tests hold it to:
//   - before TLS on port 143 the capabilities carry LOGINDISABLED and no
//     AUTH=, and LOGIN and AUTHENTICATE are refused with PRIVACYREQUIRED;
//     input pipelined after STARTTLS is discarded (RFC 9051 §6.2.1);
//   - every limit is explicit: line, command and literal sizes (package
//     imap), BAD answers, authentication failures, the idle timer (never
//     below the 30 minutes of RFC 9051 §5.4), sessions per listener and
//     connections per source; shutdown says BYE;
//   - BODY[] and RFC822 are streamed from the store; other sections,
//     ENVELOPE and BODYSTRUCTURE read messages up to 32 MiB to find their
//     MIME structure, and describe larger ones from their header alone;
//   - each session keeps a view of its selected mailbox (UIDs in sequence
//     order and the MODSEQ it has seen). At the end of a command, and
//     while idling, it pulls the store's changes since that MODSEQ and
//     reports EXPUNGE (or VANISHED), EXISTS and FETCH FLAGS, never
//     EXPUNGE during FETCH, STORE or SEARCH by sequence number (RFC 9051
//     §7.5.1). The HIGHESTMODSEQ a client is told stays below expunges it
//     has not yet been told about, so a later QRESYNC still reports them;
//     the UIDs leave the view as they are reported. A Hub
//     rings the sessions of the process when a mailbox changes; IDLE also
//     polls the store every PollInterval for writers that do not ring it.
//
// Sealpost has its own server rather than github.com/emersion/go-imap/v2's
// imapserver: that one has no CONDSTORE or QRESYNC and no way to add
// commands (ID, COMPRESS, SORT, THREAD, NOTIFY), and its parser cannot be
// imported. See package imap.
//
// Left out for now: SORT and THREAD (RFC 5256), NOTIFY
// (RFC 5465), COMPRESS (RFC 4978), QUOTA (RFC 9208), BINARY (RFC 3516),
// PREVIEW, SAVEDATE, OBJECTID beyond EMAILID, SEARCHRES ("$"), LIST-STATUS,
// MULTIAPPEND beyond what the parser reads, renaming INBOX, \Recent
// (always 0), and SASL LOGIN. SEARCH reads every message (no index) and
// matches text as stored, without decoding transfer encodings or charsets.
package imapserver
