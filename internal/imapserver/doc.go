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
//     SPECIAL-USE), RFC 5819 LIST-STATUS, RFC 4731 ESEARCH (MIN, MAX,
//     ALL, COUNT), RFC 5182 SEARCHRES (RETURN (SAVE) and "$" in FETCH,
//     STORE, COPY, MOVE and SEARCH), RFC 7888 LITERAL+ (which covers
//     IMAP4rev2's LITERAL-), RFC 3502
//     MULTIAPPEND (a failed message expunges those stored before it);
//   - \Recent (RFC 3501 §2.3.2): a message is recent to the one session
//     that first selects its mailbox read-write after it arrived, or that
//     has the mailbox selected when it arrives; the store keeps a "recent
//     up to UID" mark per mailbox that such a session raises atomically.
//     EXAMINE shows the unclaimed ones without taking them. IMAP4rev2
//     sessions get no RECENT responses;
//   - subscriptions outlive their mailbox (RFC 9051 §6.3.9): LSUB lists
//     an unsubscribed parent of a subscribed name as \Noselect, LIST
//     (SUBSCRIBED) lists a deleted subscribed mailbox as \NonExistent,
//     and RECURSIVEMATCH gives CHILDINFO when a subscribed descendant is
//     not itself returned;
//   - SEARCH FROM, TO, CC and BCC and SORT read address lists leniently
//     (comments, groups, source routes, encoded words) with the parser
//     that ENVELOPE uses (package mimeinfo) and match names, addresses
//     and group names rather than the raw field; the other non-text
//     SEARCH keys read only a message's top-level header;
//   - RFC 5465 NOTIFY: SET with STATUS and the filters SELECTED,
//     SELECTED-DELAYED, INBOXES (INBOX), PERSONAL, SUBSCRIBED, SUBTREE and
//     MAILBOXES; the events MessageNew (with fetch attributes for the
//     selected mailbox), MessageExpunge, FlagChange, MailboxName (LIST,
//     with OLDNAME or \NonExistent) and SubscriptionChange; NOTIFY NONE.
//     Other mailboxes are announced with STATUS. A session under NOTIFY
//     watches its account in the Hub and, when rung or every
//     PollInterval, compares the account's mailbox list with the one it
//     saw last, so nothing queues up; a round with more than
//     Limits.NotifyBatch announcements ends NOTIFY with
//     [NOTIFICATIONOVERFLOW]. Announcements are sent between commands and
//     during IDLE, never inside a command's responses;
//   - RFC 8514 SAVEDATE (fetch item and SAVED* search keys), RFC 8474
//     OBJECTID (MAILBOXID in SELECT, CREATE and STATUS, EMAILID; THREADID
//     is always NIL), RFC 8970 PREVIEW (the first 200 characters of the
//     first text part, plain text preferred, decoded and with white space
//     collapsed; computed when the message is stored, so (LAZY) changes
//     nothing);
//   - RFC 3516 BINARY: BINARY[section]<partial>, BINARY.PEEK and
//     BINARY.SIZE decode base64 and quoted-printable (a part in another
//     encoding gets NO [UNKNOWN-CTE]), send a literal8 when the data
//     holds NUL, and APPEND takes literal8; BODY[section] of a part
//     declared binary is sent in base64, as a literal cannot carry NUL;
//   - RFC 9394 PARTIAL for SEARCH and SORT, and RFC 5267 CONTEXT=SEARCH
//     and CONTEXT=SORT: RETURN (UPDATE) keeps up to 10 searches per
//     session up to date, searching again whenever the mailbox changed
//     and sending ESEARCH ADDTO and REMOVEFROM (one position and set for
//     SEARCH, a position per message for SORT) before the EXPUNGE
//     responses of the same change; CANCELUPDATE; NOUPDATE beyond 10;
//   - RFC 4978 COMPRESS=DEFLATE, after STARTTLS or on port 993 alike;
//   - SEARCH over decoded text (RFC 9051 §6.4.4): TEXT, BODY, HEADER and
//     SUBJECT look at header fields with their encoded words decoded and
//     at text parts decoded from base64 and quoted-printable and
//     converted from their charset, HTML reduced to text, non-text attachments skipped but for their file names
//     (package mailtext); case is ignored by Unicode case folding and
//     NFKC, close to i;unicode-casemap (RFC 5051). The keys are answered
//     for the whole mailbox from a trigram index of that text (package
//     textindex; the messages not yet indexed are read), then combined
//     with the other keys message by message; SORT, THREAD and ESEARCH
//     use the same search. Search strings may come in UTF-8, US-ASCII or
//     any charset of the WHATWG Encoding Standard;
//   - RFC 5256 SORT (ARRIVAL, CC, DATE, FROM, SIZE, SUBJECT, TO, REVERSE;
//     base subjects; i;ascii-casemap), RFC 5957 SORT=DISPLAY
//     (DISPLAYFROM, DISPLAYTO) and THREAD=ORDEREDSUBJECT and
//     THREAD=REFERENCES, RFC 5267 ESORT (MIN, MAX, ALL, COUNT); SORT and
//     THREAD read the date, subject, addresses and message IDs from the
//     envelope of the summary stored with each message, not the message;
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
//   - the spam filter learns from COPY and MOVE (and their UID forms):
//     after the command succeeded, the copies are handed to Deps.Trainer
//     through a queue of 1000 moves served by one goroutine per listener,
//     so training never slows or fails the command; when it is full,
//     moves are dropped, counted (Server.TrainingDropped) and logged.
//
// What the tests hold it to:
//   - before TLS on port 143 the capabilities carry LOGINDISABLED and no
//     AUTH=, and LOGIN and AUTHENTICATE are refused with PRIVACYREQUIRED;
//     input pipelined after STARTTLS is discarded (RFC 9051 §6.2.1);
//   - every limit is explicit: line, command and literal sizes (package
//     imap), BAD answers, authentication failures, the idle timer (never
//     below the 30 minutes of RFC 9051 §5.4), sessions per listener and
//     connections per source; shutdown says BYE;
//   - FETCH never parses a message: package mimeinfo describes each body
//     once, in one bounded streaming pass when it is stored (MIME tree
//     with byte offsets, envelope, preview), and the store keeps that
//     summary with the body. ENVELOPE, BODYSTRUCTURE, BODY and PREVIEW
//     come from it without opening the body; BODY[section] and BINARY
//     open the body and read only the section's bytes, streamed. A body
//     without a summary of the current version (stored by an older
//     Sealpost) is summarised at its first FETCH and the summary stored.
//     Messages over 32 MiB are described from their header alone;
//   - FETCH works through the messages in batches of 256, each read with
//     its summaries in one query and answered before the next is read, so
//     FETCH 1:* holds a batch in memory whatever the mailbox's size. Each
//     listener keeps up to 16 MiB of decoded summaries, with ENVELOPE and
//     BODYSTRUCTURE rendered, for mailboxes fetched again;
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
//     when a mailbox changes, and the server relays the store's change
//     feed to it; the hub itself also polls the watched mailboxes every
//     PollInterval, a backstop for writers that reach it by neither way;
//   - SELECT does not read every message: the store gives the UIDs as runs
//     and counts flags, and a per-server cache (selcache.go) keeps both
//     for recently selected mailboxes as of a MODSEQ, brought up to date
//     by the changes since;
//   - FETCH, SEARCH and STORE over more than a few messages read the rows
//     from a per-server message cache (msgcache.go) of recently read
//     mailboxes of up to 32,768 messages (131,072 in all), brought up to
//     the store's HIGHESTMODSEQ by the changes since before every use, so
//     that they are as fresh as the store's rows without reading them all
//     again; the FETCH items come from the body summaries stored at
//     delivery, decoded in a per-server cache (summarycache.go);
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
// Live sessions. With Deps.Sessions set, a session enters that registry
// (package sessions) when its login succeeds and leaves it when it ends;
// signing its account out closes the connection, which ends the session
// at once whether it waits for a command, idles or sends a response.
//
// Sealpost has its own server rather than github.com/emersion/go-imap/v2's
// imapserver: that one has no CONDSTORE or QRESYNC and no way to add
// commands (ID, COMPRESS, SORT, THREAD, NOTIFY), and its parser cannot be
// imported. See package imap.
//
// Left out for now: CATENATE (RFC 4469), URLAUTH (RFC 4467, RFC 5524),
// thread ids, renaming INBOX, and SASL LOGIN. NOTIFY leaves out the
// annotation and metadata events (there are none: NO [BADEVENT]), does not
// hold back a session's own changes, and, like Dovecot, accepts
// MessageNew, MessageExpunge and FlagChange one without the others (RFC
// 5465 §5 asks for them together). MULTIAPPEND is undone by expunging, so
// a crash in the middle of one may leave the messages already stored.
// SEARCH does not see text past a message's first 16 MiB or its first 1 MiB
// of text, nor the text inside non-text attachments (PDF, office
// documents); search strings with 8-bit bytes in a charset other than
// UTF-8 are refused by package imap, which takes UTF-8 strings only (7-bit
// charsets such as ISO-2022-JP work).
package imapserver
