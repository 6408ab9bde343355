// Package mailbench measures mail servers for Sealpost's benchmarks: how
// fast an SMTP server takes mail, how fast an IMAP server serves sessions,
// and how much memory it spends on each idle connection.
//
// SMTP: it sends a bounded number of generated messages over a few
// concurrent connections and reports messages per second, the latency of
// each transaction and the replies that refused one. It speaks RFC 5321
// mail transactions (MAIL, RCPT, DATA, with RSET only after a refused
// transaction), STARTTLS (RFC 3207) without checking the server's
// certificate, since test servers use self-signed ones, and AUTH PLAIN
// (RFC 4954, RFC 4616). It uses the standard library's net/smtp and so
// sends one command at a time: PIPELINING (RFC 2920), CHUNKING and the
// other extensions are left out, which costs a few loopback round trips per
// message and is the same for every server measured.
//
// IMAP (RunIMAP): concurrent clients each run sessions of LOGIN, SELECT,
// FETCH 1:*, UID FETCH of message bodies, SEARCH and LOGOUT, and the
// result gives sessions per second and the rate and latency of each phase.
// RunIdle holds many connections in IDLE (RFC 2177) and samples the
// server's resident memory. Its IMAP client is a small one of its own
// (RFC 9051 command and response syntax: tagged commands sent one at a
// time, responses read to their tagged status with literals inlined);
// LOGIN is the only authentication, over implicit TLS (RFC 8314), STARTTLS
// or none, and certificates are not checked. Pipelining commands, other
// SASL mechanisms, and parsing of FETCH data beyond the UID are left out.
//
// It is a load generator for machines the operator owns: it refuses any
// address that is not loopback unless told otherwise, and every run is
// bounded both in count and in time.
//
// It also reads the CPU time and resident memory of a process (Linux
// /proc/PID/stat and /proc/PID/status), and counts the messages in a
// Maildir or writes generated ones into it, so a benchmark can compare
// servers that store mail differently.
package mailbench
