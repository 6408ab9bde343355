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
//     (selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH with
//     CHILDINFO and SPECIAL-USE; return options SUBSCRIBED, CHILDREN and
//     SPECIAL-USE), RFC 5819 LIST-STATUS, RFC 4731 ESEARCH results (MIN,
//     MAX, ALL, COUNT), RFC 5182 SEARCHRES (RETURN (SAVE) and "$" in
//     FETCH, STORE, COPY, MOVE and SEARCH), RFC 7888 LITERAL-;
//   - RFC 8514 SAVEDATE (fetch item and SAVED* search keys), RFC 8474
//     OBJECTID (MAILBOXID in SELECT, CREATE and STATUS, EMAILID; THREADID
//     is always NIL), RFC 8970 PREVIEW (the first 200 characters of the
//     first text part, plain text preferred, decoded and with white space
//     collapsed; computed at once, so (LAZY) changes nothing);
//   - RFC 5256 SORT (ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, REVERSE;
//     base subjects; i;ascii-casemap) and THREAD=ORDEREDSUBJECT and
//     THREAD=REFERENCES, RFC 5267 ESORT (MIN, MAX, ALL, COUNT);
//   - RFC 9208 QUOTA: GETQUOTA and GETQUOTAROOT with one root, "", per
//     account that has a limit, and the STORAGE resource (SETQUOTA is not
//     offered: quotas are set by the administrator);
//   - RFC 7162 CONDSTORE and QRESYNC: ENABLE CONDSTORE and QRESYNC (which
//     implies CONDSTORE), SELECT/EXAMINE (CONDSTORE) and (QRESYNC (...)),
//     the MODSEQ fetch item, FETCH CHANGEDSINCE, UID FETCH VANISHED, STORE
//     UNCHANGEDSINCE with [MODIFIED], SEARCH MODSEQ with the MODSEQ of the
//     result, STATUS HIGHESTMODSEQ, [HIGHESTMODSEQ] in the tagged OK of
//     STORE, EXPUNGE and MOVE once CONDSTORE is on, [CLOSED], and VANISHED
//     instead of EXPUNGE once QRESYNC is on. Every mailbox has MODSEQs,
//     so NOMODSEQ is never sent. Each message has one MODSEQ, which SEARCH
//     MODSEQ uses whatever entry name is given; seq-match-data is checked
//     but not needed, as expunge tombstones are never forgotten;
//   - RFC 4978 COMPRESS=DEFLATE in the authenticated and selected states,
//     NO [COMPRESSIONACTIVE] when already on. Responses are compressed
//     with the standard library's compress/flate; every burst of them
//     ends with a sync flush, so a client never waits for bytes held in
//     the compressor. The bursts are compressed by flate.Writers shared
//     through a pool (one costs about 800 KiB at any level from 2 to 9):
//     a burst starts a fresh compressor after the previous burst's sync
//     flush, which the client's inflater reads as the same stream, so an
//     idle session holds none and the ratio loses only what one burst
//     could have taken from the one before. Commands are decompressed by
//     Sealpost's own inflater (inflate.go): compress/flate's reader gives
//     out a block only once a stored block follows it, so a client that
//     ends its commands with zlib's partial flush, as isync (mbsync)
//     does, would wait for an answer forever. The inflater keeps the
//     client's 32 KiB window: COMPRESS adds about 40 KiB to an idle
//     session.
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
//     the UIDs leave the view as they are reported. The view keeps UIDs
//     as runs of consecutive values (uidset.go), so its size follows the
//     expunges, not the mailbox. A Hub rings the sessions of the process
//     when a mailbox changes; IDLE also polls the store every
//     PollInterval for writers that do not ring it;
//   - SELECT does not read every message: the store gives the UIDs as runs
//     and counts flags, and a per-server cache (selcache.go) keeps both
//     for recently selected mailboxes as of a MODSEQ, brought up to date
//     by the changes since;
//   - an idle session holds no buffer and one goroutine (io.go): it waits
//     for the first byte of the next command in a one-byte array, borrows
//     a pooled command buffer and response buffer for the command, and
//     gives them back after its responses are flushed. IDLE waits in the
//     same read: the hub's doorbell moves the read deadline to now, and a
//     read that times out asks the session whether to look at the store
//     and wait on. TestIdleMemory measures heap and stacks per held
//     session (about 6 KiB in the clear before login, 18 to 21 KiB over
//     TLS with a mailbox selected and IDLE under way, of which crypto/tls
//     keeps about 6 KiB: its record and handshake buffers, which only grow,
//     and the AES-GCM states of both directions; the goroutine's stack is
//     8 KiB under TLS, 4 KiB without);
//
// Sealpost has its own server rather than github.com/emersion/go-imap/v2's
// imapserver: that one has no CONDSTORE or QRESYNC and no way to add
// commands (ID, COMPRESS, SORT, THREAD, NOTIFY), and its parser cannot be
// imported. See package imap.
//
// Left out for now: NOTIFY (RFC 5465), BINARY
// (RFC 3516), SORT=DISPLAY (RFC 5957), PARTIAL (RFC 9394), CONTEXT and
// UPDATE (RFC 5267), thread ids, MULTIAPPEND beyond what the parser reads,
// renaming INBOX, \Recent (always 0), and SASL LOGIN. SEARCH reads every
// message (no index) and matches text as stored, without decoding transfer
// encodings or charsets.
package imapserver
