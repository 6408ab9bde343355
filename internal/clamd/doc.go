// Package clamd is a client of ClamAV's scanning daemon, clamd, as Debian's
// clamav-daemon package runs it: over its unix socket or TCP.
//
// Implemented, from clamd's own documentation (clamd(8), there being no
// RFC): the null-terminated command form ("z" prefix) of PING, VERSION and
// INSTREAM. [Client.Scan] sends the message as INSTREAM chunks, each a
// 4-byte big-endian length and that many bytes, ended by a zero-length
// chunk, and reads the one reply: "stream: OK", "stream: NAME FOUND" or
// "... ERROR". [ParseReply] reads a reply.
//
// Bounds: a stream longer than [Client.MaxSize] is not sent whole: the
// scan stops with [ErrTooLarge] (clamd's own StreamMaxLength gives the same
// error). Every operation ends by its context's deadline or
// [Client.Timeout], whichever is sooner; a reply longer than [MaxReply]
// bytes is a protocol error.
//
// Errors: every failure to get a verdict from clamd (nothing listening, a
// refused or reset connection, a timeout, an ERROR reply, a reply that does
// not parse) wraps [ErrUnavailable], so that the mail pipeline can decide,
// as configured, to tempfail the message or to pass it unscanned; never to
// lose it. A stream too large wraps [ErrTooLarge] instead. A failure to read
// the message being scanned is returned as it is.
//
// Left out: SCAN, CONTSCAN, MULTISCAN and ALLMATCHSCAN (they name files on
// clamd's host), FILDES (passing a descriptor over the unix socket),
// IDSESSION (several commands on one connection), STATS, RELOAD and
// SHUTDOWN.
package clamd
